//! The log's storage: a tlog-tiles directory that any static file server can publish.
//!
//! Layout under the log directory: `checkpoint`, `tile/<L>/<N>[.p/<W>]` and
//! `tile/entries/<N>[.p/<W>]`, exactly the paths of the read API.
//!
//! Crash safety: [`Store::append`] writes every new tile and bundle through a temporary
//! file, fsyncs it, renames it, fsyncs the directories, and only then replaces the
//! checkpoint the same way. The checkpoint is the commit point: after a crash the log
//! reopens at the last checkpoint, whose partial tiles are always on disk, and recomputes
//! its root from the tiles before accepting anything. Entries of a batch that never got its
//! checkpoint were never acknowledged; their files are overwritten as the log grows again.
//! Partial tiles are deleted only after a checkpoint covering the full tile is durable.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::fsutil::{io_err, DirSync, IoError};
use crate::merkle::{self, leaf_hash, root_of_leaves, Hash, NodeSource};
use crate::note::{Note, Signer};
use crate::tiles::{
    self, level_count, TileError, TileId, MAX_ENTRY_BYTES, TILE_HEIGHT, TILE_WIDTH,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Tile(#[from] TileError),
    #[error("log checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("log directory holds origin {found:?}, not {expected:?}")]
    WrongOrigin { expected: String, found: String },
    #[error("log directory is inconsistent: {0}")]
    Corrupt(String),
    #[error("entry of {0} bytes exceeds the 65535-byte entry limit")]
    EntryTooLarge(usize),
    #[error("index {index} is not below tree size {size}")]
    NoSuchEntry { index: u64, size: u64 },
}

/// Full hash tiles kept in memory for proof building; cleared when it reaches this many.
const TILE_CACHE_TILES: usize = 4096;

/// The outcome of one durable append.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Index of the first entry of the batch.
    pub first_index: u64,
    pub size: u64,
    pub root: Hash,
    /// The new signed checkpoint text.
    pub checkpoint: String,
}

pub struct Store {
    dir: PathBuf,
    signer: Signer,
    /// Optional ML-DSA-44 (0x06) key adding a post-quantum signature to each checkpoint.
    pq_signer: Option<Signer>,
    origin: String,
    size: u64,
    root: Hash,
    checkpoint: String,
    /// Per tile level, the hashes of the rightmost, incomplete tile.
    edge: Vec<Vec<Hash>>,
    /// Entries of the rightmost, incomplete entry bundle.
    edge_entries: Vec<Vec<u8>>,
    /// The partial tile last written per tile level (`None` = entries): (index, width).
    written: HashMap<Option<u8>, (u64, usize)>,
    full_tiles: HashMap<(u8, u64), Arc<Vec<Hash>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Store({}, {} @ {})",
            self.dir.display(),
            self.origin,
            self.size
        )
    }
}

fn read(path: &Path) -> Result<Vec<u8>, StoreError> {
    Ok(std::fs::read(path).map_err(io_err(path))?)
}

impl Store {
    /// Opens the log in `dir`, creating an empty one (with a signed size-0 checkpoint) if
    /// there is no checkpoint yet. An existing log must carry `origin` and a checkpoint
    /// signed by `signer`, and its root must recompute from its tiles.
    pub fn open(dir: &Path, signer: Signer, origin: &str) -> Result<Store, StoreError> {
        crate::note::check_name(origin).map_err(|e| StoreError::Corrupt(format!("origin: {e}")))?;
        if signer.name() != origin {
            return Err(StoreError::WrongOrigin {
                expected: origin.to_string(),
                found: format!("a signer key named {}", signer.name()),
            });
        }
        let mut sync = DirSync::default();
        sync.create_dir_all(dir)?;
        sync.sync()?;
        let mut store = Store {
            dir: dir.to_path_buf(),
            signer,
            pq_signer: None,
            origin: origin.to_string(),
            size: 0,
            root: merkle::empty_root(),
            checkpoint: String::new(),
            edge: Vec::new(),
            edge_entries: Vec::new(),
            written: HashMap::new(),
            full_tiles: HashMap::new(),
        };
        let cp_path = dir.join("checkpoint");
        if !cp_path.exists() {
            store.checkpoint = store.sign(0, store.root);
            crate::fsutil::write_durable(&cp_path, store.checkpoint.as_bytes(), 0o644)?;
            return Ok(store);
        }
        let text = read(&cp_path)?;
        let signed = checkpoint::open(&text, &[store.signer.verifier()])?;
        if signed.checkpoint.origin != origin {
            return Err(StoreError::WrongOrigin {
                expected: origin.to_string(),
                found: signed.checkpoint.origin,
            });
        }
        store.size = signed.checkpoint.size;
        store.checkpoint = String::from_utf8_lossy(&text).into_owned();
        store.load_edge()?;
        let root = store.compute_root()?;
        if root != signed.checkpoint.root {
            return Err(StoreError::Corrupt(format!(
                "root recomputed from tiles differs from the checkpoint at size {}",
                store.size
            )));
        }
        store.root = root;
        Ok(store)
    }

