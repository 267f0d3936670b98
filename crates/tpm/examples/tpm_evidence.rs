//! Benchmarks TPM evidence generation on a fresh swtpm and, with `--write-fixture DIR`,
//! writes one verified build's evidence as the pure-Rust verifier's test fixture
//! (`crates/evidence/testdata/tpm/`).
//!
//!     cargo run --release -p cairn-tpm --example tpm_evidence -- [--runs N] [--write-fixture DIR]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use cairn_evidence::measure::BuildMeasurements;
use cairn_evidence::{verify_tpm_evidence, TpmTrust};
use cairn_tpm::{enroll, EnrollOptions, PcrSpec, TpmBuildAttester};
use sha2::Digest as _;
use support::*;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let fixture = args
        .iter()
        .position(|a| a == "--write-fixture")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);

    let m = manufacturer();
    let tpm = Swtpm::start(&m.state);
    let authority = key();
    let t = Instant::now();
    let host = enroll(&EnrollOptions {
        tcti: &tpm.tcti(),
        ek_ca: m.ca_certs(),
        authority: &authority,
        host_id: "bench-host".into(),
        now: time::OffsetDateTime::now_utc(),
    })
    .expect("enroll");
    println!("enrollment: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let trust = TpmTrust {
        manufacturer_roots: vec![m.root_der()],
        enrollment_keys: vec![authority.public_key().clone()],
        ..Default::default()
    };

    let (env, st) = signed_provenance(&key(), &"aa".repeat(32));
    let pae: [u8; 32] = sha2::Sha256::digest(env.pae()).into();
    let meas = BuildMeasurements::from_statement(&st).unwrap();

    // Per build: open + load AK, reset PCR 23, five extends, quote, PCR read.
    let mut gen = Vec::with_capacity(runs);
    let mut opens = Vec::with_capacity(runs);
    let mut work = Vec::with_capacity(runs);
    let mut steps = Vec::with_capacity(runs);
    let mut evidence = None;
    let mut signed_env = env.clone();
    for _ in 0..runs {
        let t = Instant::now();
        let mut att = TpmBuildAttester::open(&tpm.tcti(), &host, PcrSpec::default()).unwrap();
        opens.push(t.elapsed());
        let t2 = Instant::now();
        att.begin().unwrap();
        let t3 = Instant::now();
        att.measure_all(&meas).unwrap();
        let t4 = Instant::now();
        // The supervisor's order: the TPM-resident key signs, then quote + certify.
        signed_env = env.clone();
        if let Some((keyid, sig)) = att.sign_envelope(&env.pae()).unwrap() {
            signed_env.signatures.push(cairn_formats::dsse::Signature {
                keyid: Some(keyid),
                sig,
                cert: None,
            });
        }
        let ev = att.finish(&pae).unwrap();
        work.push(t2.elapsed());
        steps.push((t3 - t2, t4 - t3, t4.elapsed()));
        drop(att);
        gen.push(t.elapsed());
        evidence = Some(ev);
    }
    let ev = evidence.expect("at least one run");
    let env = signed_env;
    let mut ver = Vec::with_capacity(runs * 10);
    for _ in 0..runs * 10 {
        let t = Instant::now();
        verify_tpm_evidence(&ev, &env, &st, &trust, time::OffsetDateTime::now_utc()).unwrap();
        ver.push(t.elapsed());
    }
    println!(
        "evidence generation per build (open + load AK and signing key, reset, 5 extends, sign envelope, quote, certify, PCR read): median {:.2} ms over {runs} runs",
        median(gen).as_secs_f64() * 1e3
    );
    let ms = |v: Vec<Duration>| median(v).as_secs_f64() * 1e3;
    println!(
        "  begin (reset + platform PCR read) {:.2} ms, 5 extends {:.2} ms, sign + quote + certify {:.2} ms (medians)",
        ms(steps.iter().map(|s| s.0).collect()),
        ms(steps.iter().map(|s| s.1).collect()),
        ms(steps.iter().map(|s| s.2).collect())
    );
    println!(
        "  of which open (connect, EK, load AK and signing key): median {:.2} ms; the rest: median {:.2} ms",
        median(opens).as_secs_f64() * 1e3,
        median(work).as_secs_f64() * 1e3
    );
    println!(
        "evidence verification in-process: median {:.3} ms over {} runs",
        median(ver).as_secs_f64() * 1e3,
        runs * 10
    );

    if let Some(dir) = fixture {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("evidence.json"),
            serde_json::to_string_pretty(&ev).unwrap() + "\n",
        )
        .unwrap();
        std::fs::write(dir.join("envelope.json"), env.to_json() + "\n").unwrap();
        std::fs::copy(&m.root_pem, dir.join("manufacturer-root.pem")).unwrap();
        std::fs::write(dir.join("enrollment.pub"), authority.public_key().to_pem()).unwrap();
        println!("wrote fixture to {}", dir.display());
    }
}
