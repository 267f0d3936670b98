//! Test support: real swtpm instances manufactured by `swtpm_setup --create-ek-cert` with
//! a private local CA (the test "manufacturer"), each on free loopback ports in its own
//! state directory, killed on drop.

#![allow(dead_code)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use cairn_formats::provenance::SLSA_PROVENANCE_V1;
use cairn_formats::{Envelope, Limits, Statement};
use cairn_sign::{Algorithm, PrivateKey};
use tempfile::TempDir;

/// One manufacturer: a local CA and a TPM state manufactured with it.
pub struct Manufacturer {
    pub dir: TempDir,
    pub state: PathBuf,
    pub root_pem: PathBuf,
    pub issuer_pem: PathBuf,
}

impl Manufacturer {
    /// Runs `swtpm_setup` once with a freshly generated local CA.
    pub fn new() -> Manufacturer {
        let dir = tempfile::tempdir().unwrap();
        let w = dir.path();
        let state = w.join("state");
        let ca = w.join("localca");
        std::fs::create_dir_all(&state).unwrap();
        std::fs::create_dir_all(&ca).unwrap();
        std::fs::write(
            w.join("swtpm-localca.conf"),
            format!(
                "statedir = {ca}\nsigningkey = {ca}/signkey.pem\nissuercert = {ca}/issuercert.pem\ncertserial = {ca}/certserial\n",
                ca = ca.display()
            ),
        )
        .unwrap();
        std::fs::write(
            w.join("swtpm-localca.options"),
            "--platform-manufacturer Test\n--platform-version 2.1\n--platform-model swtpm\n",
        )
        .unwrap();
        let localca = which("swtpm_localca");
        std::fs::write(
            w.join("swtpm_setup.conf"),
            format!(
                "create_certs_tool = {localca}\ncreate_certs_tool_config = {w}/swtpm-localca.conf\ncreate_certs_tool_options = {w}/swtpm-localca.options\nactive_pcr_banks = sha256\n",
                w = w.display()
            ),
        )
        .unwrap();
        let out = Command::new("swtpm_setup")
            .args(["--tpm2", "--tpmstate"])
            .arg(&state)
            .arg("--config")
            .arg(w.join("swtpm_setup.conf"))
            .args(["--create-ek-cert", "--lock-nvram", "--pcr-banks", "sha256"])
            .output()
            .expect("swtpm_setup runs (install swtpm swtpm-tools: scripts/setup-tpm.sh)");
        assert!(
            out.status.success(),
            "swtpm_setup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Manufacturer {
            root_pem: ca.join("swtpm-localca-rootca-cert.pem"),
            issuer_pem: ca.join("issuercert.pem"),
            state,
            dir,
        }
    }

    /// Both CA certificates (root and intermediate), DER, as `--ek-ca` gives them.
    pub fn ca_certs(&self) -> Vec<Vec<u8>> {
        let mut out =
            cairn_evidence::ekcert::certs_from_pem(&std::fs::read(&self.root_pem).unwrap())
                .unwrap();
        out.extend(
            cairn_evidence::ekcert::certs_from_pem(&std::fs::read(&self.issuer_pem).unwrap())
                .unwrap(),
        );
        out
    }

    pub fn root_der(&self) -> Vec<u8> {
        cairn_evidence::ekcert::certs_from_pem(&std::fs::read(&self.root_pem).unwrap())
            .unwrap()
            .remove(0)
    }

    /// Manufactures a second TPM with this same CA (a distinct EK and EK certificate).
    pub fn another_tpm_state(&self) -> PathBuf {
        let state = self.dir.path().join(format!("state-{}", rand_suffix()));
        std::fs::create_dir_all(&state).unwrap();
        let out = Command::new("swtpm_setup")
            .args(["--tpm2", "--tpmstate"])
            .arg(&state)
            .arg("--config")
            .arg(self.dir.path().join("swtpm_setup.conf"))
            .args(["--create-ek-cert", "--lock-nvram", "--pcr-banks", "sha256"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "swtpm_setup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        state
    }
}

fn rand_suffix() -> String {
    let mut b = [0u8; 6];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .unwrap();
    hex::encode(b)
}

fn which(name: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        !s.is_empty(),
        "{name} is not installed (run scripts/setup-tpm.sh)"
    );
    s
}

/// The manufacturer shared by every test in this binary: `swtpm_setup` runs once.
pub fn manufacturer() -> &'static Manufacturer {
    static M: OnceLock<Manufacturer> = OnceLock::new();
    M.get_or_init(Manufacturer::new)
}

