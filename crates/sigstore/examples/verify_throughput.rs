//! In-process throughput on one thread: verifies one conformance bundle N times with the
//! trusted root prepared once, and prints verifications per second of wall time and of
//! this process's CPU time (from /proc/self/stat, so other load on the machine does not
//! count). Needs the shared corpus.
//!
//! taskset -c 0 target/release/examples/verify_throughput [CASE] [N]

use std::path::PathBuf;
use std::time::Instant;

use cairn_sigstore::verify::{verify_bundle, ArtifactInput};
use cairn_sigstore::{TrustRoots, TrustSource};

/// utime + stime of this process, in seconds (Linux; clock ticks assumed 100/s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "happy-path-v0.3".into());
    let n: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let dir = std::env::var_os("CAIRN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"))
        .join("sigstore-conformance/bundle-verify");
    let bundle = std::fs::read(dir.join(&case).join("bundle.sigstore.json")).expect("bundle");
    let artifact_path = if dir.join(&case).join("artifact").exists() {
        dir.join(&case).join("artifact")
    } else {
        dir.join("a.txt")
    };
    let artifact = std::fs::read(artifact_path).expect("artifact");
    let roots = if dir.join(&case).join("trusted_root.json").exists() {
        TrustRoots::new(TrustSource::File(dir.join(&case).join("trusted_root.json")))
    } else {
        TrustRoots::new(TrustSource::Embedded {
            staging: false,
            updated_dir: None,
        })
    };
    verify_bundle(&roots, &bundle, ArtifactInput::Bytes(&artifact), None)
        .expect("the bundle verifies");
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    for _ in 0..n {
        verify_bundle(&roots, &bundle, ArtifactInput::Bytes(&artifact), None).expect("verifies");
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu0).map(|(a, b)| a - b);
    println!(
        "{case}: {n} verifications in {wall:.3} s wall: {:.0}/s wall, {:.3} ms each",
        n as f64 / wall,
        wall * 1000.0 / n as f64
    );
    if let Some(cpu) = cpu.filter(|c| *c > 0.0) {
        println!(
            "{case}: {cpu:.2} s CPU: {:.0}/s per CPU-second, {:.3} ms CPU each",
            n as f64 / cpu,
            cpu * 1000.0 / n as f64
        );
    }
}
