//! A real C build with gcc under the sandbox, verified; plus the tamper tests.

mod common;

use cairn_build::provenance::{kind_of, BUILD_TYPE};
use cairn_build::BuildError;
use common::*;

const HELLO: &[u8] =
    b"#include <stdio.h>\nint main(void) { puts(\"hello from cairn\"); return 0; }\n";
const TOML: &[u8] = b"[build]\ncommand = [\"sh\", \"-c\", \"gcc -O2 -o $CAIRN_OUTPUT/hello hello.c\"]\noutputs = [\"hello\"]\n";

#[test]
fn c_program_builds_signs_and_verifies() {
    let src = repo(&[("hello.c", HELLO), ("cairn.toml", TOML)]);
    let e = request(src.path(), &[]);
    let k = key();
    let r = run(&e.req, &k).unwrap_or_else(|err| panic!("{err}\n{}", log(&e.req)));
    assert_eq!(r.outputs.len(), 1);
    assert_eq!(r.outputs[0].name, "hello");
    let p = verify(&r.bundle_path, &k, &e.req.output_dir).unwrap();
    assert_eq!(p.build_definition.build_type, BUILD_TYPE);
    let ext = &p.build_definition.external_parameters;
    assert_eq!(
        ext["source"]["uri"],
        "git+https://example.com/cairn/test.git@refs/heads/main"
    );
    assert_eq!(ext["configPath"], "cairn.toml");
    // The built program runs.
    let out = std::process::Command::new(e.req.output_dir.join("hello"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from cairn\n");
    // fanotify saw gcc's pipeline (we run as root in CI).
    let execs: Vec<&str> = p
        .build_definition
        .resolved_dependencies
        .iter()
        .filter(|d| kind_of(d) == Some("toolchain-exec"))
        .filter_map(|d| d.uri.as_deref())
        .collect();
    for tool in ["/cc1", "-as", "-ld"] {
        assert!(
            execs.iter().any(|x| x.contains(tool)),
            "{tool} not among executed files: {execs:?}"
        );
    }
    // Source check from the consumer's checkout passes, and the bundle sits beside the out dir.
    cairn_build::check::check_source(src.path(), &p).unwrap();
    assert_eq!(r.bundle_path, e.work.path().join("cairn.bundle.json"));
    // The same build again gives the same output bytes (SOURCE_DATE_EPOCH, fixed paths).
    let e2 = request(src.path(), &[]);
    let r2 = run(&e2.req, &k).unwrap();
    assert_eq!(r2.outputs[0].sha256, r.outputs[0].sha256);
    assert_eq!(r2.policy_digest, r.policy_digest);
    assert_eq!(
        r2.toolchain_stats.hashed_files, 0,
        "the toolchain digest cache spares a rehash"
    );
}

#[test]
fn tamper_source_file_output_byte_and_provenance_field() {
    let src = repo(&[("hello.c", HELLO), ("cairn.toml", TOML)]);
    let e = request(src.path(), &[]);
    let k = key();
    let r = run(&e.req, &k).unwrap();
    let p = verify(&r.bundle_path, &k, &e.req.output_dir).unwrap();

    // One output byte.
    let bin = e.req.output_dir.join("hello");
    let mut bytes = std::fs::read(&bin).unwrap();
    let orig = bytes.clone();
    bytes[100] ^= 1;
    std::fs::write(&bin, &bytes).unwrap();
    let err = verify(&r.bundle_path, &k, &e.req.output_dir).unwrap_err();
    assert!(err.starts_with("subject hello: expected sha256:"), "{err}");
    std::fs::write(&bin, &orig).unwrap();

    // One provenance field: the payload changes, the signature no longer verifies.
    let text = std::fs::read_to_string(&r.bundle_path).unwrap();
    let b = cairn_formats::bundle::Bundle::parse(text.as_bytes(), &Default::default()).unwrap();
    let mut env = b.attestations[0].envelope.clone();
    let payload = String::from_utf8(env.payload.clone())
        .unwrap()
        .replace("refs/heads/main", "refs/heads/mainx");
    env.payload = payload.into_bytes();
    let err = cairn_sign::dsse::verify_envelope(&env, &[k.public_key().clone()], 1).unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("signature")
            || err.to_string().contains("threshold"),
        "{err}"
    );

    // One source file in the consumer's checkout.
    std::fs::write(
        src.path().join("hello.c"),
        b"int main(void) { return 1; }\n",
    )
    .unwrap();
    let m = cairn_build::check::check_source(src.path(), &p).unwrap_err();
    assert_eq!(m.differences.len(), 1, "{m}");
    assert_eq!(m.differences[0].field, "tree");
    assert_eq!(m.differences[0].detail.as_deref(), Some("modified hello.c"));
    // The builder refuses the now-dirty checkout: nothing signed, no bundle.
    let e3 = request(src.path(), &[]);
    let err = run(&e3.req, &k).unwrap_err();
    assert!(
        matches!(err, BuildError::DirtySource { ref detail, .. } if detail.contains("hello.c")),
        "{err}"
    );
    assert!(!e3.req.bundle_path().exists());
}

#[test]
fn failed_build_is_never_signed() {
    let src = repo(&[("hello.c", b"this is not C\n"), ("cairn.toml", TOML)]);
    let e = request(src.path(), &[]);
    let err = run(&e.req, &key()).unwrap_err();
    assert!(
        matches!(err, BuildError::CommandFailed(ref m) if m.contains("exit status 1") && m.contains("error")),
        "{err}"
    );
    assert!(
        !e.req.bundle_path().exists(),
        "no bundle for a failed build"
    );
    assert!(!e.req.output_dir.join("hello").exists());
    assert!(
        log(&e.req).contains("hello.c"),
        "the log names the compiler error"
    );
}

#[test]
fn declared_output_missing_is_refused() {
    let src = repo(&[
        ("hello.c", HELLO),
        (
            "cairn.toml",
            b"[build]\ncommand = [\"true\"]\noutputs = [\"hello\"]\n",
        ),
    ]);
    let e = request(src.path(), &[]);
    let err = run(&e.req, &key()).unwrap_err();
    assert!(
        matches!(err, BuildError::MissingOutput { ref pattern, .. } if pattern == "hello"),
        "{err}"
    );
    assert!(!e.req.bundle_path().exists());
}

#[test]
fn policy_helpers_and_manifest_attachment() {
    let src = repo(&[("hello.c", HELLO), ("cairn.toml", TOML)]);
    let e = request(src.path(), &[]);
    let k = key();
    let r = run(&e.req, &k).unwrap();
    let p = verify(&r.bundle_path, &k, &e.req.output_dir).unwrap();
    use cairn_build::policy::*;
    check_build_type(&p, &[BUILD_TYPE.to_string()]).unwrap();
    let err = check_build_type(
        &p,
        &["https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1".into()],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("https://cairn.dev/build/v1"),
        "{err}"
    );
    let digest = format!("sha256:{}", r.toolchain_digest);
    assert_eq!(toolchain_digest(&p).unwrap(), digest);
    check_toolchain(&p, &[digest.to_uppercase().replace("SHA256", "sha256")]).unwrap();
    let err = check_toolchain(&p, &[format!("sha256:{}", "0".repeat(64))]).unwrap_err();
    assert!(
        matches!(err, PolicyViolation::Toolchain { ref found, .. } if *found == digest),
        "{err}"
    );

    // The manifest attachment with one file's digest changed no longer matches.
    let b = cairn_formats::bundle::Bundle::parse(
        &std::fs::read(&r.bundle_path).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let mut att = b.attestations[0].attachments[0].clone();
    let text = att["content"].as_str().unwrap().to_string();
    let line = text
        .lines()
        .find(|l| l.ends_with(" /usr/bin/gcc-12") || l.contains("/usr/bin/x86_64-linux-gnu-gcc-12"))
        .unwrap()
        .to_string();
    let forged = format!("{}{}", "f".repeat(64), &line[64..]);
    att["content"] = text.replace(&line, &forged).into();
    let err = check_manifest_attachment(&att, &p).unwrap_err();
    assert!(
        err.to_string().contains("does not match the provenance's"),
        "{err}"
    );
}

/// Records the attester calls.
#[derive(Default)]
struct Recorder {
    calls: Vec<String>,
    fail_finish: bool,
}

impl cairn_build::BuildAttester for Recorder {
    fn evidence_kind(&self) -> &'static str {
        "test-evidence"
    }
    fn begin(&mut self) -> Result<(), cairn_build::AttesterError> {
        self.calls.push("begin".into());
        Ok(())
    }
    fn measure(
        &mut self,
        kind: cairn_build::MeasurementKind,
        digest: [u8; 32],
    ) -> Result<(), cairn_build::AttesterError> {
        self.calls.push(format!("{kind}:{}", hex::encode(digest)));
        Ok(())
    }
    fn finish(
        &mut self,
        pae_sha256: [u8; 32],
    ) -> Result<serde_json::Value, cairn_build::AttesterError> {
        if self.fail_finish {
            return Err("quote failed: TPM unreachable".into());
        }
        self.calls
            .push(format!("finish:{}", hex::encode(pae_sha256)));
        Ok(serde_json::json!({"kind": "test-evidence", "extraData": hex::encode(pae_sha256)}))
    }
}

#[test]
fn attester_hook_measures_and_binds_the_envelope() {
    let src = repo(&[("hello.c", HELLO), ("cairn.toml", TOML)]);
    let e = request(src.path(), &[]);
    let k = key();
    let mut rec = Recorder::default();
    let r = cairn_build::build(&e.req, &k, Some(&mut rec), &mut cairn_build::Quiet).unwrap();
    let kinds: Vec<&str> = rec
        .calls
        .iter()
        .map(|c| c.split(':').next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "begin",
            "builder-binary",
            "sandbox-policy",
            "toolchain",
            "resolved-dependencies",
            "outputs",
            "finish"
        ]
    );
    assert_eq!(rec.calls[2], format!("sandbox-policy:{}", r.policy_digest));
    assert_eq!(rec.calls[3], format!("toolchain:{}", r.toolchain_digest));
    let b = cairn_formats::bundle::Bundle::parse(
        &std::fs::read(&r.bundle_path).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let env = &b.attestations[0].envelope;
    let want =
        cairn_build::hash::sha256_hex(&cairn_formats::dsse::pae(&env.payload_type, &env.payload));
    assert_eq!(rec.calls[6], format!("finish:{want}"));
    assert_eq!(b.attestations[0].evidence[0]["extraData"], want.as_str());
    // The signed provenance claims the evidence kind, so stripping it is detectable.
    let st: serde_json::Value = serde_json::from_slice(&env.payload).unwrap();
    // It records the builder binary with the digest that was measured, in the form the
    // verifier recomputes the builder-binary event from.
    let deps = &st["predicate"]["runDetails"]["builder"]["builderDependencies"];
    assert_eq!(deps[0]["annotations"]["kind"], "builder-binary");
    assert_eq!(
        rec.calls[1],
        format!(
            "builder-binary:{}",
            deps[0]["digest"]["sha256"].as_str().unwrap()
        )
    );
    let exe = std::env::current_exe().unwrap();
    assert_eq!(
        deps[0]["digest"]["sha256"],
        hex::encode(cairn_build::hash::sha256_file(&exe).unwrap().0)
    );
    let parsed = cairn_formats::Statement::from_envelope(env, &Default::default()).unwrap();
    let m = cairn_evidence::BuildMeasurements::from_statement(&parsed).unwrap();
    assert_eq!(
        m.builder_binary.map(hex::encode).as_deref(),
        deps[0]["digest"]["sha256"].as_str()
    );
    assert_eq!(
        st["predicate"]["buildDefinition"]["internalParameters"]["hardwareEvidence"],
        serde_json::json!(["test-evidence"])
    );

    // An attester failure fails the build: no bundle.
    let e2 = request(src.path(), &[]);
    let mut bad = Recorder {
        fail_finish: true,
        ..Default::default()
    };
    let err = cairn_build::build(&e2.req, &k, Some(&mut bad), &mut cairn_build::Quiet).unwrap_err();
    assert!(err.to_string().contains("TPM unreachable"), "{err}");
    assert!(!e2.req.bundle_path().exists());
}
