//! The conformance `verify-bundle` protocol on the library alone, without the rest of the
//! `cairn` binary: used to separate the cost of Sigstore verification from the start-up
//! cost of the full CLI in the benchmark (`scripts/bench-sigstore.sh`).
//!
//! conformance_client verify-bundle --bundle F --certificate-identity I
//!     --certificate-oidc-issuer U [--trusted-root F] FILE_OR_DIGEST

use std::path::PathBuf;
use std::process::ExitCode;

use cairn_sigstore::conformance::{verify, Material, Request};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("verify-bundle") {
        eprintln!("usage: conformance_client verify-bundle ...");
        return ExitCode::from(2);
    }
    let (mut bundle, mut identity, mut issuer, mut key, mut root, mut artifact) =
        (None, None, None, None, None, None);
    let mut staging = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--staging" => staging = true,
            "--bundle" => bundle = args.next().map(PathBuf::from),
            "--certificate-identity" => identity = args.next(),
            "--certificate-oidc-issuer" => issuer = args.next(),
            "--key" => key = args.next().map(PathBuf::from),
            "--trusted-root" => root = args.next().map(PathBuf::from),
            _ => artifact = Some(a),
        }
    }
    let material = match (key, identity, issuer) {
        (Some(k), _, _) => Material::Key(k),
        (None, Some(identity), Some(issuer)) => Material::Identity { identity, issuer },
        _ => return ExitCode::from(2),
    };
    let (Some(bundle), Some(artifact)) = (bundle, artifact) else {
        return ExitCode::from(2);
    };
    match verify(&Request {
        staging,
        bundle,
        material,
        trusted_root: root,
        artifact,
    }) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("verification failed: {e}");
            ExitCode::from(1)
        }
    }
}
