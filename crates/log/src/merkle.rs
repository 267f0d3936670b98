//! RFC 6962 / RFC 9162 Merkle tree hashing, proof generation and proof verification, plus
//! the subtree proofs of transparency-dev/merkle (used by Merkle Tree Certificates).
//!
//! Written here rather than taken from a crate: it is ~300 lines, it must match the C2SP
//! and transparency-dev vectors bit for bit, and the verifier must build with cargo alone.
//! Verification functions take hashes as byte slices so that garbage of any length in a
//! proof or root is rejected with an error instead of a panic.

use aws_lc_rs::digest;

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// Size of every hash in the tree.
pub const HASH_SIZE: usize = 32;

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("proof has {got} hashes, want {want}")]
    WrongLength { got: usize, want: usize },
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizeOrder { old: u64, new: u64 },
    #[error("a consistency proof from the empty tree proves nothing")]
    EmptyOldTree,
    #[error("[{start}, {end}) is not a valid subtree")]
    InvalidSubtree { start: u64, end: u64 },
    #[error("{what} is {len} bytes, not 32")]
    BadHashLength { what: &'static str, len: usize },
    #[error("computed {which} root does not match the expected one")]
    RootMismatch { which: &'static str },
}

fn sha256_parts(parts: &[&[u8]]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Plain SHA-256.
pub fn sha256(data: &[u8]) -> Hash {
    sha256_parts(&[data])
}

/// Root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    sha256(b"")
}

/// `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    sha256_parts(&[&[0u8], entry])
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256_parts(&[&[1u8], left, right])
}

/// Largest power of two strictly less than `n` (n >= 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Root of a list of leaf hashes, by the RFC 6962 definition. Used by tests, the monitor
/// and tile audits over small ranges.
pub fn root_of_leaves(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&root_of_leaves(&leaves[..k]), &root_of_leaves(&leaves[k..]))
        }
    }
}

