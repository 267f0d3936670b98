//! The supervisor: source → toolchain → dependencies → sandbox → outputs → re-check →
//! provenance → sign → evidence → publish. Nothing is signed unless every step passed,
//! and signing happens only after the sandbox's pid namespace is gone.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cairn_formats::bundle::{Attestation, Bundle};
use cairn_formats::dsse::{pae, Envelope, IN_TOTO_PAYLOAD_TYPE};
use cairn_formats::provenance::{format_time, ProvenanceV1, SLSA_PROVENANCE_V1};
use cairn_formats::{DigestSet, ResourceDescriptor, Statement};
use cairn_sign::PrivateKey;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::attester::{BuildAttester, MeasurementKind};
use crate::config::ConfigFile;
use crate::deps::{self, Lockfile, ResolvedDep};
use crate::error::BuildError;
use crate::hash;
use crate::outputs::{self, Output};
use crate::provenance::{self, ProvenanceInputs};
use crate::sandbox::run::{self, Step, NOBODY};
use crate::sandbox::{self, Limits, Mount, SandboxPolicy, SeccompSpec};
use crate::source::{self, GitSource};
use crate::toolchain::{self, DigestCache, HashStats, Manifest};

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// Top of a clean git checkout.
    pub source: PathBuf,
    /// `--config`; else `cairn.toml` at the top of the source, when present.
    pub config: Option<PathBuf>,
    /// The command after `--`; overrides the config's.
    pub command: Vec<String>,
    /// Where the declared outputs are copied.
    pub output_dir: PathBuf,
    /// Default: `cairn.bundle.json` beside the output dir.
    pub bundle: Option<PathBuf>,
    /// `--toolchain`; overrides the config's.
    pub toolchain: Vec<PathBuf>,
    /// Supervisor state (digest cache, staging); never visible inside the sandbox.
    pub state_dir: PathBuf,
    /// The signing key's path, checked to be outside everything the sandbox sees.
    pub key_path: Option<PathBuf>,
    pub builder_id: String,
    /// Observe executed files with fanotify when privileged.
    pub observe_execs: bool,
    /// Overrides `limits.timeout-secs`.
    pub timeout_secs: Option<u64>,
}

impl BuildRequest {
    pub fn new(
        source: impl Into<PathBuf>,
        output_dir: impl Into<PathBuf>,
        state_dir: impl Into<PathBuf>,
    ) -> Self {
        BuildRequest {
            source: source.into(),
            config: None,
            command: Vec::new(),
            output_dir: output_dir.into(),
            bundle: None,
            toolchain: Vec::new(),
            state_dir: state_dir.into(),
            key_path: None,
            builder_id: provenance::DEFAULT_BUILDER_ID.into(),
            observe_execs: true,
            timeout_secs: None,
        }
    }

    /// The bundle path: explicit, or `cairn.bundle.json` beside the output dir.
    pub fn bundle_path(&self) -> PathBuf {
        self.bundle.clone().unwrap_or_else(|| {
            let out = self.output_dir.components().as_path().to_path_buf();
            out.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .join("cairn.bundle.json")
        })
    }

    /// The build log path: the bundle path with `.log`.
    pub fn log_path(&self) -> PathBuf {
        self.bundle_path().with_extension("log")
    }
}

/// Stages reported to a [`Progress`].
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Source,
    Toolchain,
    Dependencies,
    /// Locks checked; the sandbox is about to start.
    LocksChecked,
    Running {
        step: usize,
        of: usize,
    },
    Outputs,
    Recheck,
    Signing,
    Writing,
}

/// Progress and test hooks. Called by the supervisor between stages.
pub trait Progress {
    fn stage(&mut self, stage: Stage);
}

/// No progress output.
pub struct Quiet;
impl Progress for Quiet {
    fn stage(&mut self, _: Stage) {}
}

/// Seconds spent per stage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timings {
    pub source: Duration,
    pub toolchain: Duration,
    pub dependencies: Duration,
    pub sandbox: Duration,
    pub outputs: Duration,
    pub sign_and_write: Duration,
}

