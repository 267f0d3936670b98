//! `cairn log serve`: the tlog-tiles read API from the log directory, and `POST /add`.
//!
//! Admission (size limit, parse, DSSE signature check) runs in the HTTP handlers; one
//! sequencer thread owns the [`Store`], integrates what arrived every `interval`, and
//! answers each submitter with a receipt only once its batch is durable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cairn_formats::bundle::BundleInput;
use cairn_formats::dsse::Envelope;
use cairn_formats::json::Limits;
use cairn_sign::PublicKey;
use tokio::sync::{mpsc, oneshot};

use crate::dedup::DedupIndex;
use crate::entry::entry_for_envelope;
use crate::merkle::leaf_hash;
use crate::note::Signer;
use crate::receipt::{Receipt, RECEIPT_KIND};
use crate::store::{Store, StoreError};
use crate::tiles::{level_count, TileId, TILE_WIDTH};

/// Default integration interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);
/// Default `POST /add` body limit: envelopes travel whole for the signature check.
pub const DEFAULT_MAX_BODY: usize = 16 << 20;
/// Default dedup memory: this many recent entries.
pub const DEFAULT_DEDUP_CAPACITY: usize = 1 << 20;
/// Most entries integrated in one batch; more wait for the next one.
pub const MAX_BATCH: usize = 1 << 16;