/// Somewhere to read the hash of a perfect subtree: the node at `level` (0 = leaves) and
/// `index` covers leaves `[index << level, (index + 1) << level)`.
pub trait NodeSource {
    type Error;
    fn node(&mut self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// MTH of leaves `[lo, hi)`, built from perfect subtrees read from `src`.
pub fn range_hash<S: NodeSource>(lo: u64, hi: u64, src: &mut S) -> Result<Hash, S::Error> {
    let n = hi - lo;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && lo % n == 0 {
        return src.node(n.trailing_zeros() as u8, lo / n);
    }
    if n == 1 {
        return src.node(0, lo);
    }
    let k = split_point(n);
    let left = range_hash(lo, lo + k, src)?;
    let right = range_hash(lo + k, hi, src)?;
    Ok(node_hash(&left, &right))
}

/// RFC 6962 PATH(index, D[0:size]): siblings from the leaf upwards.
pub fn inclusion_proof<S: NodeSource>(
    index: u64,
    size: u64,
    src: &mut S,
) -> Result<Vec<Hash>, ProofOrSource<S::Error>> {
    if index >= size {
        return Err(ProofOrSource::Proof(ProofError::IndexOutOfRange {
            index,
            size,
        }));
    }
    let mut out = Vec::new();
    path(index, 0, size, src, &mut out).map_err(ProofOrSource::Source)?;
    Ok(out)
}

fn path<S: NodeSource>(
    m: u64,
    lo: u64,
    hi: u64,
    src: &mut S,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = hi - lo;
    if n <= 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < k {
        path(m, lo, lo + k, src, out)?;
        out.push(range_hash(lo + k, hi, src)?);
    } else {
        path(m - k, lo + k, hi, src, out)?;
        out.push(range_hash(lo, lo + k, src)?);
    }
    Ok(())
}

/// RFC 6962 PROOF(old, D[0:new]). Empty when `old == new` or `old == 0`.
pub fn consistency_proof<S: NodeSource>(
    old: u64,
    new: u64,
    src: &mut S,
) -> Result<Vec<Hash>, ProofOrSource<S::Error>> {
    if old > new {
        return Err(ProofOrSource::Proof(ProofError::SizeOrder { old, new }));
    }
    let mut out = Vec::new();
    if old == 0 || old == new {
        return Ok(out);
    }
    subproof(old, 0, new, true, src, &mut out).map_err(ProofOrSource::Source)?;
    Ok(out)
}

fn subproof<S: NodeSource>(
    m: u64,
    lo: u64,
    hi: u64,
    whole: bool,
    src: &mut S,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = hi - lo;
    if m == n {
        if !whole {
            out.push(range_hash(lo, hi, src)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(m, lo, lo + k, whole, src, out)?;
        out.push(range_hash(lo + k, hi, src)?);
    } else {
        subproof(m - k, lo + k, hi, false, src, out)?;
        out.push(range_hash(lo, lo + k, src)?);
    }
    Ok(())
}

/// A proof could not be built: either the request was invalid or the node source failed.
#[derive(Debug)]
pub enum ProofOrSource<E> {
    Proof(ProofError),
    Source(E),
}

impl<E: std::fmt::Display> std::fmt::Display for ProofOrSource<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProofOrSource::Proof(e) => write!(f, "{e}"),
            ProofOrSource::Source(e) => write!(f, "{e}"),
        }
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for ProofOrSource<E> {}

fn to_hash(what: &'static str, bytes: &[u8]) -> Result<Hash, ProofError> {
    bytes.try_into().map_err(|_| ProofError::BadHashLength {
        what,
        len: bytes.len(),
    })
}

fn to_hashes<T: AsRef<[u8]>>(proof: &[T]) -> Result<Vec<Hash>, ProofError> {
    proof
        .iter()
        .map(|p| to_hash("proof hash", p.as_ref()))
        .collect()
}

fn check_root(which: &'static str, computed: &Hash, expected: &[u8]) -> Result<(), ProofError> {
    if computed.as_slice() == expected {
        Ok(())
    } else {
        Err(ProofError::RootMismatch { which })
    }
}

/// Root implied by an inclusion proof (RFC 9162 §2.1.3.2). Its bit loop rejects proofs
/// that are too long or too short.
pub fn root_from_inclusion_proof<T: AsRef<[u8]>>(
    index: u64,
    size: u64,
    leaf: &[u8],
    proof: &[T],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let leaf = to_hash("leaf hash", leaf)?;
    let proof = to_hashes(proof)?;
    let want = inclusion_proof_len(index, size);
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = leaf;
    for p in &proof {
        if snode == 0 {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want,
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    Ok(r)
}

/// Number of hashes in the inclusion proof of `index` in a tree of `size` (index < size).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = (index >> inner).count_ones();
    (inner + border) as usize
}

/// Checks an inclusion proof of `leaf` (a leaf hash) at `index` in the tree `(size, root)`.
pub fn verify_inclusion<T: AsRef<[u8]>>(
    index: u64,
    size: u64,
    leaf: &[u8],
    proof: &[T],
    root: &[u8],
) -> Result<(), ProofError> {
    let r = root_from_inclusion_proof(index, size, leaf, proof)?;
    check_root("tree", &r, root)
}

/// Checks a consistency proof between `(old, root1)` and `(new, root2)`
/// (RFC 9162 §2.1.4.2). Equal sizes need an empty proof and equal roots; a proof from
/// the empty tree is refused as meaningless (as transparency-dev/merkle does).
pub fn verify_consistency<T: AsRef<[u8]>>(
    old: u64,
    new: u64,
    proof: &[T],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::SizeOrder { old, new });
    }
    if old == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if old == new {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(ProofError::RootMismatch { which: "old" })
        };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength { got: 0, want: 1 });
    }
    let r1 = to_hash("old root", root1)?;
    let mut proof = to_hashes(proof)?;
    if old.is_power_of_two() {
        proof.insert(0, r1);
    }
    let bad_len = |p: &Vec<Hash>| ProofError::WrongLength {
        got: p.len(),
        want: 0,
    };
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (proof[0], proof[0]);
    for c in &proof[1..] {
        if snode == 0 {
            return Err(bad_len(&proof));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(bad_len(&proof));
    }
    check_root("old", &fr, root1)?;
    check_root("new", &sr, root2)
}

/// Whether `[start, end)` is a subtree: `start` is a multiple of the smallest power of
/// two at least `end - start`. The empty range counts as valid.
pub fn is_valid_subtree(start: u64, end: u64) -> bool {
    if start > end {
        return false;
    }
    let size = end - start;
    if size == 0 {
        return true;
    }
    match size.checked_next_power_of_two() {
        Some(p) => start % p == 0,
        None => false,
    }
}

/// Checks that `leaf` sits at `index` of the non-empty subtree `[start, end)` whose hash is
/// `root`: an ordinary inclusion proof inside that subtree.
pub fn verify_subtree_inclusion<T: AsRef<[u8]>>(
    index: u64,
    start: u64,
    end: u64,
    leaf: &[u8],
    proof: &[T],
    root: &[u8],
) -> Result<(), ProofError> {
    if start >= end || !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree { start, end });
    }
    if index < start || index >= end {
        return Err(ProofError::IndexOutOfRange { index, size: end });
    }
    verify_inclusion(index - start, end - start, leaf, proof, root)
}

