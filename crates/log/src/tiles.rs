//! C2SP tlog-tiles: tile paths, tile geometry, entry bundles, and reading tree nodes from
//! hash tiles.
//!
//! A tile at level `L` holds up to 256 hashes of tree level `8L`; entry bundles hold the
//! entries themselves, each prefixed by a big-endian u16 length.

use std::collections::HashMap;

use crate::merkle::{root_of_leaves, Hash, NodeSource, HASH_SIZE};

/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels per tile level.
pub const TILE_HEIGHT: u8 = 8;
/// Largest entry an entry bundle can hold.
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("tile path {path:?}: {reason}")]
    BadPath { path: String, reason: &'static str },
    #[error("tile {path}: {reason}")]
    BadTile { path: String, reason: String },
    #[error("entry bundle {path}: {reason}")]
    BadBundle { path: String, reason: String },
    #[error("entry of {0} bytes is larger than the 65535 an entry bundle can hold")]
    EntryTooLarge(usize),
}

/// `<N>` in a tile path: 3-digit groups, all but the last prefixed `x`.
pub fn encode_index(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// Which tile a path names. `level` is `None` for an entry bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    pub level: Option<u8>,
    pub index: u64,
    /// 1..=256; 256 means a full tile.
    pub width: u16,
}

impl TileId {
    pub fn hashes(level: u8, index: u64, width: u16) -> Self {
        TileId {
            level: Some(level),
            index,
            width,
        }
    }

    pub fn entries(index: u64, width: u16) -> Self {
        TileId {
            level: None,
            index,
            width,
        }
    }

    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// Path relative to the log prefix, e.g. `tile/0/x001/234.p/5`.
    pub fn path(&self) -> String {
        let l = match self.level {
            Some(l) => l.to_string(),
            None => "entries".to_string(),
        };
        let mut p = format!("tile/{l}/{}", encode_index(self.index));
        if !self.is_full() {
            p.push_str(&format!(".p/{}", self.width));
        }
        p
    }

    /// The same tile at full width.
    pub fn full(&self) -> Self {
        TileId {
            width: TILE_WIDTH as u16,
            ..*self
        }
    }

