//! Signatures verified per second, in process, per algorithm; and DSSE envelope
//! verification end to end (parse the envelope JSON, decode base64, build PAE, verify).
//!
//! Run: `CARGO_TARGET_DIR=/work/targets/bench cargo bench -p cairn-sign --bench verify`
//! Criterion prints `thrpt` in elem/s: one element is one verification.

use std::hint::black_box;
use std::time::Duration;

use cairn_formats::dsse::{pae, Envelope};
use cairn_formats::json::Limits;
use cairn_formats::statement::Statement;
use cairn_sign::dsse::{sign_envelope, verify_envelope};
use cairn_sign::{Algorithm, PrivateKey};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A realistic SLSA v1 statement, about 1.2 KB.
fn statement() -> Vec<u8> {
    format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"cairn-x86_64-linux","digest":{{"sha256":"{h}"}}}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{{"buildDefinition":{{"buildType":"https://cairn.dev/build/v1","externalParameters":{{"source":{{"uri":"git+https://example.com/cairn@refs/heads/main","digest":{{"gitCommit":"{g}"}}}},"command":["cargo","build","--release","--locked"]}},"resolvedDependencies":[{{"uri":"git+https://example.com/cairn","digest":{{"gitCommit":"{g}"}}}},{{"name":"rustc","digest":{{"sha256":"{h}"}}}},{{"name":"Cargo.lock","digest":{{"sha256":"{h}"}}}}]}},"runDetails":{{"builder":{{"id":"https://cairn.dev/builder/v1","version":{{"cairn":"0.1.0"}}}},"metadata":{{"invocationId":"0b6a3c0e-7d2f-4b8e-9f63-3f5d2f1d8a11","startedOn":"2026-01-01T00:00:00Z","finishedOn":"2026-01-01T00:03:12Z"}}}}}}}}"#,
        h = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        g = "0123456789abcdef0123456789abcdef01234567"
    )
    .into_bytes()
}

fn bench(c: &mut Criterion) {
    let payload = statement();
    let message = pae(PAYLOAD_TYPE, &payload);

    let mut raw = c.benchmark_group("signature-verify");
    raw.throughput(Throughput::Elements(1));
    for alg in Algorithm::ALL {
        let key = PrivateKey::generate(alg).unwrap();
        let sig = key.sign(&message).unwrap();
        let public = key.public_key().clone();
        public.verify(&message, &sig).unwrap();
        raw.bench_function(alg.name(), |b| {
            b.iter(|| public.verify(black_box(&message), black_box(&sig)).unwrap())
        });
    }
    raw.finish();

    let mut e2e = c.benchmark_group("dsse-envelope-verify");
    e2e.throughput(Throughput::Elements(1));
    for alg in Algorithm::ALL {
        let key = PrivateKey::generate(alg).unwrap();
        let json = sign_envelope(PAYLOAD_TYPE, &payload, &[&key])
            .unwrap()
            .to_json();
        let keys = [key.public_key().clone()];
        let limits = Limits::default();
        // JSON text in, verified statement out: what `cairn verify` does per envelope,
        // minus file I/O and the artifact hash.
        e2e.bench_function(alg.name(), |b| {
            b.iter(|| {
                let env = Envelope::parse(black_box(json.as_bytes()), &limits).unwrap();
                verify_envelope(&env, &keys, 1).unwrap();
                Statement::from_envelope(&env, &limits).unwrap()
            })
        });
    }
    e2e.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the machine is shared. Figures are medians of 30 samples.
    config = Criterion::default().sample_size(30).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