/// Checks that the subtree `[start, end)` with hash `sub_root` is part of the tree of
/// `size` leaves with root `root` (transparency-dev/merkle `VerifySubtreeConsistency`).
/// An empty subtree is consistent with anything when its hash is the empty root and the
/// proof is empty.
pub fn verify_subtree_consistency<T: AsRef<[u8]>>(
    start: u64,
    end: u64,
    size: u64,
    proof: &[T],
    sub_root: &[u8],
    root: &[u8],
) -> Result<(), ProofError> {
    if !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree { start, end });
    }
    if size < end {
        return Err(ProofError::SizeOrder {
            old: end,
            new: size,
        });
    }
    if start == end {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        return check_root("subtree", &empty_root(), sub_root);
    }
    if start == 0 && end == size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        return if sub_root == root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch { which: "tree" })
        };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength { got: 0, want: 1 });
    }
    let sub = to_hash("subtree root", sub_root)?;
    let proof = to_hashes(proof)?;
    let computed = root_from_subtree_consistency(start, end, size, &proof, &sub)?;
    check_root("tree", &computed, root)
}

fn bit_len(x: u64) -> u32 {
    64 - x.leading_zeros()
}

// Port of transparency-dev/merkle's rootFromSubtreeConsistencyProof; requires a valid,
// non-empty subtree with end <= size, not the whole tree, and a non-empty proof.
fn root_from_subtree_consistency(
    start: u64,
    end: u64,
    size: u64,
    proof: &[Hash],
    sub: &Hash,
) -> Result<Hash, ProofError> {
    if end == size {
        let level = bit_len((end - 1) ^ start);
        let index = start >> level;
        let want = index.count_ones() as usize;
        if proof.len() != want {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want,
            });
        }
        return Ok(chain_border_right(*sub, proof));
    }
    let fork_level = bit_len((end - 1) ^ (size - 1));
    let border = ((end - 1) >> fork_level).count_ones() as usize;
    let shift = (end - start).trailing_zeros();
    let inner = (fork_level - shift) as usize;
    let perfect = (end - start) == 1u64 << shift;
    let (seed, p_start) = if perfect { (*sub, 0) } else { (proof[0], 1) };
    let want = p_start + inner + border;
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    let proof = &proof[p_start..];
    let mask = (end - 1) >> shift;
    if !perfect {
        let h = bit_len((end - 1) ^ start);
        let sub_inner = (h.min(fork_level) - shift) as usize;
        let sub_border = border.saturating_sub(((end - 1) >> h).count_ones() as usize);
        let mut hash1 = seed;
        for (i, p) in proof[..sub_inner].iter().enumerate() {
            if (mask >> i) & 1 == 1 {
                hash1 = node_hash(p, &hash1);
            }
        }
        hash1 = chain_border_right(hash1, &proof[inner..inner + sub_border]);
        check_root("subtree", &hash1, sub)?;
    }
    let mut hash2 = seed;
    for (i, p) in proof[..inner].iter().enumerate() {
        hash2 = if (mask >> i) & 1 == 0 {
            node_hash(&hash2, p)
        } else {
            node_hash(p, &hash2)
        };
    }
    Ok(chain_border_right(hash2, &proof[inner..]))
}

