//! `cairn log witness`: a C2SP tlog-witness server. `POST /add-checkpoint` takes
//!
//! ```text
//! old <size>\n
//! <base64 consistency proof hash>\n   (0 to 63 lines)
//! \n
//! <signed checkpoint>
//! ```
//!
//! and answers with cosignature/v1 lines once the checkpoint is signed by a known log,
//! extends the last one seen for that origin, and the new state is durable. Errors: 404
//! unknown origin, 403 bad log signature, 400 malformed or old > new, 409 wrong old size
//! (body: the witness's size, `text/x.tlog.size`), 422 bad proof.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::merkle;
use crate::note::{Note, Signer, Verifier};

/// Largest request accepted.
const MAX_REQUEST: usize = 1 << 20;
/// Most proof lines (a 2^64 tree needs at most 63 past the implicit one).
const MAX_PROOF_LINES: usize = 63;

/// Per origin, the latest checkpoint cosigned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessState {
    pub logs: BTreeMap<String, LogState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogState {
    pub size: u64,
    /// Base64 root hash.
    pub root: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("witness state {path}: {reason}")]
    State { path: String, reason: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

struct Witness {
    signer: Signer,
    logs: Vec<Verifier>,
    state_path: PathBuf,
    state: Mutex<WitnessState>,
}

pub fn load_state(path: &Path) -> Result<WitnessState, WitnessError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| WitnessError::State {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(WitnessState::default()),
        Err(e) => Err(WitnessError::State {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// Binds `listen` and serves until killed; prints `listening on <addr>` when ready.
pub fn run(
    signer: Signer,
    logs: Vec<Verifier>,
    state_path: &Path,
    listen: &str,
) -> Result<(), WitnessError> {
    let listener = std::net::TcpListener::bind(listen)?;
    println!("listening on {}", listener.local_addr()?);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    run_on(signer, logs, state_path, listener)
}

/// Serves on an already-bound listener until the process ends.
pub fn run_on(
    signer: Signer,
    logs: Vec<Verifier>,
    state_path: &Path,
    listener: std::net::TcpListener,
) -> Result<(), WitnessError> {
    let state = load_state(state_path)?;
    let w = Arc::new(Witness {
        signer,
        logs,
        state_path: state_path.to_path_buf(),
        state: Mutex::new(state),
    });
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let router = Router::new()
            .route("/add-checkpoint", post(add_checkpoint))
            .layer(DefaultBodyLimit::max(MAX_REQUEST))
            .with_state(w);
        axum::serve(listener, router).await
    })?;
    Ok(())
}

fn reply(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut m = msg.into();
    m.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        m,
    )
        .into_response()
}

/// The parsed request.
struct AddCheckpoint {
    old: u64,
    proof: Vec<Vec<u8>>,
    note: Vec<u8>,
}

fn parse_request(body: &[u8]) -> Result<AddCheckpoint, String> {
    let text = std::str::from_utf8(body).map_err(|_| "request is not UTF-8".to_string())?;
    let (head, note) = text
        .split_once("\n\n")
        .ok_or("request needs a blank line before the checkpoint")?;
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .filter(|n| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n.len() == 1 || !n.starts_with('0'))
        })
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or("first line must be `old <size>`")?;
    let mut proof = Vec::new();
    for l in lines {
        if proof.len() == MAX_PROOF_LINES {
            return Err(format!("more than {MAX_PROOF_LINES} proof lines"));
        }
        proof.push(
            STANDARD
                .decode(l)
                .map_err(|_| format!("proof line {l:?} is not base64"))?,
        );
    }
    Ok(AddCheckpoint {
        old,
        proof,
        note: note.as_bytes().to_vec(),
    })
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
    let w2 = w.clone();
    // Signature checks and the durable state write block; keep them off the reactor.
    match tokio::task::spawn_blocking(move || handle(&w2, &body)).await {
        Ok(r) => r,
        Err(_) => reply(StatusCode::INTERNAL_SERVER_ERROR, "witness worker failed"),
    }
}