/// A successful, signed build.
#[derive(Debug, Clone)]
pub struct BuildResult {
    pub outputs: Vec<Output>,
    pub output_dir: PathBuf,
    pub bundle_path: PathBuf,
    pub log_path: PathBuf,
    pub provenance: ProvenanceV1,
    pub envelope: Envelope,
    pub policy_digest: String,
    pub toolchain_digest: String,
    pub toolchain_stats: HashStats,
    pub executed: Option<Vec<(String, String)>>,
    pub timings: Timings,
}

/// Runs a build. On any error nothing is signed and no bundle is written.
pub fn build(
    req: &BuildRequest,
    key: &PrivateKey,
    mut attester: Option<&mut dyn BuildAttester>,
    progress: &mut dyn Progress,
) -> Result<BuildResult, BuildError> {
    let started = OffsetDateTime::now_utc();
    let version = run::bwrap_version()?;
    let mut timings = Timings::default();
    let invocation_id = new_uuid();
    let is_root = run::can_observe();

    // Source: clean checkout, copied into the staging dir, tree recomputed from the copy.
    progress.stage(Stage::Source);
    let t = Instant::now();
    let source_root =
        fs::canonicalize(&req.source).map_err(|e| BuildError::io("source", &req.source, e))?;
    let src = GitSource::inspect(&source_root)?;
    let staging = Staging::create(&req.state_dir, &invocation_id)?;
    let files = source::tracked_files(&src.root, &src.commit)?;
    source::export(&src.root, &files, &staging.src)?;
    let copied_tree = source::tree_of(&staging.src, &files)?;
    if copied_tree != src.tree {
        return Err(BuildError::Source {
            path: src.root.clone(),
            reason: format!(
                "copied tree {copied_tree} differs from HEAD^{{tree}} {}",
                src.tree
            ),
        });
    }
    let epoch = source::git(&src.root, &["log", "-1", "--format=%ct", &src.commit])
        .map(|o| String::from_utf8_lossy(&o).trim().to_string())
        .unwrap_or_else(|_| "0".into());

    // Config: from the committed tree (the copy), or an explicit file.
    let (config, config_rel) = load_config(req, &src.root, &staging.src)?;
    let commands: Vec<Vec<String>> = if req.command.is_empty() {
        config.commands()
    } else {
        vec![req.command.clone()]
    };
    if commands.is_empty() || commands.iter().any(|c| c.is_empty()) {
        return Err(BuildError::Config {
            path: config_rel.clone().map(PathBuf::from).unwrap_or_default(),
            reason: "no build command: give one after `--` or set build.command in cairn.toml"
                .into(),
        });
    }
    timings.source = t.elapsed();

    // Toolchain.
    progress.stage(Stage::Toolchain);
    let t = Instant::now();
    let tc_paths: Vec<PathBuf> = if !req.toolchain.is_empty() {
        req.toolchain.clone()
    } else if let Some(p) = &config.toolchain.paths {
        p.clone()
    } else {
        toolchain::DEFAULT_TOOLCHAIN
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.symlink_metadata().is_ok())
            .collect()
    };
    let roots = toolchain::roots(&tc_paths)?;
    let cache = DigestCache::load(&req.state_dir.join("digest-cache"));
    let (manifest, tc_stats) = toolchain::manifest(&roots, &cache)?;
    cache
        .save()
        .map_err(|e| BuildError::io("digest cache", req.state_dir.join("digest-cache"), e))?;
    let manifest_text = manifest.to_text();
    let toolchain_digest = hash::sha256_hex(manifest_text.as_bytes());
    timings.toolchain = t.elapsed();

    // Dependencies, checked before the build.
    progress.stage(Stage::Dependencies);
    let t = Instant::now();
    let stores = DepStores::resolve(&config, &staging.src)?;
    check_secret_placement(req, &roots, &stores, &src.root)?;
    let lockfiles = deps::find_lockfiles(&staging.src)?;
    let resolved = check_deps(&staging.src, &lockfiles, &stores)?;
    timings.dependencies = t.elapsed();
    progress.stage(Stage::LocksChecked);

    // Sandbox policy.
    let bpf = sandbox::seccomp::compile()?;
    let limits = &config.limits;
    let limits = Limits {
        timeout_secs: req.timeout_secs.unwrap_or(limits.timeout_secs),
        cpu_secs: limits.cpu_secs,
        address_space_bytes: limits.memory_mib.saturating_mul(1024 * 1024),
        processes: limits.processes,
        file_size_bytes: limits.file_size_mib.saturating_mul(1024 * 1024),
    };
    let deps_digest = hash::sha256_hex(
        &serde_json::to_vec(
            &resolved
                .iter()
                .map(ResolvedDep::descriptor)
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default(),
    );
    let mut mounts = Vec::new();
    for r in &roots {
        match r {
            toolchain::ToolchainRoot::Bind { path } => mounts.push(Mount::bind(
                true,
                path,
                path.clone(),
                Some(format!("toolchain:sha256:{toolchain_digest}")),
            )),
            toolchain::ToolchainRoot::Symlink { path, target } => {
                mounts.push(Mount::symlink(target, path))
            }
        }
    }
    for (name, body) in [
        ("passwd", STUB_PASSWD),
        ("group", STUB_GROUP),
        ("hosts", STUB_HOSTS),
    ] {
        let p = staging.root.join(format!("etc-{name}"));
        write_file(&p, body.as_bytes(), 0o644)?;
        mounts.push(Mount::bind(
            true,
            p,
            format!("/etc/{name}"),
            Some(format!("sha256:{}", hash::sha256_hex(body.as_bytes()))),
        ));
    }
    mounts.push(Mount::special("proc", "/proc"));
    mounts.push(Mount::special("dev", "/dev"));
    mounts.push(Mount::special("tmpfs", "/tmp"));
    mounts.push(Mount::special("tmpfs", sandbox::HOME_DIR));
    mounts.push(Mount::bind(
        false,
        &staging.src,
        sandbox::SRC_DIR,
        Some(format!("gitTree:{}", src.tree)),
    ));
    mounts.push(Mount::bind(false, &staging.out, sandbox::OUT_DIR, None));
    let wrapper = staging.root.join("run");
    write_file(&wrapper, sandbox::WRAPPER_SCRIPT.as_bytes(), 0o755)?;
    mounts.push(Mount::bind(
        true,
        &wrapper,
        sandbox::WRAPPER,
        Some(format!(
            "sha256:{}",
            hash::sha256_hex(sandbox::WRAPPER_SCRIPT.as_bytes())
        )),
    ));
    let mut env = BTreeMap::new();
    for (k, v) in [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("HOME", sandbox::HOME_DIR),
        ("TZ", "UTC"),
        ("LC_ALL", "C.UTF-8"),
        ("LANG", "C.UTF-8"),
        ("CAIRN_OUTPUT", sandbox::OUT_DIR),
        ("TMPDIR", "/tmp"),
        ("USER", "builder"),
        ("LOGNAME", "builder"),
    ] {
        env.insert(k.to_string(), v.to_string());
    }
    env.insert("SOURCE_DATE_EPOCH".into(), epoch);
    for (host, dest, vars) in stores.mounts() {
        mounts.push(Mount::bind(
            true,
            host,
            dest,
            Some(format!("dependencies:sha256:{deps_digest}")),
        ));
        for (k, v) in vars {
            env.insert(k.to_string(), v.to_string());
        }
    }
    for (k, v) in &config.build.set_env {
        env.insert(k.clone(), v.clone());
    }
    for k in &config.build.env {
        if let Ok(v) = std::env::var(k) {
            env.insert(k.clone(), v);
        }
    }
    let policy = SandboxPolicy {
        version: 1,
        runner: version.clone(),
        namespaces: sandbox::NAMESPACES.to_vec(),
        disable_userns: true,
        die_with_parent: true,
        new_session: true,
        uid: sandbox::SANDBOX_UID,
        gid: sandbox::SANDBOX_UID,
        hostname: sandbox::HOSTNAME.into(),
        host_uid_unprivileged: true,
        cwd: sandbox::SRC_DIR.into(),
        env,
        mounts: mounts.iter().map(|m| m.spec.clone()).collect(),
        seccomp: SeccompSpec {
            sha256: hash::sha256_hex(&bpf),
            denied: sandbox::seccomp::description(),
        },
        limits,
        leftover_processes_fail: true,
    };
    let policy_digest = policy.digest();
    if is_root {
        staging.chown_work(NOBODY)?;
    }

    // The builder binary: recorded in the provenance (builderDependencies) and, with
    // an attester, measured, so the verifier checks the measured binary against the
    // signed record rather than only against a consumer's allow-list.
    let exe = std::env::current_exe()
        .map_err(|e| BuildError::io("builder binary", "/proc/self/exe", e))?;
    let (builder_digest, _) =
        hash::sha256_file(&exe).map_err(|e| BuildError::io("builder binary", &exe, e))?;

    // Hardware: measurements known before the build.
    if let Some(a) = attester.as_deref_mut() {
        a.begin()
            .map_err(|e| BuildError::Attester(format!("begin: {e}")))?;
        measure(a, MeasurementKind::BuilderBinary, builder_digest)?;
        measure(
            a,
            MeasurementKind::SandboxPolicy,
            hash::sha256(&policy.canonical_json()),
        )?;
        measure(
            a,
            MeasurementKind::Toolchain,
            hash::sha256(manifest_text.as_bytes()),
        )?;
    }

    // The build.
    let t = Instant::now();
    let log_path = req.log_path();
    if let Some(parent) = log_path.parent() {
        fs::create_dir_all(parent).map_err(|e| BuildError::io("log dir", parent, e))?;
    }
    write_file(&log_path, b"", 0o644)?;
    let observe = (req.observe_execs && is_root).then(|| {
        roots
            .iter()
            .filter_map(|r| match r {
                toolchain::ToolchainRoot::Bind { path } => Some(PathBuf::from(path)),
                _ => None,
            })
            .collect::<Vec<_>>()
    });
    let mut executed_paths: Option<Vec<String>> = observe.as_ref().map(|_| Vec::new());
    for (i, argv) in commands.iter().enumerate() {
        progress.stage(Stage::Running {
            step: i + 1,
            of: commands.len(),
        });
        let outcome = run::run_step(&Step {
            policy: &policy,
            mounts: &mounts,
            seccomp_bpf: &bpf,
            argv,
            log: &log_path,
            drop_to: is_root.then_some(NOBODY),
            observe: observe.clone(),
        })?;
        if let (Some(all), Some(seen)) = (executed_paths.as_mut(), outcome.executed.as_ref()) {
            all.extend(seen.iter().cloned());
        }
        if outcome.timed_out {
            return Err(BuildError::Timeout {
                limit_secs: policy.limits.timeout_secs,
            });
        }
        if !outcome.success() {
            let how = match (outcome.exit_code, outcome.signal) {
                (Some(c), _) => format!("exit status {c}"),
                (None, Some(s)) => format!("killed by signal {s}"),
                _ => "unknown status".into(),
            };
            return Err(BuildError::CommandFailed(format!(
                "step {} ({}) failed with {how}; log {}:\n{}",
                i + 1,
                argv.join(" "),
                log_path.display(),
                log_tail(&log_path, 20)
            )));
        }
    }
    timings.sandbox = t.elapsed();

    // Outputs, hashed from outside after the pid namespace is gone.
    progress.stage(Stage::Outputs);
    let t = Instant::now();
    let out = outputs::collect(&staging.out, &config.build.outputs)?;

    // Re-check inputs from the supervisor's side: dependencies and executed files.
    progress.stage(Stage::Recheck);
    let again = check_deps(&staging.src, &lockfiles, &stores).map_err(|e| match e {
        BuildError::Dependency(d) => BuildError::InputChanged {
            what: "dependency",
            path: d.to_string(),
            expected: "the digest checked before the build".into(),
            found: "a different one after it".into(),
        },
        other => other,
    })?;
    if let Some((a, b)) = resolved.iter().zip(again.iter()).find(|(a, b)| a != b) {
        return Err(BuildError::InputChanged {
            what: "dependency",
            path: a.purl.clone(),
            expected: format!("{:?}", a.digest.0),
            found: format!("{:?}", b.digest.0),
        });
    }
    let executed = executed_paths
        .map(|p| executed_files(&manifest, &p))
        .transpose()?;
    timings.outputs = t.elapsed();

    // Provenance, signature, evidence.
    progress.stage(Stage::Signing);
    let t = Instant::now();
    let finished = OffsetDateTime::now_utc();
    let log_sha = hex::encode(
        hash::sha256_file(&log_path)
            .map_err(|e| BuildError::io("build log", &log_path, e))?
            .0,
    );
    let os_release = os_release();
    let mut builder_version = BTreeMap::new();
    builder_version.insert("cairn".to_string(), env!("CARGO_PKG_VERSION").to_string());
    builder_version.insert("bubblewrap".to_string(), version.clone());
    let output_patterns = config.build.outputs.clone();
    let inputs = ProvenanceInputs {
        source: &src,
        commands: &commands,
        config_path: config_rel.as_deref(),
        outputs: &output_patterns,
        policy_digest: &policy_digest,
        policy: serde_json::to_value(&policy).unwrap_or(Value::Null),
        toolchain_digest: &toolchain_digest,
        toolchain_files: manifest.files.len(),
        executed: executed.as_deref(),
        lockfiles: &lockfiles,
        deps: &resolved,
        os_release,
        builder_id: &req.builder_id,
        builder_version,
        builder_binary: (
            exe.to_string_lossy().into_owned(),
            hex::encode(builder_digest),
        ),
        invocation_id: &invocation_id,
        started_on: format_time(started),
        finished_on: format_time(finished),
        log_sha256: &log_sha,
        hardware_evidence: attester
            .as_deref()
            .map(|a| vec![a.evidence_kind()])
            .unwrap_or_default(),
    };
    let prov = provenance::build(&inputs);
    let subjects: Vec<ResourceDescriptor> = out
        .iter()
        .map(|o| ResourceDescriptor::named(o.name.clone(), DigestSet::sha256(o.sha256.clone())))
        .collect();
    let statement = Statement::new(
        subjects.clone(),
        SLSA_PROVENANCE_V1,
        serde_json::to_value(&prov).map_err(|e| BuildError::Signing(e.to_string()))?,
    );
    let payload = statement.to_json().into_bytes();
    if let Some(a) = attester.as_deref_mut() {
        measure(
            a,
            MeasurementKind::ResolvedDependencies,
            hash::sha256(
                &serde_json::to_vec(&prov.build_definition.resolved_dependencies)
                    .unwrap_or_default(),
            ),
        )?;
        measure(
            a,
            MeasurementKind::Outputs,
            hash::sha256(&serde_json::to_vec(&subjects).unwrap_or_default()),
        )?;
    }
    let mut envelope = cairn_sign::dsse::sign_envelope(IN_TOTO_PAYLOAD_TYPE, &payload, &[key])
        .map_err(|e| BuildError::Signing(e.to_string()))?;
    // A hardware-resident key may sign too (e.g. a TPM key certified by the AK); the
    // evidence from `finish` then vouches for it.
    if let Some(a) = attester.as_deref_mut() {
        if let Some(sig) = a
            .envelope_signature(&pae(&envelope.payload_type, &envelope.payload))
            .map_err(|e| BuildError::Attester(format!("envelope signature: {e}")))?
        {
            envelope.signatures.push(cairn_formats::dsse::Signature {
                keyid: Some(sig.keyid),
                sig: sig.sig,
                cert: None,
            });
        }
    }
    let mut att = Attestation::new(envelope.clone());
    if let Some(a) = attester {
        let ev = a
            .finish(hash::sha256(&pae(
                &envelope.payload_type,
                &envelope.payload,
            )))
            .map_err(|e| BuildError::Attester(format!("finish: {e}")))?;
        if ev.get("kind").and_then(Value::as_str).is_none() {
            return Err(BuildError::Attester(
                "evidence entry has no string `kind`".into(),
            ));
        }
        att.evidence.push(ev);
    }
    att.attachments.push(json!({
        "kind": "toolchain-manifest",
        "digest": { "sha256": toolchain_digest },
        "mediaType": "text/plain; charset=utf-8",
        "content": manifest_text,
    }));
    let bundle = Bundle::new(vec![att]);

    // Publish outputs, then the bundle, atomically.
    progress.stage(Stage::Writing);
    fs::create_dir_all(&req.output_dir)
        .map_err(|e| BuildError::io("output dir", &req.output_dir, e))?;
    outputs::publish(&staging.out, &out, &req.output_dir)?;
    let bundle_path = req.bundle_path();
    write_atomic(&bundle_path, bundle.to_json().as_bytes())?;
    timings.sign_and_write = t.elapsed();
    Ok(BuildResult {
        outputs: out,
        output_dir: req.output_dir.clone(),
        bundle_path,
        log_path,
        provenance: prov,
        envelope,
        policy_digest,
        toolchain_digest,
        toolchain_stats: tc_stats,
        executed,
        timings,
    })
}

