//! The SEV-SNP extended-report certificate table (GHCB spec, "SNP Extended Guest
//! Request"; Linux configfs-tsm `auxblob`): entries of {GUID (16 bytes, RFC 4122 byte
//! order), offset u32 LE, length u32 LE} ended by an all-zero entry, offsets counted from
//! the table's start.
//!
//! Written by hand because the `sev` crate's parser walks raw pointers without bounds
//! checks and unwraps, and these bytes come from the host hypervisor, which SEV-SNP's
//! threat model does not trust.

use crate::TeeError;

/// GUID of the VCEK entry: 63da758d-e664-4564-adc5-f4b93be8accd.
pub const VCEK_GUID: [u8; 16] = [
    0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd,
];
/// GUID of the VLEK entry: a8074bc2-a25a-483e-aae6-39c045a0b8a1.
pub const VLEK_GUID: [u8; 16] = [
    0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1,
];
const ENTRY_LEN: usize = 24;
/// More entries than any platform writes (ARK, ASK, VCEK/VLEK, CRL, a few OEM ones).
const MAX_ENTRIES: usize = 64;

/// One entry: its GUID and the bytes it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertEntry<'a> {
    pub guid: [u8; 16],
    pub data: &'a [u8],
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

/// Parses the table, checking every offset and length against `table`'s bounds.
pub fn parse(table: &[u8]) -> Result<Vec<CertEntry<'_>>, TeeError> {
    let bad = |m: String| TeeError::Report(format!("SEV-SNP certificate table: {m}"));
    let mut out = Vec::new();
    for i in 0.. {
        if i > MAX_ENTRIES {
            return Err(bad(format!("more than {MAX_ENTRIES} entries")));
        }
        let at = i * ENTRY_LEN;
        let entry = table.get(at..at + ENTRY_LEN).ok_or_else(|| {
            bad(format!(
                "entry {i} runs past the end (no terminating entry)"
            ))
        })?;
        if entry.iter().all(|b| *b == 0) {
            break;
        }
        let mut guid = [0u8; 16];
        guid.copy_from_slice(&entry[..16]);
        let (offset, len) = (u32_at(entry, 16) as usize, u32_at(entry, 20) as usize);
        let data = offset
            .checked_add(len)
            .and_then(|end| table.get(offset..end))
            .ok_or_else(|| {
                bad(format!(
                    "entry {i}: offset {offset} + length {len} is outside the {}-byte table",
                    table.len()
                ))
            })?;
        out.push(CertEntry { guid, data });
    }
    Ok(out)
}

/// The VCEK certificate (DER) from a certificate table.
pub fn vcek(table: &[u8]) -> Result<&[u8], TeeError> {
    let entries = parse(table)?;
    if let Some(e) = entries.iter().find(|e| e.guid == VCEK_GUID) {
        return Ok(e.data);
    }
    Err(TeeError::Report(
        if entries.iter().any(|e| e.guid == VLEK_GUID) {
            "the report is signed with a VLEK; cairn's SEV-SNP verifier accepts VCEK-signed reports only"
        } else {
            "the host supplied no VCEK certificate with the report"
        }
        .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(entries: &[([u8; 16], &[u8])]) -> Vec<u8> {
        let mut head = Vec::new();
        let mut body = Vec::new();
        let start = (entries.len() + 1) * ENTRY_LEN;
        for (guid, data) in entries {
            head.extend_from_slice(guid);
            head.extend_from_slice(&((start + body.len()) as u32).to_le_bytes());
            head.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
        }
        head.extend_from_slice(&[0; ENTRY_LEN]);
        head.extend(body);
        head
    }

    const ARK: [u8; 16] = [0xc0; 16];

    #[test]
    fn finds_the_vcek_among_other_entries() {
        let t = table(&[(ARK, b"ark"), (VCEK_GUID, b"vcek-der"), ([7; 16], b"")]);
        assert_eq!(vcek(&t).unwrap(), b"vcek-der");
        assert_eq!(parse(&t).unwrap().len(), 3);
    }

    #[test]
    fn names_what_is_missing() {
        let e = vcek(&table(&[(VLEK_GUID, b"vlek")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("signed with a VLEK"), "{e}");
        let e = vcek(&table(&[(ARK, b"ark")])).unwrap_err().to_string();
        assert!(e.contains("no VCEK"), "{e}");
        let e = vcek(&[]).unwrap_err().to_string();
        assert!(e.contains("no terminating entry"), "{e}");
    }

    #[test]
    fn out_of_bounds_entries_are_refused() {
        let mut t = table(&[(VCEK_GUID, b"vcek")]);
        // Length one past the end.
        t[20] = 5;
        assert!(vcek(&t).unwrap_err().to_string().contains("outside the"));
        // Offset near u32::MAX: no overflow, an error.
        t[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(vcek(&t).unwrap_err().to_string().contains("outside the"));
        // A table of only non-zero entries and no terminator.
        assert!(parse(&[1u8; ENTRY_LEN * 70]).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse(&bytes);
            let _ = vcek(&bytes);
        }

        #[test]
        fn well_formed_tables_round_trip(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let t = table(&[(ARK, b"a"), (VCEK_GUID, &data)]);
            prop_assert_eq!(vcek(&t).unwrap(), data.as_slice());
        }
    }
}
