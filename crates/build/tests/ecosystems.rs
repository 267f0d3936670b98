//! Real builds with pinned dependencies, each checked offline before the build, built in
//! the sandbox in the ecosystem's offline + locked mode, and verified. Needs
//! `scripts/setup-build-fixtures.sh` (Debian cargo/rustc, pip, npm; cfg-if in cargo's cache).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use cairn_build::provenance::kind_of;
use cairn_build::{BuildError, Progress, Stage};
use common::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    for ent in walkdir::WalkDir::new(from) {
        let ent = ent.unwrap();
        let rel = ent.path().strip_prefix(from).unwrap();
        let dst = to.join(rel);
        if ent.file_type().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
        } else {
            std::fs::copy(ent.path(), &dst).unwrap();
        }
    }
}

fn sh(dir: &Path, prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{prog}: {e}"));
    assert!(
        out.status.success(),
        "{prog} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A world-traversable temp dir: host dependency stores must be readable by the
/// unprivileged uid bwrap runs as.
fn open_tempdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn package<'a>(
    p: &'a cairn_formats::provenance::ProvenanceV1,
    purl: &str,
) -> &'a cairn_formats::ResourceDescriptor {
    p.build_definition
        .resolved_dependencies
        .iter()
        .find(|d| kind_of(d) == Some("package") && d.uri.as_deref() == Some(purl))
        .unwrap_or_else(|| panic!("{purl} not in resolvedDependencies"))
}

/// Runs a closure at one stage (a test hook).
struct At<F: FnMut()>(Stage, F);
impl<F: FnMut()> Progress for At<F> {
    fn stage(&mut self, s: Stage) {
        if s == self.0 {
            (self.1)();
        }
    }
}

#[test]
fn rust_crate_with_vendored_dependency_offline_locked() {
    let src = tempfile::tempdir().unwrap();
    copy_dir(&fixture("rust-app"), src.path());
    // Vendor from cargo's local cache (filled by the setup script): no network.
    sh(
        src.path(),
        "cargo",
        &["vendor", "--offline", "--locked", "--quiet", "vendor"],
    );
    std::fs::create_dir_all(src.path().join(".cargo")).unwrap();
    std::fs::write(src.path().join(".cargo/config.toml"), "[source.crates-io]\nreplace-with = \"vendored\"\n[source.vendored]\ndirectory = \"vendor\"\n").unwrap();
    std::fs::write(
        src.path().join("cairn.toml"),
        "[build]\ncommand = [\"sh\", \"-c\", \"cargo build --offline --locked --release && cp target/release/cairn-fixture-rust-app $CAIRN_OUTPUT/\"]\noutputs = [\"cairn-fixture-rust-app\"]\n[dependencies]\ncargo-vendor = \"vendor\"\n",
    )
    .unwrap();
    std::fs::write(src.path().join(".gitignore"), "target/\n").unwrap();
    git(src.path(), &["init", "-q", "-b", "main"]);
    commit(src.path());
    let e = request(src.path(), &[]);
    let k = key();
    let r = run(&e.req, &k).unwrap_or_else(|err| panic!("{err}\n{}", log(&e.req)));
    let p = verify(&r.bundle_path, &k, &e.req.output_dir).unwrap();
    let lock = std::fs::read_to_string(src.path().join("Cargo.lock")).unwrap();
    let sum = lock
        .split("checksum = \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(
        package(&p, "pkg:cargo/cfg-if@1.0.5").digest.get("sha256"),
        Some(sum)
    );
    let out = Command::new(e.req.output_dir.join("cairn-fixture-rust-app"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from a vendored cairn build on unix\n"
    );
    cairn_build::check::check_source(src.path(), &p).unwrap();
    // The consumer's lockfile differs: named, with both digests.
    let lock_path = src.path().join("Cargo.lock");
    std::fs::write(&lock_path, format!("{lock}# edited\n")).unwrap();
    let m = cairn_build::check::check_source(src.path(), &p).unwrap_err();
    let d = m
        .differences
        .iter()
        .find(|d| d.field == "lockfile Cargo.lock")
        .unwrap_or_else(|| panic!("{m}"));
    assert_eq!(
        d.expected,
        format!("sha256:{}", cairn_build::hash::sha256_hex(lock.as_bytes()))
    );
    assert!(
        m.differences
            .iter()
            .any(|d| d.field == "tree" && d.detail.as_deref() == Some("modified Cargo.lock")),
        "{m}"
    );
    std::fs::write(&lock_path, &lock).unwrap();

    // A vendored file edited (and committed): refused before the build, naming the
    // package and both digests.
    let lib = src.path().join("vendor/cfg-if/src/lib.rs");
    let mut text = std::fs::read_to_string(&lib).unwrap();
    text.push_str("\n// tampered\n");
    std::fs::write(&lib, &text).unwrap();
    commit(src.path());
    let e2 = request(src.path(), &[]);
    let err = run(&e2.req, &k).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, BuildError::Dependency(cairn_build::DependencyError::Mismatch { ref package, .. }) if package == "cfg-if@1.0.5"),
        "{msg}"
    );
    assert!(
        msg.contains(&cairn_build::hash::sha256_hex(text.as_bytes())) && msg.contains("src/lib.rs"),
        "{msg}"
    );
    assert!(!e2.req.bundle_path().exists());
    assert!(
        !e2.req.log_path().exists(),
        "refused before the sandbox started"
    );
}

