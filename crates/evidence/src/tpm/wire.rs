//! A bounds-checked big-endian reader for TPM 2.0 wire structures (TPM 2.0 Part 2).
//!
//! Hand-written rather than `tpm2-protocol` (edition 2024, MSRV 1.95, above the
//! workspace's 1.85): we need only three structures, and a small reader lets every
//! error name the exact field that was short or malformed.

use crate::error::EvidenceError;

pub(crate) struct Reader<'a> {
    what: &'static str,
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(what: &'static str, buf: &'a [u8]) -> Self {
        Reader { what, buf, pos: 0 }
    }

    pub(crate) fn bytes(
        &mut self,
        n: usize,
        field: &'static str,
    ) -> Result<&'a [u8], EvidenceError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| EvidenceError::TpmStructure {
                what: self.what,
                field,
                reason: format!(
                    "needs {n} bytes at offset {}, only {} left",
                    self.pos,
                    self.buf.len() - self.pos
                ),
            })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, EvidenceError> {
        Ok(self.bytes(1, field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, EvidenceError> {
        let b = self.bytes(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, EvidenceError> {
        let b = self.bytes(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, EvidenceError> {
        let b = self.bytes(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A TPM2B: 16-bit size, then that many bytes, at most `max`.
    pub(crate) fn tpm2b(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<&'a [u8], EvidenceError> {
        let n = self.u16(field)? as usize;
        if n > max {
            return Err(self.err(field, format!("size {n} exceeds the maximum of {max}")));
        }
        self.bytes(n, field)
    }

    pub(crate) fn finish(&self) -> Result<(), EvidenceError> {
        if self.pos != self.buf.len() {
            return Err(self.err(
                "(end)",
                format!(
                    "{} trailing bytes after the structure",
                    self.buf.len() - self.pos
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn err(&self, field: &'static str, reason: String) -> EvidenceError {
        EvidenceError::TpmStructure {
            what: self.what,
            field,
            reason,
        }
    }
}
