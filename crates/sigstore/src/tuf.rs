//! `cairn trust-root update`: refresh a trusted root through TUF. The only network code
//! in cairn. The new `trusted_root.json` is written (atomically) only after the TUF
//! client has verified the whole metadata chain from the embedded TUF root; on any
//! failure nothing is written.

use std::path::{Path, PathBuf};

use sigstore_verify::trust_root::{TrustedRoot, TufBootstrap, TufConfig};

use crate::trust::{updated_root_path, Instance};

#[derive(Debug, thiserror::Error)]
pub enum TufError {
    #[error("TUF refresh of {instance} from {url} failed: {reason}")]
    Refresh {
        instance: &'static str,
        url: String,
        reason: String,
    },
    #[error("writing {path}: {reason}")]
    Write { path: String, reason: String },
}

/// Where the refreshed root came from and where it went.
#[derive(Debug, Clone)]
pub struct Updated {
    pub path: PathBuf,
    pub url: String,
    pub certificate_authorities: usize,
    pub tlogs: usize,
    pub timestamp_authorities: usize,
}

/// Refreshes `instance`'s trusted root from its TUF repository (or `mirror`, a URL serving
/// the same repository) and stores it under `dir`, where verification then prefers it to
/// the embedded snapshot.
pub fn update(instance: Instance, dir: &Path, mirror: Option<&str>) -> Result<Updated, TufError> {
    let backend = instance.backend();
    let url = mirror.unwrap_or(backend.tuf_url()).to_string();
    let refresh_err = |reason: String| TufError::Refresh {
        instance: instance.name(),
        url: url.clone(),
        reason,
    };
    // No cache: a failed refresh must leave nothing behind.
    let config =
        TufConfig::custom(url.clone(), TufBootstrap::trusted(backend.tuf_root())).without_cache();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| refresh_err(e.to_string()))?;
    let root: TrustedRoot = runtime
        .block_on(TrustedRoot::from_tuf(config))
        .map_err(|e| refresh_err(e.to_string()))?;
    let json = serde_json::to_string_pretty(&root).map_err(|e| refresh_err(e.to_string()))?;

    let path = updated_root_path(dir, instance);
    let write_err = |reason: String| TufError::Write {
        path: path.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| write_err(e.to_string()))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).map_err(|e| write_err(e.to_string()))?;
    std::fs::rename(&tmp, &path).map_err(|e| write_err(e.to_string()))?;
    Ok(Updated {
        path,
        url,
        certificate_authorities: root.certificate_authorities.len(),
        tlogs: root.tlogs.len(),
        timestamp_authorities: root.timestamp_authorities.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A loopback "mirror" that answers every request with 404, as a TUF repository with
    /// no metadata would.
    fn empty_mirror() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        format!("http://{addr}/")
    }

    #[test]
    fn refresh_from_a_mirror_without_metadata_fails_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("trust");
        let err = update(Instance::PublicGood, &target, Some(&empty_mirror())).unwrap_err();
        match &err {
            TufError::Refresh { instance, url, .. } => {
                assert_eq!(*instance, "sigstore-public-good");
                assert!(url.starts_with("http://127.0.0.1:"));
            }
            other => panic!("unexpected {other}"),
        }
        assert!(
            !target.exists(),
            "a failed refresh created {}",
            target.display()
        );
    }

    #[test]
    fn refresh_without_a_reachable_server_fails_cleanly() {
        // Bind then drop: the port is (almost certainly) closed.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let err = update(
            Instance::GitHub,
            dir.path(),
            Some(&format!("http://127.0.0.1:{port}/")),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                TufError::Refresh {
                    instance: "github",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