fn measure(
    a: &mut dyn BuildAttester,
    kind: MeasurementKind,
    d: [u8; 32],
) -> Result<(), BuildError> {
    a.measure(kind, d)
        .map_err(|e| BuildError::Attester(format!("measure {kind}: {e}")))
}

const STUB_PASSWD: &str = "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\nbuilder:x:1000:1000:builder:/build/home:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const STUB_GROUP: &str = "root:x:0:\nbuilder:x:1000:\nnogroup:x:65534:\n";
const STUB_HOSTS: &str = "127.0.0.1 localhost builder\n::1 localhost\n";

/// The supervisor-private working area of one build (mode 0700 under the state dir).
struct Staging {
    root: PathBuf,
    src: PathBuf,
    out: PathBuf,
}

impl Staging {
    fn create(state: &Path, id: &str) -> Result<Self, BuildError> {
        fs::create_dir_all(state).map_err(|e| BuildError::io("state dir", state, e))?;
        // 0711: bubblewrap, running as the unprivileged build uid, must traverse to the
        // staging dirs to bind them; nothing here can be listed, and the per-build dir
        // name is a random UUID. The digest cache is 0600.
        fs::set_permissions(state, fs::Permissions::from_mode(0o711))
            .map_err(|e| BuildError::io("state dir", state, e))?;
        let work = state.join("work");
        fs::create_dir_all(&work).map_err(|e| BuildError::io("staging", &work, e))?;
        fs::set_permissions(&work, fs::Permissions::from_mode(0o711))
            .map_err(|e| BuildError::io("staging", &work, e))?;
        let root = work.join(id);
        let src = root.join("src");
        let out = root.join("out");
        for d in [&root, &src, &out] {
            fs::create_dir_all(d).map_err(|e| BuildError::io("staging", d, e))?;
        }
        fs::set_permissions(&root, fs::Permissions::from_mode(0o711))
            .map_err(|e| BuildError::io("staging", &root, e))?;
        Ok(Staging { root, src, out })
    }