    /// Parses `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]` strictly (no leading
    /// zeros in L or W, exact 3-digit groups), so only canonical paths are served.
    pub fn parse_path(path: &str) -> Result<Self, TileError> {
        let bad = |reason| TileError::BadPath {
            path: path.chars().take(200).collect(),
            reason,
        };
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| bad("must start with tile/"))?;
        let (l, rest) = rest.split_once('/').ok_or_else(|| bad("missing index"))?;
        let level = if l == "entries" {
            None
        } else {
            let v =
                parse_small(l).ok_or_else(|| bad("level must be 0-63 without leading zeros"))?;
            if v > 63 {
                return Err(bad("level must be 0-63"));
            }
            Some(v as u8)
        };
        let (n, width) = match rest.split_once(".p/") {
            Some((n, w)) => {
                let w = parse_small(w).ok_or_else(|| bad("partial width must be 1-255"))?;
                if w == 0 || w >= TILE_WIDTH {
                    return Err(bad("partial width must be 1-255"));
                }
                (n, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let groups: Vec<&str> = n.split('/').collect();
        let mut index: u64 = 0;
        for (i, g) in groups.iter().enumerate() {
            let last = i + 1 == groups.len();
            let digits = if last {
                *g
            } else {
                g.strip_prefix('x')
                    .ok_or_else(|| bad("non-final index groups need an x prefix"))?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("index groups must be three digits"));
            }
            let v: u64 = digits.parse().map_err(|_| bad("index group"))?;
            index = index
                .checked_mul(1000)
                .and_then(|x| x.checked_add(v))
                .ok_or_else(|| bad("index too large"))?;
        }
        if groups.len() > 1 && groups[0] == "x000" {
            return Err(bad("index has a leading zero group"));
        }
        let id = TileId {
            level,
            index,
            width,
        };
        if id.path() != path {
            return Err(bad("not the canonical form"));
        }
        Ok(id)
    }
}

fn parse_small(s: &str) -> Option<u64> {
    if s.is_empty()
        || s.len() > 3
        || !s.bytes().all(|b| b.is_ascii_digit())
        || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Number of hashes at tile level `level` that a tree of `size` leaves has completed.
pub fn level_count(level: u8, size: u64) -> u64 {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    if shift >= 64 {
        0
    } else {
        size >> shift
    }
}

/// The tile of `level` holding hash number `n` (counted at that level) for a tree of
/// `size` leaves: full if complete, else the partial at the width that size implies.
pub fn tile_for(level: u8, n: u64, size: u64) -> TileId {
    let index = n / TILE_WIDTH;
    let count = level_count(level, size);
    let width = count.saturating_sub(index * TILE_WIDTH).min(TILE_WIDTH) as u16;
    TileId::hashes(level, index, width)
}

/// Every hash tile (full and partial) that makes up a tree of `size` leaves.
pub fn tiles_for_size(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let mut level = 0u8;
    loop {
        let count = level_count(level, size);
        if count == 0 {
            break;
        }
        for index in 0..count.div_ceil(TILE_WIDTH) {
            out.push(tile_for(level, index * TILE_WIDTH, size));
        }
        level += 1;
    }
    out
}

/// Splits tile bytes into hashes; the length must be exactly `width` hashes.
pub fn parse_hash_tile(id: &TileId, bytes: &[u8]) -> Result<Vec<Hash>, TileError> {
    let want = usize::from(id.width) * HASH_SIZE;
    if bytes.len() != want {
        return Err(TileError::BadTile {
            path: id.path(),
            reason: format!("{} bytes, want {want}", bytes.len()),
        });
    }
    Ok(bytes
        .chunks_exact(HASH_SIZE)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

/// Encodes an entry bundle: each entry as big-endian u16 length and bytes.
pub fn encode_bundle<T: AsRef<[u8]>>(entries: &[T]) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.as_ref().len() + 2).sum());
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes an entry bundle, which must hold exactly `id.width` entries.
pub fn decode_bundle(id: &TileId, bytes: &[u8]) -> Result<Vec<Vec<u8>>, TileError> {
    let bad = |reason: String| TileError::BadBundle {
        path: id.path(),
        reason,
    };
    let mut out = Vec::with_capacity(usize::from(id.width));
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(bad("truncated length prefix".into()));
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + len {
            return Err(bad(format!(
                "entry {} claims {len} bytes, {} left",
                out.len(),
                rest.len() - 2
            )));
        }
        out.push(rest[2..2 + len].to_vec());
        rest = &rest[2 + len..];
    }
    if out.len() != usize::from(id.width) {
        return Err(bad(format!("{} entries, want {}", out.len(), id.width)));
    }
    Ok(out)
}

/// Reads tree nodes of a tree of `size` leaves from hash tiles fetched through `fetch`
/// (a file reader or an HTTP client). Tiles are cached for the life of the reader.
pub struct TileNodes<F> {
    size: u64,
    fetch: F,
    tiles: HashMap<TileId, Vec<Hash>>,
    nodes: HashMap<(u8, u64), Hash>,
}

impl<F, E> TileNodes<F>
where
    F: FnMut(&TileId) -> Result<Vec<u8>, E>,
    E: From<TileError>,
{
    pub fn new(size: u64, fetch: F) -> Self {
        TileNodes {
            size,
            fetch,
            tiles: HashMap::new(),
            nodes: HashMap::new(),
        }
    }

    /// The hashes of one tile, fetched once.
    pub fn tile(&mut self, id: &TileId) -> Result<&Vec<Hash>, E> {
        if !self.tiles.contains_key(id) {
            let bytes = (self.fetch)(id)?;
            let hashes = parse_hash_tile(id, &bytes)?;
            self.tiles.insert(*id, hashes);
        }
        Ok(&self.tiles[id])
    }
}

impl<F, E> NodeSource for TileNodes<F>
where
    F: FnMut(&TileId) -> Result<Vec<u8>, E>,
    E: From<TileError>,
{
    type Error = E;

    fn node(&mut self, level: u8, index: u64) -> Result<Hash, E> {
        if let Some(h) = self.nodes.get(&(level, index)) {
            return Ok(*h);
        }
        let tile_level = level / TILE_HEIGHT;
        let k = level % TILE_HEIGHT;
        let first = index << k;
        let id = tile_for(tile_level, first, self.size);
        let offset = (first - id.index * TILE_WIDTH) as usize;
        let count = 1usize << k;
        let size = self.size;
        if id.width == 0 {
            return Err(E::from(TileError::BadTile {
                path: id.path(),
                reason: format!("node ({level}, {index}) lies beyond a tree of size {size}"),
            }));
        }
        let tile = self.tile(&id)?;
        let slice = tile.get(offset..offset + count).ok_or_else(|| {
            E::from(TileError::BadTile {
                path: id.path(),
                reason: format!("node ({level}, {index}) is not complete in a tree of size {size}"),
            })
        })?;
        let h = root_of_leaves(slice);
        self.nodes.insert((level, index), h);
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding_matches_the_spec() {
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(5), "005");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(
            TileId::hashes(0, 1234067, 256).path(),
            "tile/0/x001/x234/067"
        );
        assert_eq!(TileId::entries(5, 3).path(), "tile/entries/005.p/3");
    }

    #[test]
    fn paths_parse_only_in_canonical_form() {
        for p in [
            "tile/0/x001/x234/067",
            "tile/entries/005.p/3",
            "tile/63/000",
            "tile/2/000.p/255",
        ] {
            assert_eq!(TileId::parse_path(p).unwrap().path(), p);
        }
        for p in [
            "tile/64/000",
            "tile/01/000",
            "tile/0/5",
            "tile/0/x000/005",
            "tile/0/001/002",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/07",
            "tile/0/../../etc/passwd",
            "tile/entries/x1/000",
            "tiles/0/000",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
        ] {
            assert!(TileId::parse_path(p).is_err(), "{p}");
        }
    }

    #[test]
    fn spec_example_tiles_at_70000() {
        let tiles = tiles_for_size(70_000);
        let level0: Vec<_> = tiles.iter().filter(|t| t.level == Some(0)).collect();
        assert_eq!(level0.len(), 274);
        assert_eq!(level0.last().unwrap().width, 112);
        let level1: Vec<_> = tiles.iter().filter(|t| t.level == Some(1)).collect();
        assert_eq!(level1.len(), 2);
        assert_eq!(level1[1].width, 17);
        let level2: Vec<_> = tiles.iter().filter(|t| t.level == Some(2)).collect();
        assert_eq!(level2.len(), 1);
        assert_eq!(level2[0].width, 1);
    }

    #[test]
    fn bundles_round_trip_and_reject_damage() {
        let id = TileId::entries(0, 3);
        let b = encode_bundle(&[&b"one"[..], b"two", b"three"]).unwrap();
        assert_eq!(b, b"\x00\x03one\x00\x03two\x00\x05three");
        assert_eq!(
            decode_bundle(&id, &b).unwrap(),
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
        assert!(decode_bundle(&id, &b[..b.len() - 1]).is_err());
        assert!(decode_bundle(&TileId::entries(0, 4), &b).is_err());
        assert!(decode_bundle(&id, &[0]).is_err());
        assert_eq!(
            encode_bundle(&[vec![0u8; 65536]]),
            Err(TileError::EntryTooLarge(65536))
        );
    }
}
