//! In-process Sigstore bundle verification throughput (one thread): a prepared verifier
//! (trusted root parsed once) on conformance bundles, and the cold path that also parses
//! the embedded root. Needs the shared corpus (`$CAIRN_CORPUS` or `../shared/corpus`).
//!
//! cargo bench -p cairn-sigstore --bench verify_bundle

use std::path::PathBuf;

use cairn_sigstore::verify::{verify_bundle, ArtifactInput};
use cairn_sigstore::{TrustRoots, TrustSource};
use criterion::{criterion_group, criterion_main, Criterion};

fn corpus() -> PathBuf {
    std::env::var_os("CAIRN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"))
        .join("sigstore-conformance/bundle-verify")
}

fn bench(c: &mut Criterion) {
    let dir = corpus();
    let artifact = std::fs::read(dir.join("a.txt")).expect("corpus a.txt");
    let embedded = || {
        TrustRoots::new(TrustSource::Embedded {
            staging: false,
            updated_dir: None,
        })
    };
    let warm = embedded();
    for case in ["happy-path-v0.3", "happy-path-intoto-in-dsse-v3"] {
        let bundle = std::fs::read(dir.join(case).join("bundle.sigstore.json")).unwrap();
        let artifact: &[u8] = if dir.join(case).join("artifact").exists() {
            Box::leak(
                std::fs::read(dir.join(case).join("artifact"))
                    .unwrap()
                    .into_boxed_slice(),
            )
        } else {
            &artifact
        };
        verify_bundle(&warm, &bundle, ArtifactInput::Bytes(artifact), None).expect("verifies");
        c.bench_function(&format!("verify {case} (root prepared)"), |b| {
            b.iter(|| verify_bundle(&warm, &bundle, ArtifactInput::Bytes(artifact), None).unwrap())
        });
        c.bench_function(&format!("verify {case} (root parsed each time)"), |b| {
            b.iter(|| {
                verify_bundle(&embedded(), &bundle, ArtifactInput::Bytes(artifact), None).unwrap()
            })
        });
    }
    // Rekor v2 with an RFC 3161 timestamp, against the case's own trusted root.
    let case = dir.join("rekor2-happy-path");
    let bundle = std::fs::read(case.join("bundle.sigstore.json")).unwrap();
    let roots = TrustRoots::new(TrustSource::File(case.join("trusted_root.json")));
    let artifact_v2 = if case.join("artifact").exists() {
        std::fs::read(case.join("artifact")).unwrap()
    } else {
        artifact.clone()
    };
    verify_bundle(&roots, &bundle, ArtifactInput::Bytes(&artifact_v2), None).expect("verifies");
    c.bench_function("verify rekor2-happy-path (root prepared)", |b| {
        b.iter(|| verify_bundle(&roots, &bundle, ArtifactInput::Bytes(&artifact_v2), None).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