    fn load_edge(&mut self) -> Result<(), StoreError> {
        let mut level = 0u8;
        loop {
            let count = level_count(level, self.size);
            if count == 0 {
                break;
            }
            let w = (count % TILE_WIDTH) as u16;
            let hashes = if w > 0 {
                let id = TileId::hashes(level, count / TILE_WIDTH, w);
                tiles::parse_hash_tile(&id, &read(&self.dir.join(id.path()))?)?
            } else {
                Vec::new()
            };
            self.written
                .insert(Some(level), (count / TILE_WIDTH, hashes.len()));
            self.edge.push(hashes);
            level += 1;
        }
        let w = (self.size % TILE_WIDTH) as u16;
        if w > 0 {
            let id = TileId::entries(self.size / TILE_WIDTH, w);
            self.edge_entries = tiles::decode_bundle(&id, &read(&self.dir.join(id.path()))?)?;
            // The rightmost leaf hashes must be those of the rightmost entries.
            for (e, h) in self
                .edge_entries
                .iter()
                .zip(self.edge.first().map(Vec::as_slice).unwrap_or(&[]))
            {
                if leaf_hash(e) != *h {
                    return Err(StoreError::Corrupt(format!(
                        "{} does not match its hash tile",
                        id.path()
                    )));
                }
            }
        }
        self.written
            .insert(None, (self.size / TILE_WIDTH, self.edge_entries.len()));
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root(&self) -> Hash {
        self.root
    }

    /// Gives the signing keys back (to reopen the store after a failure).
    pub fn into_signers(self) -> (Signer, Option<Signer>) {
        (self.signer, self.pq_signer)
    }

    /// The latest signed checkpoint text.
    pub fn checkpoint(&self) -> &str {
        &self.checkpoint
    }

    /// Appends witness cosignature lines to the latest checkpoint and replaces the
    /// checkpoint file durably. Lines must parse as note signatures.
    pub fn add_cosignatures(&mut self, lines: &str) -> Result<(), StoreError> {
        let text = format!("{}{}", self.checkpoint, lines);
        let note = Note::parse(text.as_bytes())
            .map_err(|e| StoreError::Corrupt(format!("cosignature lines: {e}")))?;
        let text = note.to_text();
        crate::fsutil::write_durable(&self.dir.join("checkpoint"), text.as_bytes(), 0o644)?;
        self.checkpoint = text;
        Ok(())
    }

    fn sign(&self, size: u64, root: Hash) -> String {
        let body = Checkpoint::new(&self.origin, size, root).to_body();
        let mut signatures = vec![self.signer.sign_note(&body)];
        if let Some(pq) = &self.pq_signer {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            // The body was just built from a checked origin, so this cannot fail; if it
            // did, the checkpoint would carry its Ed25519 signature only.
            if let Ok(sig) = pq.cosign(&body, now) {
                signatures.push(sig);
            }
        }
        Note {
            text: body,
            signatures,
        }
        .to_text()
    }

    /// Adds an ML-DSA-44 (0x06) signature, under a key named like the origin, to every
    /// checkpoint from the next append on.
    pub fn set_post_quantum_signer(&mut self, signer: Signer) -> Result<(), StoreError> {
        if signer.key_type() != crate::note::TYPE_MLDSA44_SUBTREE || signer.name() != self.origin {
            return Err(StoreError::WrongOrigin {
                expected: format!("an ML-DSA-44 (0x06) key named {}", self.origin),
                found: format!(
                    "a type 0x{:02x} key named {}",
                    signer.key_type(),
                    signer.name()
                ),
            });
        }
        self.pq_signer = Some(signer);
        Ok(())
    }

    /// Appends `entries` and returns once they and a checkpoint covering them are durable.
    /// On error the in-memory state may be ahead of the disk: reopen the store.
    pub fn append<T: AsRef<[u8]>>(&mut self, entries: &[T]) -> Result<Appended, StoreError> {
        if let Some(e) = entries.iter().find(|e| e.as_ref().len() > MAX_ENTRY_BYTES) {
            return Err(StoreError::EntryTooLarge(e.as_ref().len()));
        }
        let first_index = self.size;
        let mut sync = DirSync::default();
        let mut completed: Vec<TileId> = Vec::new();
        for e in entries {
            let e = e.as_ref();
            self.size += 1;
            self.edge_entries.push(e.to_vec());
            if self.edge_entries.len() as u64 == TILE_WIDTH {
                let id = TileId::entries(self.size / TILE_WIDTH - 1, TILE_WIDTH as u16);
                let bundle = tiles::encode_bundle(&self.edge_entries)?;
                sync.write_atomic(&self.dir.join(id.path()), &bundle)?;
                self.edge_entries.clear();
                completed.push(id);
            }
            self.push_hash(0, leaf_hash(e), &mut sync, &mut completed)?;
        }
        // Partial tiles for the new size, where they changed.
        for level in 0..self.edge.len() {
            let w = self.edge[level].len();
            let lvl = Some(level as u8);
            let index = level_count(level as u8, self.size) / TILE_WIDTH;
            if w > 0 && self.written.get(&lvl) != Some(&(index, w)) {
                let id = TileId::hashes(level as u8, index, w as u16);
                let bytes: Vec<u8> = self.edge[level].concat();
                sync.write_atomic(&self.dir.join(id.path()), &bytes)?;
            }
            self.written.insert(lvl, (index, w));
        }
        let w = self.edge_entries.len();
        let index = self.size / TILE_WIDTH;
        if w > 0 && self.written.get(&None) != Some(&(index, w)) {
            let id = TileId::entries(index, w as u16);
            sync.write_atomic(
                &self.dir.join(id.path()),
                &tiles::encode_bundle(&self.edge_entries)?,
            )?;
        }
        self.written.insert(None, (index, w));
        sync.sync()?;
        // Commit point.
        let root = self.compute_root()?;
        let cp = self.sign(self.size, root);
        sync.write_atomic(&self.dir.join("checkpoint"), cp.as_bytes())?;
        sync.sync()?;
        self.root = root;
        self.checkpoint = cp;
        // Partials of tiles now full are no longer needed by the latest checkpoint.
        for id in completed {
            let p = self.dir.join(format!("{}.p", id.path()));
            if p.is_dir() {
                // Best effort: a leftover partial is harmless, the full tile supersedes it.
                let _ = std::fs::remove_dir_all(&p);
            }
        }
        Ok(Appended {
            first_index,
            size: self.size,
            root,
            checkpoint: self.checkpoint.clone(),
        })
    }

    fn push_hash(
        &mut self,
        level: u8,
        h: Hash,
        sync: &mut DirSync,
        completed: &mut Vec<TileId>,
    ) -> Result<(), StoreError> {
        let l = usize::from(level);
        if self.edge.len() <= l {
            self.edge.push(Vec::new());
        }
        self.edge[l].push(h);
        if self.edge[l].len() as u64 == TILE_WIDTH {
            let hashes = std::mem::take(&mut self.edge[l]);
            let index = level_count(level, self.size) / TILE_WIDTH - 1;
            let id = TileId::hashes(level, index, TILE_WIDTH as u16);
            sync.write_atomic(&self.dir.join(id.path()), &hashes.concat())?;
            completed.push(id);
            let tile_root = root_of_leaves(&hashes);
            self.cache_tile(level, index, Arc::new(hashes));
            self.push_hash(level + 1, tile_root, sync, completed)?;
        }
        Ok(())
    }

    fn cache_tile(&mut self, level: u8, index: u64, hashes: Arc<Vec<Hash>>) {
        if self.full_tiles.len() >= TILE_CACHE_TILES {
            self.full_tiles.clear();
        }
        self.full_tiles.insert((level, index), hashes);
    }

    fn full_tile(&mut self, level: u8, index: u64) -> Result<Arc<Vec<Hash>>, StoreError> {
        if let Some(t) = self.full_tiles.get(&(level, index)) {
            return Ok(t.clone());
        }
        let id = TileId::hashes(level, index, TILE_WIDTH as u16);
        let hashes = Arc::new(tiles::parse_hash_tile(
            &id,
            &read(&self.dir.join(id.path()))?,
        )?);
        self.cache_tile(level, index, hashes.clone());
        Ok(hashes)
    }

    fn compute_root(&mut self) -> Result<Hash, StoreError> {
        let size = self.size;
        merkle::range_hash(0, size, &mut self.nodes())
    }

    /// A node reader over the current tree, memoising what it computes.
    pub fn nodes(&mut self) -> StoreNodes<'_> {
        StoreNodes {
            store: self,
            memo: HashMap::new(),
        }
    }

