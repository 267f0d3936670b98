//! Best-effort duplicate detection with bounded memory.
//!
//! Two generations of maps from a 16-byte leaf-hash prefix to an index; when the current
//! one fills, it becomes the previous one and the oldest generation is dropped. Memory is
//! bounded by `capacity` keys (about 40 bytes each). A hit is only a hint: the caller
//! confirms it against the stored entry, so a prefix collision can never return the wrong
//! index. A miss on an entry older than the window logs it again, which is still correct
//! (the log simply holds it twice), as in Tessera's antispam.

use std::collections::HashMap;

use crate::merkle::Hash;

pub struct DedupIndex {
    per_generation: usize,
    current: HashMap<[u8; 16], u64>,
    previous: HashMap<[u8; 16], u64>,
}

fn key(leaf: &Hash) -> [u8; 16] {
    let mut k = [0u8; 16];
    k.copy_from_slice(&leaf[..16]);
    k
}

impl DedupIndex {
    /// At most `capacity` remembered entries (0 disables deduplication).
    pub fn new(capacity: usize) -> Self {
        DedupIndex {
            per_generation: capacity / 2,
            current: HashMap::new(),
            previous: HashMap::new(),
        }
    }

    /// How many recent entries to reload at startup.
    pub fn window(&self) -> usize {
        self.per_generation
    }

    pub fn get(&self, leaf: &Hash) -> Option<u64> {
        let k = key(leaf);
        self.current
            .get(&k)
            .or_else(|| self.previous.get(&k))
            .copied()
    }

    pub fn insert(&mut self, leaf: &Hash, index: u64) {
        if self.per_generation == 0 {
            return;
        }
        if self.current.len() >= self.per_generation {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key(leaf), index);
    }

    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    #[test]
    fn remembers_recent_entries_within_its_bound() {
        let mut d = DedupIndex::new(100);
        for i in 0..1000u64 {
            d.insert(&leaf_hash(&i.to_be_bytes()), i);
            assert!(d.len() <= 100);
        }
        assert_eq!(d.get(&leaf_hash(&999u64.to_be_bytes())), Some(999));
        assert_eq!(d.get(&leaf_hash(&950u64.to_be_bytes())), Some(950));
        assert_eq!(d.get(&leaf_hash(&0u64.to_be_bytes())), None);
        let mut off = DedupIndex::new(0);
        off.insert(&leaf_hash(b"x"), 1);
        assert_eq!(off.get(&leaf_hash(b"x")), None);
    }
}