    /// Hands the writable source copy and output dir to the unprivileged build uid.
    fn chown_work(&self, uid: u32) -> Result<(), BuildError> {
        for top in [&self.src, &self.out] {
            for ent in walkdir::WalkDir::new(top).follow_links(false) {
                let ent = ent.map_err(|e| BuildError::Sandbox(format!("staging: {e}")))?;
                std::os::unix::fs::lchown(ent.path(), Some(uid), Some(uid))
                    .map_err(|e| BuildError::io("staging chown", ent.path(), e))?;
            }
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// A host store mounted read-only: (host path, sandbox path, environment it implies).
type StoreMount = (PathBuf, &'static str, Vec<(&'static str, &'static str)>);

/// Dependency stores: where each checker reads, and how the sandbox sees them.
struct DepStores {
    cargo_vendor: Option<PathBuf>,
    npm_cache: Option<PathBuf>,
    wheelhouse: Option<PathBuf>,
    wheelhouse_is_host: bool,
    go_modcache: Option<PathBuf>,
}

impl DepStores {
    fn resolve(c: &ConfigFile, src_copy: &Path) -> Result<Self, BuildError> {
        let d = &c.dependencies;
        let in_source = |p: &PathBuf, what: &str| -> Result<PathBuf, BuildError> {
            if p.is_absolute()
                || p.components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(BuildError::Config {
                    path: "cairn.toml".into(),
                    reason: format!("dependencies.{what} must be a path inside the source tree"),
                });
            }
            Ok(src_copy.join(p))
        };
        let host = |p: &PathBuf, what: &str| -> Result<PathBuf, BuildError> {
            fs::canonicalize(p).map_err(|e| BuildError::Config {
                path: "cairn.toml".into(),
                reason: format!("dependencies.{what} {}: {e}", p.display()),
            })
        };
        let (wheelhouse, wheelhouse_is_host) = match &d.pip_wheelhouse {
            Some(p) if p.is_absolute() => (Some(host(p, "pip-wheelhouse")?), true),
            Some(p) => (Some(in_source(p, "pip-wheelhouse")?), false),
            None => (None, false),
        };
        Ok(DepStores {
            cargo_vendor: d
                .cargo_vendor
                .as_ref()
                .map(|p| in_source(p, "cargo-vendor"))
                .transpose()?,
            npm_cache: d
                .npm_cache
                .as_ref()
                .map(|p| host(p, "npm-cache"))
                .transpose()?,
            wheelhouse,
            wheelhouse_is_host,
            go_modcache: d
                .go_modcache
                .as_ref()
                .map(|p| host(p, "go-modcache"))
                .transpose()?,
        })
    }

    /// Host stores mounted read-only: (host path, sandbox path, environment).
    fn mounts(&self) -> Vec<StoreMount> {
        let mut v = Vec::new();
        if let Some(p) = &self.npm_cache {
            v.push((
                p.clone(),
                "/deps/npm-cache",
                vec![
                    ("npm_config_cache", "/deps/npm-cache"),
                    ("npm_config_offline", "true"),
                    ("npm_config_update_notifier", "false"),
                    ("npm_config_audit", "false"),
                    ("npm_config_fund", "false"),
                    ("npm_config_logs_max", "0"),
                ],
            ));
        }
        if let (Some(p), true) = (&self.wheelhouse, self.wheelhouse_is_host) {
            v.push((
                p.clone(),
                "/deps/wheelhouse",
                vec![
                    ("PIP_FIND_LINKS", "/deps/wheelhouse"),
                    ("PIP_NO_INDEX", "1"),
                ],
            ));
        }
        if let Some(p) = &self.go_modcache {
            v.push((
                p.clone(),
                "/deps/go-mod",
                vec![
                    ("GOMODCACHE", "/deps/go-mod"),
                    ("GOFLAGS", "-mod=readonly"),
                    ("GOPROXY", "off"),
                ],
            ));
        }
        v
    }

    fn host_paths(&self) -> Vec<&Path> {
        [&self.npm_cache, &self.go_modcache]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
            .chain(
                self.wheelhouse
                    .iter()
                    .filter(|_| self.wheelhouse_is_host)
                    .map(PathBuf::as_path),
            )
            .collect()
    }
}

/// The signing key must not sit under anything the sandbox sees.
fn check_secret_placement(
    req: &BuildRequest,
    roots: &[toolchain::ToolchainRoot],
    stores: &DepStores,
    source: &Path,
) -> Result<(), BuildError> {
    let Some(key) = &req.key_path else {
        return Ok(());
    };
    let key = fs::canonicalize(key).map_err(|e| BuildError::io("signing key", key, e))?;
    let mut visible: Vec<PathBuf> = roots
        .iter()
        .filter_map(|r| match r {
            toolchain::ToolchainRoot::Bind { path } => Some(PathBuf::from(path)),
            _ => None,
        })
        .collect();
    visible.push(source.to_path_buf());
    visible.extend(stores.host_paths().into_iter().map(Path::to_path_buf));
    if let Some(v) = visible.iter().find(|v| key.starts_with(v)) {
        return Err(BuildError::Sandbox(format!(
            "the signing key {} lies under {}, which the sandbox can read; move the key",
            key.display(),
            v.display()
        )));
    }
    Ok(())
}

fn check_deps(
    src: &Path,
    lockfiles: &[Lockfile],
    s: &DepStores,
) -> Result<Vec<ResolvedDep>, BuildError> {
    let mut out = Vec::new();
    for l in lockfiles {
        let found = match l.path.as_str() {
            "Cargo.lock" => deps::cargo::check(src, s.cargo_vendor.as_deref())?,
            "package-lock.json" => deps::npm::check(src, s.npm_cache.as_deref())?,
            "requirements.txt" => deps::pip::check_requirements(src, s.wheelhouse.as_deref())?,
            "uv.lock" => deps::pip::check_uv_lock(src, s.wheelhouse.as_deref())?,
            "go.sum" => deps::gosum::check(src, s.go_modcache.as_deref())?,
            _ => Vec::new(),
        };
        out.extend(found);
    }
    Ok(out)
}

fn load_config(
    req: &BuildRequest,
    root: &Path,
    copy: &Path,
) -> Result<(ConfigFile, Option<String>), BuildError> {
    match &req.config {
        Some(p) => {
            let abs = fs::canonicalize(p).map_err(|e| BuildError::Config {
                path: p.clone(),
                reason: format!("cannot read: {e}"),
            })?;
            // A config inside the source is read from the committed copy.
            match abs.strip_prefix(root) {
                Ok(rel) => Ok((
                    ConfigFile::load(&copy.join(rel))?,
                    Some(rel.display().to_string()),
                )),
                Err(_) => Ok((ConfigFile::load(&abs)?, Some(abs.display().to_string()))),
            }
        }
        None if copy.join("cairn.toml").is_file() => Ok((
            ConfigFile::load(&copy.join("cairn.toml"))?,
            Some("cairn.toml".into()),
        )),
        None => Ok((ConfigFile::default(), None)),
    }
}

/// Executed host paths that belong to the toolchain, with their manifest digests
/// (re-hashed now, so a file swapped during the build is caught).
fn executed_files(m: &Manifest, paths: &[String]) -> Result<Vec<(String, String)>, BuildError> {
    let mut out = BTreeMap::new();
    for p in paths {
        let Some(e) = m.resolve(p) else { continue };
        let Some(want) = &e.sha256 else { continue };
        let (d, _) = hash::sha256_file(Path::new(&e.path))
            .map_err(|err| BuildError::io("toolchain file", &e.path, err))?;
        let found = hex::encode(d);
        if &found != want {
            return Err(BuildError::InputChanged {
                what: "toolchain file",
                path: e.path.clone(),
                expected: want.clone(),
                found,
            });
        }
        out.insert(e.path.clone(), found);
    }
    Ok(out.into_iter().collect())
}

fn os_release() -> Option<(String, String)> {
    let bytes = fs::read("/etc/os-release").ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let pretty = text
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default();
    Some((pretty, hash::sha256_hex(&bytes)))
}

fn log_tail(p: &Path, n: usize) -> String {
    let text = fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).to_string())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn write_file(p: &Path, body: &[u8], mode: u32) -> Result<(), BuildError> {
    fs::write(p, body).map_err(|e| BuildError::io("file", p, e))?;
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
        .map_err(|e| BuildError::io("file", p, e))
}

/// Writes `body` to `p` via a temp file in the same directory and a rename.
pub fn write_atomic(p: &Path, body: &[u8]) -> Result<(), BuildError> {
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| BuildError::io("bundle dir", dir, e))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| BuildError::io("bundle", dir, e))?;
    std::io::Write::write_all(&mut tmp, body)
        .map_err(|e| BuildError::io("bundle", tmp.path().to_path_buf(), e))?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(0o644))
        .map_err(|e| BuildError::io("bundle", p, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| BuildError::io("bundle", p, e))?;
    tmp.persist(p)
        .map_err(|e| BuildError::io("bundle", p, e.error))?;
    Ok(())
}

/// A random (v4) UUID from the system RNG.
fn new_uuid() -> String {
    let mut b = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        b = hash::sha256(
            format!("{:?}{}", std::time::SystemTime::now(), std::process::id()).as_bytes(),
        )[..16]
            .try_into()
            .unwrap_or([0; 16]);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