    /// Inclusion proof of `index` in the current tree.
    pub fn inclusion_proof(&mut self, index: u64) -> Result<Vec<Hash>, StoreError> {
        let size = self.size;
        self.nodes().inclusion_proof(index, size)
    }

    /// The entry at `index`.
    pub fn entry(&mut self, index: u64) -> Result<Vec<u8>, StoreError> {
        if index >= self.size {
            return Err(StoreError::NoSuchEntry {
                index,
                size: self.size,
            });
        }
        let t = index / TILE_WIDTH;
        let off = (index % TILE_WIDTH) as usize;
        if t == self.size / TILE_WIDTH {
            return Ok(self.edge_entries[off].clone());
        }
        let id = TileId::entries(t, TILE_WIDTH as u16);
        let mut bundle = tiles::decode_bundle(&id, &read(&self.dir.join(id.path()))?)?;
        Ok(bundle.swap_remove(off))
    }

    /// Entries `[lo, hi)`, read a bundle at a time (used to rebuild the dedup index).
    pub fn entries(&mut self, lo: u64, hi: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let hi = hi.min(self.size);
        let mut out = Vec::new();
        let mut i = lo;
        while i < hi {
            let t = i / TILE_WIDTH;
            let bundle = if t == self.size / TILE_WIDTH {
                self.edge_entries.clone()
            } else {
                let id = TileId::entries(t, TILE_WIDTH as u16);
                tiles::decode_bundle(&id, &read(&self.dir.join(id.path()))?)?
            };
            let start = (i - t * TILE_WIDTH) as usize;
            let end = ((hi - t * TILE_WIDTH) as usize).min(bundle.len());
            out.extend(bundle[start..end].iter().cloned());
            i = t * TILE_WIDTH + end as u64;
        }
        Ok(out)
    }
}

