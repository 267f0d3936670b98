//! Streaming file hashing without following symlinks.
//!
//! Hand-written over `aws_lc_rs::digest` (SHA-NI accelerated) because the build needs
//! streaming SHA-256 of large toolchain files and SHA-1 for git object ids, in one place.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use aws_lc_rs::digest::{Context, SHA1_FOR_LEGACY_USE_ONLY, SHA256, SHA512};

const BUF: usize = 256 * 1024;

/// Opens a regular file for reading without following a final symlink.
pub fn open_nofollow(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

fn hash_reader(mut r: impl Read, ctx: &mut Context) -> io::Result<u64> {
    let mut buf = vec![0u8; BUF];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        ctx.update(&buf[..n]);
        total += n as u64;
    }
    Ok(total)
}

/// SHA-256 of a regular file (symlinks are not followed), and its size.
pub fn sha256_file(path: &Path) -> io::Result<([u8; 32], u64)> {
    let f = open_nofollow(path)?;
    let mut ctx = Context::new(&SHA256);
    let n = hash_reader(f, &mut ctx)?;
    Ok((to32(ctx.finish().as_ref()), n))
}

/// SHA-512 of a regular file (symlinks are not followed).
pub fn sha512_file(path: &Path) -> io::Result<Vec<u8>> {
    let f = open_nofollow(path)?;
    let mut ctx = Context::new(&SHA512);
    hash_reader(f, &mut ctx)?;
    Ok(ctx.finish().as_ref().to_vec())
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    to32(aws_lc_rs::digest::digest(&SHA256, data).as_ref())
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha256(data))
}

/// Git blob id (SHA-1 repositories) of a file's content, streamed.
pub fn git_blob_id_file(path: &Path, size: u64) -> io::Result<String> {
    let f = open_nofollow(path)?;
    let mut ctx = Context::new(&SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(format!("blob {size}\0").as_bytes());
    let n = hash_reader(f, &mut ctx)?;
    if n != size {
        return Err(io::Error::other(format!(
            "{} changed size while being hashed",
            path.display()
        )));
    }
    Ok(hex::encode(ctx.finish().as_ref()))
}

/// Git object id of an in-memory object of the given type.
pub fn git_object_id(kind: &str, body: &[u8]) -> String {
    let mut ctx = Context::new(&SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(format!("{kind} {}\0", body.len()).as_bytes());
    ctx.update(body);
    hex::encode(ctx.finish().as_ref())
}

fn to32(b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&b[..32]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // `git hash-object` of "hello\n"
        assert_eq!(
            git_object_id("blob", b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"hello\n").unwrap();
        assert_eq!(
            git_blob_id_file(&p, 6).unwrap(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        std::os::unix::fs::symlink(&p, d.path().join("l")).unwrap();
        assert!(
            sha256_file(&d.path().join("l")).is_err(),
            "symlinks are not followed"
        );
    }
}
