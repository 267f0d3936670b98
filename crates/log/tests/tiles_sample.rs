//! Read compatibility with a log written by another implementation (Tessera's
//! `testdata/log` in `corpus/tlog-tiles-sample`): every checkpoint verifies with the given
//! key, every root recomputes from the tiles, and every leaf is proven in every tree size
//! that holds it.

mod common;

use cairn_log::checkpoint;
use cairn_log::merkle::{self, NodeSource};
use cairn_log::note::Verifier;
use cairn_log::tiles::{self, TileError, TileId, TileNodes};
use std::path::PathBuf;

const VKEY: &str = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
const LEAVES: [&str; 15] = [
    "one", "two", "three", "four", "five", "six", "seven", "eit", "nain", "ten", "ileven", "twelf",
    "threeten", "fourten", "fivten",
];

fn log_dir() -> PathBuf {
    common::corpus().join("tlog-tiles-sample/log")
}

fn read_tile(id: &TileId) -> Result<Vec<u8>, TileError> {
    std::fs::read(log_dir().join(id.path())).map_err(|e| TileError::BadTile {
        path: id.path(),
        reason: e.to_string(),
    })
}

#[test]
fn every_checkpoint_verifies_and_every_root_recomputes_from_tiles() {
    let key = Verifier::from_vkey(VKEY).unwrap();
    let latest = std::fs::read(log_dir().join("checkpoint")).unwrap();
    assert_eq!(
        latest,
        std::fs::read(log_dir().join("checkpoint.15")).unwrap()
    );
    let leaf_hashes: Vec<_> = LEAVES
        .iter()
        .map(|l| merkle::leaf_hash(l.as_bytes()))
        .collect();
    for size in 0..=15u64 {
        let text = std::fs::read(log_dir().join(format!("checkpoint.{size}"))).unwrap();
        let signed = checkpoint::open(&text, std::slice::from_ref(&key)).unwrap();
        let cp = signed.checkpoint;
        assert_eq!(cp.origin, "example.com/log/testdata");
        assert_eq!(cp.size, size);
        // Root from the tiles of this size (fetched by their partial paths).
        let mut nodes = TileNodes::new(size, read_tile);
        let root = merkle::range_hash(0, size, &mut nodes).unwrap();
        assert_eq!(root, cp.root, "size {size}");
        // And from the leaves themselves.
        assert_eq!(
            merkle::root_of_leaves(&leaf_hashes[..size as usize]),
            cp.root
        );
        if size > 0 {
            // The entry bundle of this size decodes to the leaves.
            let id = TileId::entries(0, size as u16);
            let entries =
                tiles::decode_bundle(&id, &std::fs::read(log_dir().join(id.path())).unwrap())
                    .unwrap();
            let want: Vec<Vec<u8>> = LEAVES[..size as usize]
                .iter()
                .map(|l| l.as_bytes().to_vec())
                .collect();
            assert_eq!(entries, want);
            assert_eq!(
                nodes.node(0, size - 1).unwrap(),
                leaf_hashes[size as usize - 1]
            );
        }
        // Every leaf proven in this size, with proofs built from the tiles.
        for index in 0..size {
            let proof = merkle::inclusion_proof(index, size, &mut nodes).unwrap();
            merkle::verify_inclusion(index, size, &leaf_hashes[index as usize], &proof, &cp.root)
                .unwrap();
            // The wrong leaf is refused.
            let other = leaf_hashes[((index + 1) % 15) as usize];
            assert!(merkle::verify_inclusion(index, size, &other, &proof, &cp.root).is_err());
        }
        // Every earlier checkpoint is consistent with this one.
        for old in 1..size {
            let old_text = std::fs::read(log_dir().join(format!("checkpoint.{old}"))).unwrap();
            let old_cp = checkpoint::open(&old_text, std::slice::from_ref(&key))
                .unwrap()
                .checkpoint;
            let proof = merkle::consistency_proof(old, size, &mut nodes).unwrap();
            merkle::verify_consistency(old, size, &proof, &old_cp.root, &cp.root).unwrap();
        }
    }
}

#[test]
fn a_tampered_checkpoint_or_wrong_key_is_refused() {
    let key = Verifier::from_vkey(VKEY).unwrap();
    let text = String::from_utf8(std::fs::read(log_dir().join("checkpoint.3")).unwrap()).unwrap();
    let tampered = text.replacen("\n3\n", "\n4\n", 1);
    assert!(checkpoint::open(tampered.as_bytes(), &[key]).is_err());
    let other = cairn_log::note::Signer::generate(
        "example.com/log/testdata",
        cairn_log::note::TYPE_ED25519,
    )
    .unwrap();
    assert!(checkpoint::open(text.as_bytes(), &[other.verifier()]).is_err());
}

/// cairn's writer, given Tessera's public test key and the same 15 entries one batch at a
/// time, writes the sample's checkpoints, hash tiles and entry bundles byte for byte.
#[test]
fn the_writer_reproduces_the_sample_byte_for_byte() {
    // Tessera's published test key (testdata/build_log.sh); not a secret.
    let skey = "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg";
    let signer = cairn_log::note::Signer::from_skey(skey).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store =
        cairn_log::store::Store::open(dir.path(), signer, "example.com/log/testdata").unwrap();
    let same = |rel: &str, ours: &std::path::Path| {
        assert_eq!(
            std::fs::read(ours).unwrap(),
            std::fs::read(log_dir().join(rel)).unwrap(),
            "{rel}"
        );
    };
    same("checkpoint.0", &dir.path().join("checkpoint"));
    for (i, leaf) in LEAVES.iter().enumerate() {
        let size = i + 1;
        store.append(&[leaf.as_bytes()]).unwrap();
        same(
            &format!("checkpoint.{size}"),
            &dir.path().join("checkpoint"),
        );
        same(
            &format!("tile/0/000.p/{size}"),
            &dir.path().join(format!("tile/0/000.p/{size}")),
        );
        same(
            &format!("tile/entries/000.p/{size}"),
            &dir.path().join(format!("tile/entries/000.p/{size}")),
        );
    }
    same("checkpoint", &dir.path().join("checkpoint"));
}