/// Reads perfect-subtree hashes of the store's current tree: from the in-memory right edge
/// or from full tiles, memoising computed nodes so a batch of proofs shares the work.
pub struct StoreNodes<'a> {
    store: &'a mut Store,
    memo: HashMap<(u8, u64), Hash>,
}

impl StoreNodes<'_> {
    pub fn inclusion_proof(&mut self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        merkle::inclusion_proof(index, size, self).map_err(|e| match e {
            merkle::ProofOrSource::Proof(p) => StoreError::NoSuchEntry {
                index,
                size: match p {
                    merkle::ProofError::IndexOutOfRange { size, .. } => size,
                    _ => size,
                },
            },
            merkle::ProofOrSource::Source(s) => s,
        })
    }

    pub fn consistency_proof(&mut self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        merkle::consistency_proof(old, new, self).map_err(|e| match e {
            merkle::ProofOrSource::Proof(p) => StoreError::Corrupt(p.to_string()),
            merkle::ProofOrSource::Source(s) => s,
        })
    }
}

impl NodeSource for StoreNodes<'_> {
    type Error = StoreError;

    fn node(&mut self, level: u8, index: u64) -> Result<Hash, StoreError> {
        if let Some(h) = self.memo.get(&(level, index)) {
            return Ok(*h);
        }
        let size = self.store.size;
        let tile_level = level / TILE_HEIGHT;
        let k = level % TILE_HEIGHT;
        let first = index << k;
        let count = 1u64 << k;
        let level_total = level_count(tile_level, size);
        if first + count > level_total {
            return Err(StoreError::Corrupt(format!(
                "node ({level}, {index}) is beyond tree size {size}"
            )));
        }
        let t = first / TILE_WIDTH;
        let off = (first % TILE_WIDTH) as usize;
        let h = if t == level_total / TILE_WIDTH {
            let edge = self
                .store
                .edge
                .get(usize::from(tile_level))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("no right edge at tile level {tile_level}"))
                })?;
            root_of_leaves(&edge[off..off + count as usize])
        } else {
            let tile = self.store.full_tile(tile_level, t)?;
            root_of_leaves(&tile[off..off + count as usize])
        };
        if k > 0 {
            self.memo.insert((level, index), h);
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::TYPE_ED25519;

    fn signer() -> Signer {
        Signer::from_seed("test.example/log", TYPE_ED25519, [9u8; 32]).unwrap()
    }

    #[test]
    fn appends_prove_and_reopen_across_tile_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path(), signer(), "test.example/log").unwrap();
        let mut all: Vec<Vec<u8>> = Vec::new();
        let mut checkpoints = Vec::new();
        for (batch, n) in [1usize, 254, 1, 300, 65_000, 3].into_iter().enumerate() {
            let entries: Vec<Vec<u8>> = (0..n)
                .map(|i| format!("b{batch}-e{i}").into_bytes())
                .collect();
            let a = s.append(&entries).unwrap();
            assert_eq!(a.first_index, all.len() as u64);
            all.extend(entries);
            assert_eq!(a.size, all.len() as u64);
            checkpoints.push((a.size, a.root));
        }
        let leaves: Vec<Hash> = all.iter().map(|e| leaf_hash(e)).collect();
        assert_eq!(s.root(), root_of_leaves(&leaves));
        let size = s.size();
        for i in [0u64, 1, 255, 256, 257, 65_535, 65_536, size - 1] {
            let p = s.inclusion_proof(i).unwrap();
            merkle::verify_inclusion(i, size, &leaves[i as usize], &p, &s.root()).unwrap();
            assert_eq!(s.entry(i).unwrap(), all[i as usize]);
        }
        for (old, old_root) in &checkpoints {
            let p = s.nodes().consistency_proof(*old, size).unwrap();
            merkle::verify_consistency(*old, size, &p, old_root, &s.root()).unwrap();
        }
        // The directory alone reproduces the tree; partials of full tiles were removed.
        assert!(!dir.path().join("tile/0/000.p").exists());
        assert!(dir.path().join("tile/0/000").exists());
        assert!(dir.path().join("tile/2/000.p/1").exists());
        drop(s);
        let mut s = Store::open(dir.path(), signer(), "test.example/log").unwrap();
        assert_eq!(s.size(), size);
        assert_eq!(s.root(), root_of_leaves(&leaves));
        assert_eq!(s.entries(250, 260).unwrap(), all[250..260].to_vec());
        let a = s.append(&[b"after reopen".to_vec()]).unwrap();
        assert_eq!(a.first_index, size);
    }

    #[test]
    fn refuses_wrong_origin_wrong_key_and_damaged_tiles() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path(), signer(), "test.example/log").unwrap();
        s.append(&[b"a".to_vec(), b"b".to_vec(), b"c".to_vec()])
            .unwrap();
        drop(s);
        let other = Signer::from_seed("other.example/log", TYPE_ED25519, [9u8; 32]).unwrap();
        assert!(matches!(
            Store::open(dir.path(), other, "other.example/log"),
            Err(StoreError::Checkpoint(_))
        ));
        let other_key = Signer::from_seed("test.example/log", TYPE_ED25519, [8u8; 32]).unwrap();
        assert!(Store::open(dir.path(), other_key, "test.example/log").is_err());
        assert!(matches!(
            Store::open(dir.path(), signer(), "x.example/log"),
            Err(StoreError::WrongOrigin { .. })
        ));
        // A rewritten leaf hash tile no longer matches the signed root.
        let tile = dir.path().join("tile/0/000.p/3");
        let mut bytes = std::fs::read(&tile).unwrap();
        bytes[40] ^= 1;
        std::fs::write(&tile, &bytes).unwrap();
        assert!(matches!(
            Store::open(dir.path(), signer(), "test.example/log"),
            Err(StoreError::Corrupt(_))
        ));
        // Oversized entries are refused before anything is written.
        let dir2 = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir2.path(), signer(), "test.example/log").unwrap();
        assert!(matches!(
            s.append(&[vec![0u8; 70_000]]),
            Err(StoreError::EntryTooLarge(70_000))
        ));
        assert_eq!(s.size(), 0);
        assert!(!dir2.path().join("tile").exists());
    }
}
