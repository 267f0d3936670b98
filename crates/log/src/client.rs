//! Blocking HTTP client for a cairn log (or any tlog-tiles log for the read side):
//! submit envelopes, fetch checkpoints and tiles.

use std::time::Duration;

use cairn_formats::dsse::Envelope;

use crate::receipt::{parse_receipt, Receipt};
use crate::tiles::{self, TileId, TILE_WIDTH};

/// Largest response read: a full entry bundle of maximal entries.
const MAX_RESPONSE: u64 = 17 << 20;
/// Submissions wait for integration; allow well over the default interval.
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url}: unexpected response: {reason}")]
    BadResponse { url: String, reason: String },
    #[error("log URL {0:?} must start with http:// or https://")]
    BadUrl(String),
}

impl ClientError {
    /// HTTP 404 (a tile or checkpoint that does not exist).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::Status { status: 404, .. })
    }
}

/// A log at a URL prefix, e.g. `http://127.0.0.1:8080` or `https://log.example/a/`.
pub struct LogClient {
    base: String,
    agent: ureq::Agent,
}

pub(crate) fn agent() -> ureq::Agent {
    // One TLS backend for the whole program; a second install attempt is harmless.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .build();
    ureq::Agent::new_with_config(config)
}

impl LogClient {
    pub fn new(url: &str) -> Result<Self, ClientError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ClientError::BadUrl(url.to_string()));
        }
        Ok(LogClient {
            base: url.trim_end_matches('/').to_string(),
            agent: agent(),
        })
    }

    pub fn url(&self, rel: &str) -> String {
        format!("{}/{rel}", self.base)
    }

    fn read(
        url: &str,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Vec<u8>, ClientError> {
        let mut resp = resp.map_err(|e| ClientError::Transport {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE)
            .read_to_vec()
            .map_err(|e| ClientError::Transport {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        if status != 200 {
            return Err(ClientError::Status {
                url: url.to_string(),
                status,
                body: String::from_utf8_lossy(&body).chars().take(500).collect(),
            });
        }
        Ok(body)
    }

    pub fn get(&self, rel: &str) -> Result<Vec<u8>, ClientError> {
        let url = self.url(rel);
        Self::read(&url, self.agent.get(&url).call())
    }

    pub fn post(&self, rel: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, ClientError> {
        let url = self.url(rel);
        Self::read(
            &url,
            self.agent
                .post(&url)
                .header("Content-Type", content_type)
                .send(body),
        )
    }

    /// Submits one DSSE envelope to `POST /add` and parses the receipt.
    pub fn submit_envelope(&self, env: &Envelope) -> Result<Receipt, ClientError> {
        let json = env.to_json();
        // Submitting is idempotent (the log returns the existing index for a duplicate), so
        // one retry covers a pooled connection the server had already closed.
        let body = match self.post("add", "application/json", json.as_bytes()) {
            Err(ClientError::Transport { .. }) => {
                self.post("add", "application/json", json.as_bytes())?
            }
            other => other?,
        };
        let url = self.url("add");
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| ClientError::BadResponse {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        parse_receipt(&value).map_err(|e| ClientError::BadResponse {
            url,
            reason: e.to_string(),
        })
    }

    pub fn checkpoint(&self) -> Result<Vec<u8>, ClientError> {
        self.get("checkpoint")
    }

    /// Fetches a tile. A partial that is gone (the log removes partials once the full tile
    /// exists) is cut from the full tile instead.
    pub fn tile(&self, id: &TileId) -> Result<Vec<u8>, ClientError> {
        match self.get(&id.path()) {
            Err(e) if e.is_not_found() && !id.is_full() => {
                let full = self.get(&id.full().path())?;
                let width = usize::from(id.width);
                match id.level {
                    Some(_) => full.get(..width * 32).map(<[u8]>::to_vec).ok_or_else(|| {
                        ClientError::BadResponse {
                            url: self.url(&id.full().path()),
                            reason: "full tile shorter than the partial".into(),
                        }
                    }),
                    None => {
                        let entries = tiles::decode_bundle(&id.full(), &full).map_err(|e| {
                            ClientError::BadResponse {
                                url: self.url(&id.full().path()),
                                reason: e.to_string(),
                            }
                        })?;
                        tiles::encode_bundle(&entries[..width.min(TILE_WIDTH as usize)]).map_err(
                            |e| ClientError::BadResponse {
                                url: self.url(&id.path()),
                                reason: e.to_string(),
                            },
                        )
                    }
                }
            }
            other => other,
        }
    }
}

/// Submits an envelope to the log at `url` and returns its receipt (for `cairn build --log`
/// and `cairn log submit`). Blocks until the entry is integrated and durable.
pub fn submit(url: &str, env: &Envelope) -> Result<Receipt, ClientError> {
    LogClient::new(url)?.submit_envelope(env)
}

/// Submits every envelope of `bundle` and appends each receipt to its attestation's
/// `log_receipts` (for `cairn build --log`). On error, receipts already obtained stay in
/// the bundle; nothing is written anywhere.
pub fn submit_bundle(
    url: &str,
    bundle: &mut cairn_formats::bundle::Bundle,
) -> Result<Vec<Receipt>, ClientError> {
    let client = LogClient::new(url)?;
    let mut out = Vec::with_capacity(bundle.attestations.len());
    for att in &mut bundle.attestations {
        let r = client.submit_envelope(&att.envelope)?;
        att.log_receipts.push(r.to_value());
        out.push(r);
    }
    Ok(out)
}