pub struct ServeConfig {
    pub dir: PathBuf,
    pub signer: Signer,
    /// Optional ML-DSA-44 (0x06) key for a second, post-quantum checkpoint signature.
    pub pq_signer: Option<Signer>,
    pub origin: String,
    /// Builder keys whose DSSE signatures admit an envelope.
    pub trust_keys: Vec<PublicKey>,
    pub accept_unverified: bool,
    pub interval: Duration,
    pub max_body: usize,
    pub dedup_capacity: usize,
    /// Witness URLs (C2SP tlog-witness) asked to cosign every new checkpoint before it
    /// is published; a witness that fails is skipped (its line is missing).
    pub witnesses: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("opening the log: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Config(String),
}

/// One admitted entry waiting for integration.
struct Job {
    entry: Vec<u8>,
    /// When the handler queued it: a job waits at most one interval from here.
    arrived: Instant,
    reply: oneshot::Sender<Result<Receipt, String>>,
}

/// What the read side may serve: the latest durable checkpoint.
struct Published {
    size: u64,
    checkpoint: String,
}

struct App {
    dir: PathBuf,
    trust_keys: Vec<PublicKey>,
    accept_unverified: bool,
    max_body: usize,
    jobs: mpsc::Sender<Job>,
    published: Arc<RwLock<Published>>,
}

/// Opens the log, binds `listen` and serves until the process is killed. Prints
/// `listening on <addr>` on stdout once ready (tests bind port 0 and read it).
pub fn run(cfg: ServeConfig, listen: &str) -> Result<(), ServeError> {
    if cfg.trust_keys.is_empty() && !cfg.accept_unverified {
        return Err(ServeError::Config(
            "give at least one --trust-key, or --accept-unverified".into(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        serve(cfg, listener).await
    })
}

/// Serves on an already-bound listener.
pub async fn serve(cfg: ServeConfig, listener: tokio::net::TcpListener) -> Result<(), ServeError> {
    let mut store = Store::open(&cfg.dir, cfg.signer, &cfg.origin)?;
    if let Some(pq) = cfg.pq_signer {
        store.set_post_quantum_signer(pq)?;
    }
    let mut dedup = DedupIndex::new(cfg.dedup_capacity);
    let start = store.size().saturating_sub(dedup.window() as u64);
    let size = store.size();
    for (i, e) in store.entries(start, size)?.iter().enumerate() {
        dedup.insert(&leaf_hash(e), start + i as u64);
    }
    let published = Arc::new(RwLock::new(Published {
        size: store.size(),
        checkpoint: store.checkpoint().to_string(),
    }));
    let (tx, rx) = mpsc::channel::<Job>(MAX_BATCH * 2);
    let seq_published = published.clone();
    let interval = cfg.interval;
    let witnesses: Vec<WitnessLink> = cfg
        .witnesses
        .iter()
        .map(|u| WitnessLink {
            url: u.clone(),
            size: 0,
        })
        .collect();
    std::thread::Builder::new()
        .name("cairn-log-sequencer".into())
        .spawn(move || sequencer(store, dedup, witnesses, rx, interval, seq_published))?;
    if cfg.accept_unverified {
        for _ in 0..3 {
            eprintln!("WARNING: --accept-unverified: this log admits ANY well-formed DSSE envelope WITHOUT checking its signatures.");
        }
    }
    let app = Arc::new(App {
        dir: cfg.dir.clone(),
        trust_keys: cfg.trust_keys,
        accept_unverified: cfg.accept_unverified,
        max_body: cfg.max_body,
        jobs: tx,
        published,
    });
    let router = Router::new()
        .route("/add", post(add))
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .layer(DefaultBodyLimit::max(cfg.max_body))
        .with_state(app);
    let addr: SocketAddr = listener.local_addr()?;
    println!("listening on {addr}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    axum::serve(listener, router).await?;
    Ok(())
}

/// A witness and the tree size it last cosigned for us.
struct WitnessLink {
    url: String,
    size: u64,
}

/// Asks every witness to cosign the store's latest checkpoint and adds their lines.
fn collect_cosignatures(store: &mut Store, witnesses: &mut [WitnessLink]) {
    if witnesses.is_empty() {
        return;
    }
    let size = store.size();
    let checkpoint = store.checkpoint().to_string();
    let mut lines = String::new();
    for w in witnesses.iter_mut() {
        let mut nodes = store.nodes();
        let prove = |old: u64| {
            if old == 0 || old >= size {
                Ok(Vec::new())
            } else {
                nodes
                    .consistency_proof(old, size)
                    .map_err(|e| e.to_string())
            }
        };
        match crate::witness::request_cosignature(&w.url, &checkpoint, w.size, prove) {
            Ok(l) => {
                w.size = size;
                lines.push_str(&l);
            }
            Err(e) => eprintln!(
                "cairn log: witness {} did not cosign size {size}: {e}",
                w.url
            ),
        }
    }
    if !lines.is_empty() {
        if let Err(e) = store.add_cosignatures(&lines) {
            eprintln!("cairn log: could not add cosignatures: {e}");
        }
    }
}

fn sequencer(
    mut store: Store,
    mut dedup: DedupIndex,
    mut witnesses: Vec<WitnessLink>,
    mut rx: mpsc::Receiver<Job>,
    interval: Duration,
    published: Arc<RwLock<Published>>,
) {
    let mut carry: Vec<Job> = Vec::new();
    loop {
        if carry.is_empty() {
            let first = match rx.blocking_recv() {
                Some(j) => j,
                None => return,
            };
            // Gather until one interval after the oldest pending job arrived. Jobs that
            // queued during the previous integration have waited already, so under load
            // batches follow each other at the interval, not at interval + work.
            let deadline = first.arrived + interval;
            carry.push(first);
            let now = Instant::now();
            if deadline > now {
                std::thread::sleep(deadline - now);
            }
        }
        while carry.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => carry.push(j),
                Err(_) => break,
            }
        }
        let batch: Vec<Job> = carry.drain(..carry.len().min(MAX_BATCH)).collect();
        match integrate(&mut store, &mut dedup, &mut witnesses, batch) {
            Ok(()) => {
                if let Ok(mut p) = published.write() {
                    p.size = store.size();
                    p.checkpoint = store.checkpoint().to_string();
                }
            }
            Err(e) => {
                eprintln!("cairn log: integration failed: {e}; reopening the log from disk");
                let (dir, origin) = (store.dir().to_path_buf(), store.origin().to_string());
                let (signer, pq) = store.into_signers();
                let reopened = Store::open(&dir, signer, &origin).and_then(|mut s| {
                    if let Some(pq) = pq {
                        s.set_post_quantum_signer(pq)?;
                    }
                    Ok(s)
                });
                match reopened {
                    Ok(s) => store = s,
                    Err(e) => {
                        eprintln!(
                            "cairn log: cannot reopen the log: {e}; refusing further submissions"
                        );
                        return;
                    }
                }
            }
        }
    }
}

/// Appends the new entries of a batch and answers every job. Duplicates (in the batch or
/// remembered by the dedup index and confirmed against the stored entry) get the index
/// they already have.
fn integrate(
    store: &mut Store,
    dedup: &mut DedupIndex,
    witnesses: &mut [WitnessLink],
    batch: Vec<Job>,
) -> Result<(), StoreError> {
    let mut fresh: Vec<Vec<u8>> = Vec::new();
    let mut in_batch: std::collections::HashMap<Vec<u8>, u64> = std::collections::HashMap::new();
    let mut indexes = Vec::with_capacity(batch.len());
    let base = store.size();
    for job in &batch {
        if let Some(i) = in_batch.get(&job.entry) {
            indexes.push(*i);
            continue;
        }
        let leaf = leaf_hash(&job.entry);
        if let Some(i) = dedup.get(&leaf) {
            if store.entry(i).ok().as_deref() == Some(job.entry.as_slice()) {
                indexes.push(i);
                continue;
            }
        }
        let i = base + fresh.len() as u64;
        in_batch.insert(job.entry.clone(), i);
        fresh.push(job.entry.clone());
        indexes.push(i);
    }
    let result = if fresh.is_empty() {
        Ok(())
    } else {
        store.append(&fresh).map(|_| ())
    };
    if let Err(e) = result {
        for job in batch {
            let _ = job.reply.send(Err(format!("log storage failed: {e}")));
        }
        return Err(e);
    }
    for (k, e) in fresh.iter().enumerate() {
        dedup.insert(&leaf_hash(e), base + k as u64);
    }
    if !fresh.is_empty() {
        collect_cosignatures(store, witnesses);
    }
    let size = store.size();
    let checkpoint = store.checkpoint().to_string();
    let origin = store.origin().to_string();
    let mut nodes = store.nodes();
    for (job, index) in batch.into_iter().zip(indexes) {
        let reply = nodes.inclusion_proof(index, size).map(|proof| Receipt {
            kind: RECEIPT_KIND.to_string(),
            origin: origin.clone(),
            index,
            tree_size: size,
            entry: STANDARD.encode(&job.entry),
            proof: proof.iter().map(|h| STANDARD.encode(h)).collect(),
            checkpoint: checkpoint.clone(),
        });
        let _ = job.reply.send(reply.map_err(|e| e.to_string()));
    }
    Ok(())
}

fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut m = msg.into();
    m.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        m,
    )
        .into_response()
}

