//! `cairn log monitor`: an auditor that keeps the last checkpoint it accepted and, on each
//! run, fetches the log's new checkpoint and tiles and checks that
//!
//! - the checkpoint is signed by the log key and has not shrunk;
//! - every full tile hashes to its entry in the tile above, and every entry bundle hashes
//!   to the leaf hashes of its tile (from the last audited size on);
//! - the root recomputed from the tiles equals the signed root;
//! - the root of the previously accepted size, recomputed from the same tiles, equals the
//!   root accepted then (the new tree extends the old one: no rewrite, no split view).
//!
//! The state file is replaced atomically and only after a clean audit.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, Checkpoint};
use crate::client::{ClientError, LogClient};
use crate::merkle::{self, leaf_hash, root_of_leaves, Hash};
use crate::note::Verifier;
use crate::tiles::{self, level_count, tiles_for_size, TileError, TileId, TileNodes, TILE_WIDTH};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorState {
    pub origin: String,
    pub size: u64,
    /// Base64 root hash.
    pub root: String,
    /// The checkpoint text last accepted.
    pub checkpoint: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The log misbehaved: a rewrite, a split view, a rollback or a bad signature.
    #[error("ALERT: {0}")]
    Alert(String),
    #[error(transparent)]
    Fetch(#[from] ClientError),
    #[error("monitor state {path}: {reason}")]
    State { path: String, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorReport {
    pub origin: String,
    pub old_size: Option<u64>,
    pub new_size: u64,
    pub tiles_checked: usize,
    pub entries_checked: u64,
}

fn alert(msg: impl Into<String>) -> MonitorError {
    MonitorError::Alert(msg.into())
}

impl From<TileError> for MonitorError {
    fn from(e: TileError) -> Self {
        alert(format!("malformed tile: {e}"))
    }
}

fn decode_root(s: &str) -> Option<Hash> {
    STANDARD.decode(s).ok()?.try_into().ok()
}

/// Runs one audit round against the log at `url`.
pub fn monitor(
    url: &str,
    state_path: &Path,
    log_keys: &[Verifier],
) -> Result<MonitorReport, MonitorError> {
    let client = LogClient::new(url)?;
    let state_err = |reason: String| MonitorError::State {
        path: state_path.display().to_string(),
        reason,
    };
    let old: Option<MonitorState> = match std::fs::read(state_path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| state_err(e.to_string()))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(state_err(e.to_string())),
    };
    let old_root = match &old {
        Some(s) => Some(
            decode_root(&s.root).ok_or_else(|| state_err("root is not a base64 hash".into()))?,
        ),
        None => None,
    };
    let text = client.checkpoint()?;
    let signed = checkpoint::open(&text, log_keys)
        .map_err(|e| alert(format!("checkpoint at {url}: {e}")))?;
    let cp: Checkpoint = signed.checkpoint;
    if let Some(s) = &old {
        if s.origin != cp.origin {
            return Err(alert(format!(
                "origin changed from {:?} to {:?}",
                s.origin, cp.origin
            )));
        }
        if cp.size < s.size {
            return Err(alert(format!(
                "log shrank from {} to {} entries (rollback)",
                s.size, cp.size
            )));
        }
    }
    let from = old.as_ref().map_or(0, |s| s.size);
    let (tiles_checked, entries_checked) = audit_tiles(&client, cp.size, from, &cp.root)?;
    if let (Some(s), Some(r)) = (&old, old_root) {
        let mut nodes = TileNodes::new(cp.size, |id: &TileId| {
            client.tile(id).map_err(MonitorError::from)
        });
        let recomputed = merkle::range_hash(0, s.size, &mut nodes)?;
        if recomputed != r {
            return Err(alert(format!(
                "the tree of size {} no longer has the root accepted earlier: history was rewritten or this is a split view",
                s.size
            )));
        }
        let proof =
            merkle::consistency_proof(s.size, cp.size, &mut nodes).map_err(|e| match e {
                merkle::ProofOrSource::Source(e) => e,
                merkle::ProofOrSource::Proof(p) => alert(p.to_string()),
            })?;
        if s.size > 0 {
            merkle::verify_consistency(s.size, cp.size, &proof, &r, &cp.root).map_err(|e| {
                alert(format!(
                    "checkpoint {} is not consistent with {}: {e}",
                    cp.size, s.size
                ))
            })?;
        }
    }
    let new_state = MonitorState {
        origin: cp.origin.clone(),
        size: cp.size,
        root: STANDARD.encode(cp.root),
        checkpoint: String::from_utf8_lossy(&text).into_owned(),
    };
    let json = serde_json::to_string_pretty(&new_state).map_err(|e| state_err(e.to_string()))?;
    crate::fsutil::write_durable(state_path, json.as_bytes(), 0o600)
        .map_err(|e| state_err(e.to_string()))?;
    Ok(MonitorReport {
        origin: cp.origin,
        old_size: old.map(|s| s.size),
        new_size: cp.size,
        tiles_checked,
        entries_checked,
    })
}

/// Checks every hash tile of a tree of `size` leaves against the level above and against
/// `root`, and the entry bundles from leaf `from` on against the leaf hashes.
fn audit_tiles(
    client: &LogClient,
    size: u64,
    from: u64,
    root: &Hash,
) -> Result<(usize, u64), MonitorError> {
    let mut fetched: std::collections::HashMap<TileId, Vec<Hash>> =
        std::collections::HashMap::new();
    let ids = tiles_for_size(size);
    for id in &ids {
        let bytes = client.tile(id)?;
        fetched.insert(*id, tiles::parse_hash_tile(id, &bytes)?);
    }
    // A full tile at level L is one hash at level L+1.
    for id in ids.iter().filter(|t| t.is_full()) {
        let level = id.level.unwrap_or(0);
        let above = tiles::tile_for(level + 1, id.index, size);
        let hash = fetched
            .get(&above)
            .and_then(|t| t.get((id.index % TILE_WIDTH) as usize))
            .ok_or_else(|| alert(format!("{} has no hash in {}", id.path(), above.path())))?;
        if root_of_leaves(&fetched[id]) != *hash {
            return Err(alert(format!(
                "{} does not hash to its entry in {} (tile rewritten)",
                id.path(),
                above.path()
            )));
        }
    }
    let mut nodes = TileNodes::new(size, |id: &TileId| -> Result<Vec<u8>, MonitorError> {
        fetched
            .get(id)
            .map(|h| h.concat())
            .ok_or_else(|| alert(format!("tile {} missing", id.path())))
    });
    let computed = merkle::range_hash(0, size, &mut nodes)?;
    if computed != *root {
        return Err(alert(format!("root recomputed from the tiles differs from the signed checkpoint at size {size} (tile rewritten)")));
    }
    // Entries from the last audited bundle on.
    let mut checked = 0u64;
    let level0 = level_count(0, size);
    let mut t = from / TILE_WIDTH;
    while t * TILE_WIDTH < level0 {
        let width = (level0 - t * TILE_WIDTH).min(TILE_WIDTH) as u16;
        let eid = TileId::entries(t, width);
        let entries = tiles::decode_bundle(&eid, &client.tile(&eid)?)?;
        let hid = TileId::hashes(0, t, width);
        for (i, e) in entries.iter().enumerate() {
            if leaf_hash(e) != fetched[&hid][i] {
                return Err(alert(format!(
                    "entry {} in {} does not match its leaf hash",
                    t * TILE_WIDTH + i as u64,
                    eid.path()
                )));
            }
        }
        checked += entries.len() as u64;
        t += 1;
    }
    Ok((ids.len(), checked))
}