fn handle(w: &Witness, body: &[u8]) -> Response {
    let req = match parse_request(body) {
        Ok(r) => r,
        Err(e) => return reply(StatusCode::BAD_REQUEST, e),
    };
    let note = match Note::parse(&req.note) {
        Ok(n) => n,
        Err(e) => return reply(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let cp = match Checkpoint::parse_body(&note.text) {
        Ok(c) => c,
        Err(e) => return reply(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let keys: Vec<Verifier> = w
        .logs
        .iter()
        .filter(|k| k.name() == cp.origin)
        .cloned()
        .collect();
    if keys.is_empty() {
        return reply(
            StatusCode::NOT_FOUND,
            format!("unknown log origin {:?}", cp.origin),
        );
    }
    if let Err(e) = note.verify(&keys) {
        return reply(
            StatusCode::FORBIDDEN,
            format!("checkpoint not signed by the log: {e}"),
        );
    }
    if req.old > cp.size {
        return reply(
            StatusCode::BAD_REQUEST,
            format!(
                "old size {} is larger than the checkpoint's {}",
                req.old, cp.size
            ),
        );
    }
    // One request at a time per witness: check-then-persist must not interleave.
    let mut state = match w.state.lock() {
        Ok(s) => s,
        Err(_) => return reply(StatusCode::INTERNAL_SERVER_ERROR, "state lock poisoned"),
    };
    let known = state.logs.get(&cp.origin).cloned();
    let known_size = known.as_ref().map_or(0, |k| k.size);
    if req.old != known_size {
        return (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{known_size}\n"),
        )
            .into_response();
    }
    if let Some(k) = &known {
        let root = STANDARD.decode(&k.root).unwrap_or_default();
        if k.size > 0 {
            if let Err(e) = merkle::verify_consistency(k.size, cp.size, &req.proof, &root, &cp.root)
            {
                return reply(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("consistency proof from {} to {}: {e}", k.size, cp.size),
                );
            }
        }
    } else if !req.proof.is_empty() {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no proof is needed from size 0",
        );
    }
    let mut next = state.clone();
    next.logs.insert(
        cp.origin.clone(),
        LogState {
            size: cp.size,
            root: STANDARD.encode(cp.root),
        },
    );
    let json = match serde_json::to_vec_pretty(&next) {
        Ok(j) => j,
        Err(e) => return reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    if let Err(e) = crate::fsutil::write_durable(&w.state_path, &json, 0o600) {
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("persisting witness state: {e}"),
        );
    }
    *state = next;
    drop(state);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let line = match w.signer.cosign(&note.text, now) {
        Ok(sig) => sig.to_line(),
        Err(e) => return reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        line,
    )
        .into_response()
}

/// Client side: asks a witness to cosign `checkpoint` (signed note text), proving
/// consistency from the witness's last size with `prove(old) -> proof`. Retries once on
/// 409 with the size the witness reports. Returns the cosignature lines.
pub fn request_cosignature(
    witness_url: &str,
    checkpoint: &str,
    mut old: u64,
    mut prove: impl FnMut(u64) -> Result<Vec<merkle::Hash>, String>,
) -> Result<String, String> {
    let client = crate::client::LogClient::new(witness_url).map_err(|e| e.to_string())?;
    for _ in 0..2 {
        let mut body = format!("old {old}\n");
        for h in prove(old)? {
            body.push_str(&STANDARD.encode(h));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(checkpoint);
        match client.post("add-checkpoint", "text/plain", body.as_bytes()) {
            Ok(b) => {
                return String::from_utf8(b).map_err(|_| "witness reply is not UTF-8".to_string())
            }
            Err(crate::client::ClientError::Status {
                status: 409, body, ..
            }) => {
                old = body
                    .trim()
                    .parse()
                    .map_err(|_| format!("witness sent a bad size {body:?}"))?;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("witness kept reporting a different size".into())
}