async fn add(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let limits = Limits {
        max_bytes: app.max_body as u64,
    };
    // Most submissions are bare envelopes: try the strict envelope parser first (one pass)
    // before the general detector, which parses several times to tell formats apart.
    if let Ok(env) = Envelope::parse(&body, &limits) {
        return admit(&app, vec![env], false).await;
    }
    let (envelopes, is_bundle): (Vec<Envelope>, bool) = match BundleInput::parse(&body, &limits) {
        Ok(BundleInput::Envelope(e)) => (vec![e], false),
        Ok(BundleInput::Cairn(b)) => (
            b.attestations.into_iter().map(|a| a.envelope).collect(),
            true,
        ),
        Ok(other) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!(
                    "POST /add takes a cairn bundle or a DSSE envelope, not a {}",
                    other.format_name()
                ),
            )
        }
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("unreadable submission: {e}"),
            )
        }
    };
    admit(&app, envelopes, is_bundle).await
}

/// Checks signatures, queues the entries and waits for their receipts.
async fn admit(app: &App, envelopes: Vec<Envelope>, is_bundle: bool) -> Response {
    if !app.accept_unverified {
        for (i, env) in envelopes.iter().enumerate() {
            if let Err(e) = cairn_sign::dsse::verify_envelope(env, &app.trust_keys, 1) {
                return text(
                    StatusCode::FORBIDDEN,
                    format!("envelope {i}: not signed by a trusted builder key: {e}"),
                );
            }
        }
    }
    let mut waits = Vec::with_capacity(envelopes.len());
    for env in &envelopes {
        let (reply, wait) = oneshot::channel();
        if app
            .jobs
            .send(Job {
                entry: entry_for_envelope(env),
                arrived: Instant::now(),
                reply,
            })
            .await
            .is_err()
        {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the log is not accepting submissions (sequencer stopped)",
            );
        }
        waits.push(wait);
    }
    let mut receipts = Vec::with_capacity(waits.len());
    for w in waits {
        match w.await {
            Ok(Ok(r)) => receipts.push(r),
            Ok(Err(e)) => return text(StatusCode::INTERNAL_SERVER_ERROR, e),
            Err(_) => {
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the log stopped before integrating the entry",
                )
            }
        }
    }
    let json = if is_bundle {
        serde_json::json!({ "receipts": receipts })
    } else {
        receipts.pop().map(|r| r.to_value()).unwrap_or_default()
    };
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        json.to_string(),
    )
        .into_response();
    if app.accept_unverified {
        resp.headers_mut().insert(
            "x-cairn-log-warning",
            HeaderValue::from_static("this log admits envelopes without checking signatures"),
        );
    }
    resp
}

async fn checkpoint(State(app): State<Arc<App>>) -> Response {
    let cp = match app.published.read() {
        Ok(p) => p.checkpoint.clone(),
        Err(_) => return text(StatusCode::INTERNAL_SERVER_ERROR, "state lock poisoned"),
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        cp,
    )
        .into_response()
}

async fn tile(State(app): State<Arc<App>>, UrlPath(path): UrlPath<String>) -> Response {
    let rel = format!("tile/{path}");
    let id = match TileId::parse_path(&rel) {
        Ok(id) => id,
        Err(e) => return text(StatusCode::NOT_FOUND, e.to_string()),
    };
    let size = match app.published.read() {
        Ok(p) => p.size,
        Err(_) => return text(StatusCode::INTERNAL_SERVER_ERROR, "state lock poisoned"),
    };
    // Never serve what no published checkpoint covers (a crashed batch may have left it).
    let available = match id.level {
        Some(l) => level_count(l, size),
        None => size,
    };
    if id.index * TILE_WIDTH + u64::from(id.width) > available {
        return text(StatusCode::NOT_FOUND, "beyond the published tree");
    }
    match tokio::fs::read(app.dir.join(&rel)).await {
        Ok(bytes) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => text(StatusCode::NOT_FOUND, "no such tile"),
    }
}
