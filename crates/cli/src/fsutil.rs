//! Atomic file writes: a reader sees the old file or the new one, never half of one.

use std::path::Path;

/// Writes `bytes` durably through a temporary file, fsync and rename, then fsyncs the
/// directory: the same mechanism the log uses for its tiles and checkpoint. Bundles and
/// exports are public documents: 0644.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    cairn_log::fsutil::write_durable(path, bytes, 0o644)?;
    Ok(())
}