/// A free port P whose neighbour P+1 is free too: the libtss2 swtpm TCTI always finds
/// the control channel at P+1.
/// Ports already handed out in this process are never handed out again, so parallel
/// tests cannot race for the same pair.
fn free_port_pair() -> u16 {
    static TAKEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let p = a.local_addr().unwrap().port();
        let mut taken = TAKEN.lock().unwrap();
        if p < u16::MAX - 1
            && !taken.iter().any(|t| *t == p || *t == p + 1 || *t + 1 == p)
            && TcpListener::bind(("127.0.0.1", p + 1)).is_ok()
        {
            taken.push(p);
            return p;
        }
    }
}

/// A running swtpm on a copy of a manufactured state.
pub struct Swtpm {
    child: Child,
    _dir: TempDir,
    pub port: u16,
}

impl Swtpm {
    pub fn start(state: &Path) -> Swtpm {
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(state).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() && entry.file_name() != ".lock" {
                std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
            }
        }
        let port = free_port_pair();
        let ctrl = port + 1;
        let child = Command::new("swtpm")
            .args(["socket", "--tpm2", "--tpmstate"])
            .arg(format!("dir={}", dir.path().display()))
            .arg("--server")
            .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
            .arg("--ctrl")
            .arg(format!("type=tcp,port={ctrl},bindaddr=127.0.0.1"))
            .args(["--flags", "not-need-init,startup-clear"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("swtpm starts");
        let mut s = Swtpm {
            child,
            _dir: dir,
            port,
        };
        // Wait until the server socket accepts; a dead swtpm fails the test instead.
        loop {
            if let Some(status) = s.child.try_wait().unwrap() {
                panic!("swtpm exited early: {status}");
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        s
    }

    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a tpm2-tools command against `tpm`, failing the test with its stderr.
pub fn tpm2(tpm: &Swtpm, args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(args[0])
        .args(&args[1..])
        .env("TPM2TOOLS_TCTI", tpm.tcti())
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// A signed SLSA v1 provenance envelope that claims TPM evidence.
pub fn signed_provenance(builder_key: &PrivateKey, output_digest: &str) -> (Envelope, Statement) {
    let doc = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "hello", "digest": {"sha256": output_digest}}],
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": "https://cairn.dev/build/v1",
                "externalParameters": {"command": ["make"]},
                "internalParameters": {
                    "sandboxPolicyDigest": format!("sha256:{}", "bb".repeat(32)),
                    "toolchainManifestDigest": format!("sha256:{}", "dd".repeat(32)),
                    "hardwareEvidence": ["tpm2-quote"]
                },
                "resolvedDependencies": [
                    {"uri": "pkg:cargo/serde@1.0.0", "digest": {"sha256": "cc".repeat(32)}, "annotations": {"kind": "package"}},
                    {"name": "toolchain-manifest", "digest": {"sha256": "dd".repeat(32)}, "annotations": {"kind": "toolchain-manifest"}}
                ]
            },
            "runDetails": {"builder": {
                "id": "https://cairn.dev/builder@v1",
                "version": {"cairn": "0.1.0"},
                "builderDependencies": [{"name": "cairn", "digest": {"sha256": "ee".repeat(32)}, "annotations": {"kind": "builder-binary"}}]
            }}
        }
    });
    let payload = doc.to_string().into_bytes();
    let env = cairn_sign::dsse::sign_envelope(
        cairn_formats::dsse::IN_TOTO_PAYLOAD_TYPE,
        &payload,
        &[builder_key],
    )
    .unwrap();
    let st = Statement::parse(&payload, &Limits::default()).unwrap();
    (env, st)
}

pub fn key() -> PrivateKey {
    PrivateKey::generate(Algorithm::EcdsaP256).unwrap()
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::File::create(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}