/// An npm cache holding the fixture package; returns (cache dir, integrity).
fn npm_cache(root: &Path) -> (PathBuf, String) {
    let dep = root.join("dep");
    copy_dir(&fixture("npm-dep"), &dep);
    sh(&dep, "npm", &["pack", "--silent"]);
    let tgz = dep.join("cairn-fixture-dep-1.0.0.tgz");
    let cache = root.join("npm-cache");
    sh(
        &dep,
        "npm",
        &[
            "cache",
            "add",
            tgz.to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
            "--offline",
        ],
    );
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, &std::fs::read(&tgz).unwrap());
    (
        cache,
        format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(d.as_ref())
        ),
    )
}

fn npm_app(cache: &Path, integrity: &str, command: &str) -> tempfile::TempDir {
    let lock = serde_json::json!({
        "name": "cairn-fixture-app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": {"name": "cairn-fixture-app", "version": "1.0.0", "license": "MIT", "dependencies": {"cairn-fixture-dep": "1.0.0"}},
            "node_modules/cairn-fixture-dep": {"version": "1.0.0", "resolved": "https://registry.npmjs.org/cairn-fixture-dep/-/cairn-fixture-dep-1.0.0.tgz", "integrity": integrity, "license": "MIT"}
        }
    });
    let toml = format!("[build]\ncommand = [\"sh\", \"-c\", {command:?}]\noutputs = [\"result.txt\"]\n[dependencies]\nnpm-cache = {:?}\n", cache.display().to_string());
    repo(&[
        ("package.json", br#"{"name":"cairn-fixture-app","version":"1.0.0","license":"MIT","dependencies":{"cairn-fixture-dep":"1.0.0"}}"#),
        ("package-lock.json", lock.to_string().as_bytes()),
        ("cairn.toml", toml.as_bytes()),
        (".gitignore", b"node_modules/\n"),
    ])
}

const NPM_BUILD: &str = "npm ci --offline --no-audit --no-fund && node -e 'console.log(require(\"cairn-fixture-dep\")(\"ok\"))' > $CAIRN_OUTPUT/result.txt";

#[test]
fn npm_package_from_local_cache_with_npm_ci_offline() {
    let root = open_tempdir();
    let (cache, integrity) = npm_cache(root.path());
    let src = npm_app(&cache, &integrity, NPM_BUILD);
    let e = request(src.path(), &[]);
    let k = key();
    let r = run(&e.req, &k).unwrap_or_else(|err| panic!("{err}\n{}", log(&e.req)));
    let p = verify(&r.bundle_path, &k, &e.req.output_dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(e.req.output_dir.join("result.txt")).unwrap(),
        "[ok]\n"
    );
    let dep = package(&p, "pkg:npm/cairn-fixture-dep@1.0.0");
    assert_eq!(
        dep.annotations.as_ref().unwrap()["nativeDigest"],
        integrity.as_str()
    );
    assert!(dep.digest.get("sha512").is_some());
}

/// The cached tarball's bytes are replaced (same length) once the lock check has passed.
fn corrupt(cache: &Path, integrity: &str) {
    let (_, raw) = cairn_build::deps::npm::decode_sri(integrity).unwrap();
    let h = hex::encode(raw);
    let p = cache.join(format!(
        "_cacache/content-v2/sha512/{}/{}/{}",
        &h[..2],
        &h[2..4],
        &h[4..]
    ));
    let mut b = std::fs::read(&p).unwrap();
    let n = b.len();
    b[n / 2] ^= 0xff;
    std::fs::write(&p, b).unwrap();
}