fn chain_border_right(mut seed: Hash, proof: &[Hash]) -> Hash {
    for p in proof {
        seed = node_hash(p, &seed);
    }
    seed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Node source over an in-memory list of leaf hashes.
    struct Leaves(Vec<Hash>);
    impl NodeSource for Leaves {
        type Error = std::convert::Infallible;
        fn node(&mut self, level: u8, index: u64) -> Result<Hash, Self::Error> {
            let lo = (index << level) as usize;
            let hi = ((index + 1) << level) as usize;
            Ok(root_of_leaves(&self.0[lo..hi]))
        }
    }

    fn leaves(n: usize) -> Leaves {
        Leaves(
            (0..n)
                .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
                .collect(),
        )
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn generated_proofs_verify_for_every_index_and_size() {
        for n in 1..=40u64 {
            let mut src = leaves(n as usize);
            let root = root_of_leaves(&src.0[..n as usize]);
            for i in 0..n {
                let p = inclusion_proof(i, n, &mut src).unwrap();
                assert_eq!(p.len(), inclusion_proof_len(i, n));
                verify_inclusion(i, n, &src.0[i as usize], &p, &root).unwrap();
                // Any flipped bit breaks it.
                if let Some(first) = p.first() {
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert!(
                        verify_inclusion(i, n, &src.0[i as usize], &bad, &root).is_err(),
                        "{first:?}"
                    );
                }
            }
            for m in 1..=n {
                let old_root = root_of_leaves(&src.0[..m as usize]);
                let p = consistency_proof(m, n, &mut src).unwrap();
                verify_consistency(m, n, &p, &old_root, &root).unwrap();
                let via_subtree = verify_subtree_consistency(0, m, n, &p, &old_root, &root);
                assert!(
                    via_subtree.is_ok(),
                    "subtree form of consistency {m}->{n}: {via_subtree:?}"
                );
                if m < n {
                    let mut wrong = old_root;
                    wrong[5] ^= 0x40;
                    assert!(verify_consistency(m, n, &p, &wrong, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn c2sp_example_seven_leaves() {
        // The C2SP merkle-tree spec's worked example: from size 4 to 7 the proof is [l].
        let mut src = leaves(7);
        let p = consistency_proof(4, 7, &mut src).unwrap();
        assert_eq!(p, vec![range_hash(4, 7, &mut src).unwrap()]);
        let p = consistency_proof(3, 7, &mut src).unwrap();
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn garbage_lengths_are_errors_not_panics() {
        let root = [0u8; 32];
        assert!(matches!(
            verify_inclusion(0, 2, &[1u8; 31], &[[0u8; 32]], &root),
            Err(ProofError::BadHashLength { .. })
        ));
        let short: Vec<Vec<u8>> = vec![vec![0u8; 12]];
        assert!(matches!(
            verify_inclusion(0, 2, &[1u8; 32], &short, &root),
            Err(ProofError::BadHashLength { .. })
        ));
        assert!(verify_consistency(u64::MAX, 1, &short, &root, &root).is_err());
        assert!(verify_subtree_consistency(1, u64::MAX, u64::MAX, &short, &root, &root).is_err());
        assert!(!is_valid_subtree(1, 9223372036854775810));
    }
}
