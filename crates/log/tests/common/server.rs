//! Starts real `cairn-log-server` processes on loopback with a free port.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use cairn_formats::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use cairn_log::note::{Signer, TYPE_ED25519};
use cairn_sign::{Algorithm, PrivateKey};

pub const ORIGIN: &str = "test.example/log";

pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    /// Starts the server and waits for its `listening on` line.
    pub fn start(dir: &Path, key: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cairn-log-server"))
            .args([
                "--dir",
                dir.to_str().unwrap(),
                "--key",
                key.to_str().unwrap(),
                "--origin",
                ORIGIN,
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn cairn-log-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("server said {line:?}"))
            .to_string();
        Server {
            child,
            url: format!("http://{addr}"),
        }
    }

    /// SIGKILL, no chance to flush anything.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A log key file and its verifier, and a builder key (private + public PEM file).
pub struct Keys {
    pub log_key: PathBuf,
    pub log: Signer,
    pub builder: PrivateKey,
    pub builder_pub: PathBuf,
}

pub fn keys(dir: &Path) -> Keys {
    let log = Signer::generate(ORIGIN, TYPE_ED25519).unwrap();
    let log_key = dir.join("log.key");
    cairn_log::fsutil::create_secret(&log_key, log.to_skey().as_bytes()).unwrap();
    let builder = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let builder_pub = dir.join("builder.pub");
    std::fs::write(&builder_pub, builder.public_key().to_pem()).unwrap();
    Keys {
        log_key,
        log,
        builder,
        builder_pub,
    }
}

pub fn envelope(key: &PrivateKey, payload: &str) -> Envelope {
    cairn_sign::dsse::sign_envelope(IN_TOTO_PAYLOAD_TYPE, payload.as_bytes(), &[key]).unwrap()
}