#[test]
fn npm_dependency_changed_after_the_lock_check_is_caught() {
    let root = open_tempdir();
    let (cache, integrity) = npm_cache(root.path());
    let k = key();
    // (a) npm itself, offline and locked, refuses the changed tarball inside the sandbox.
    let src = npm_app(&cache, &integrity, NPM_BUILD);
    let e = request(src.path(), &[]);
    let err = cairn_build::build(
        &e.req,
        &k,
        None,
        &mut At(Stage::LocksChecked, || corrupt(&cache, &integrity)),
    )
    .unwrap_err();
    assert!(matches!(err, BuildError::CommandFailed(_)), "{err}");
    assert!(
        log(&e.req).contains("seems to be corrupted"),
        "{}",
        log(&e.req)
    );
    assert!(!e.req.bundle_path().exists());

    // (b) A build that never reads it: the supervisor's re-check after the build names it.
    let root = open_tempdir();
    let (cache, integrity) = npm_cache(root.path());
    let src = npm_app(&cache, &integrity, "echo built > $CAIRN_OUTPUT/result.txt");
    let e = request(src.path(), &[]);
    let err = cairn_build::build(
        &e.req,
        &k,
        None,
        &mut At(Stage::LocksChecked, || corrupt(&cache, &integrity)),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            BuildError::InputChanged {
                what: "dependency",
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("cairn-fixture-dep@1.0.0") && msg.contains(&integrity),
        "{msg}"
    );
    assert!(!e.req.bundle_path().exists(), "nothing signed");
}

#[test]
fn python_wheel_with_require_hashes_from_local_wheelhouse() {
    let work = tempfile::tempdir().unwrap();
    let dep = work.path().join("dep");
    copy_dir(&fixture("py-dep"), &dep);
    let src = tempfile::tempdir().unwrap();
    copy_dir(&fixture("py-app"), src.path());
    let wheels = src.path().join("wheels");
    sh(
        &dep,
        "/usr/bin/python3",
        &[
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--no-cache-dir",
            "-w",
            wheels.to_str().unwrap(),
            ".",
        ],
    );
    let whl = std::fs::read_dir(&wheels)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let h = cairn_build::hash::sha256_hex(&std::fs::read(&whl).unwrap());
    std::fs::write(
        src.path().join("requirements.txt"),
        format!("cairn-fixture-dep==1.0 \\\n    --hash=sha256:{h}\n"),
    )
    .unwrap();
    let cmd = "python3 -m pip install --quiet --no-cache-dir --no-index --find-links wheels --require-hashes -r requirements.txt --target /tmp/site \
        && python3 -m pip wheel --quiet --no-cache-dir --no-deps --no-build-isolation --no-index -w $CAIRN_OUTPUT . \
        && PYTHONPATH=/tmp/site:. python3 -c 'from cairn_fixture_app import main; main()' > $CAIRN_OUTPUT/result.txt";
    std::fs::write(src.path().join("cairn.toml"), format!("[build]\ncommand = [\"sh\", \"-c\", {cmd:?}]\noutputs = [\"*.whl\", \"result.txt\"]\n[dependencies]\npip-wheelhouse = \"wheels\"\n")).unwrap();
    std::fs::write(src.path().join(".gitignore"), "build/\n*.egg-info/\n").unwrap();
    git(src.path(), &["init", "-q", "-b", "main"]);
    commit(src.path());
    let e = request(src.path(), &[]);
    let k = key();
    let r = run(&e.req, &k).unwrap_or_else(|err| panic!("{err}\n{}", log(&e.req)));
    let p = verify(&r.bundle_path, &k, &e.req.output_dir).unwrap();
    assert!(
        r.outputs
            .iter()
            .any(|o| o.name == "cairn_fixture_app-0.1-py3-none-any.whl"),
        "{:?}",
        r.outputs
    );
    assert_eq!(
        std::fs::read_to_string(e.req.output_dir.join("result.txt")).unwrap(),
        "HELLO!\n"
    );
    assert_eq!(
        package(&p, "pkg:pypi/cairn-fixture-dep@1.0")
            .digest
            .get("sha256"),
        Some(h.as_str())
    );

    // A requirement without a hash is refused before the build.
    std::fs::write(
        src.path().join("requirements.txt"),
        "cairn-fixture-dep==1.0\n",
    )
    .unwrap();
    commit(src.path());
    let e2 = request(src.path(), &[]);
    let err = run(&e2.req, &k).unwrap_err();
    assert!(
        err.to_string()
            .contains("cairn-fixture-dep==1.0: no --hash"),
        "{err}"
    );
    assert!(!e2.req.bundle_path().exists());
}
