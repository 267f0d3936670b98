//! C2SP tlog-checkpoint v1: `<origin>\n<size>\n<base64 root>\n[extension lines]`, carried
//! as the text of a signed note.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::merkle::Hash;
use crate::note::{Note, NoteError, Verifier};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint {field}: {reason}")]
    Malformed { field: &'static str, reason: String },
    #[error("checkpoint signature: {0}")]
    Note(#[from] NoteError),
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    WrongOrigin { expected: String, found: String },
}

fn bad(field: &'static str, reason: impl Into<String>) -> CheckpointError {
    CheckpointError::Malformed {
        field,
        reason: reason.into(),
    }
}

/// The body of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Opaque extension lines, without their newlines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    pub fn new(origin: &str, size: u64, root: Hash) -> Self {
        Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// Parses the note text of a checkpoint.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("body", "must end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad("origin", "missing or empty"))?;
        let size_text = lines.next().ok_or_else(|| bad("size", "missing"))?;
        let size = parse_size(size_text)?;
        let root_text = lines.next().ok_or_else(|| bad("root hash", "missing"))?;
        let root_bytes = STANDARD
            .decode(root_text)
            .map_err(|_| bad("root hash", "not standard base64"))?;
        let root: Hash = root_bytes
            .as_slice()
            .try_into()
            .map_err(|_| bad("root hash", format!("{} bytes, not 32", root_bytes.len())))?;
        if STANDARD.encode(root) != root_text {
            return Err(bad("root hash", "not canonical base64"));
        }
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("extension", "empty line inside the body"));
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }

    pub fn to_body(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }
}

fn parse_size(s: &str) -> Result<u64, CheckpointError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("size", "must be ASCII decimal"));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(bad("size", "leading zero"));
    }
    s.parse().map_err(|_| bad("size", "does not fit 64 bits"))
}

/// A checkpoint whose log signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: Note,
    /// Names of the log keys whose signatures verified.
    pub verified_by: Vec<String>,
}

/// Parses signed checkpoint text and checks it against log keys. The origin must be the
/// name of one of the keys that verified (C2SP: key name SHOULD equal origin; cairn's logs
/// always do, and requiring it stops a key for one log vouching for another's origin).
pub fn open(bytes: &[u8], log_keys: &[Verifier]) -> Result<SignedCheckpoint, CheckpointError> {
    let note = Note::parse(bytes)?;
    let checkpoint = Checkpoint::parse_body(&note.text)?;
    let verified_by = note.verify(log_keys)?;
    if !verified_by.contains(&checkpoint.origin) {
        return Err(CheckpointError::WrongOrigin {
            expected: verified_by.join(", "),
            found: checkpoint.origin,
        });
    }
    Ok(SignedCheckpoint {
        checkpoint,
        note,
        verified_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_round_trips_and_rejects_bad_fields() {
        let c = Checkpoint::new("log.example/x", 70000, [7u8; 32]);
        assert_eq!(Checkpoint::parse_body(&c.to_body()).unwrap(), c);
        let root = STANDARD.encode([7u8; 32]);
        for (bad_body, field) in [
            (format!("\n1\n{root}\n"), "origin"),
            (format!("o\n01\n{root}\n"), "size"),
            (format!("o\n-1\n{root}\n"), "size"),
            (format!("o\n99999999999999999999\n{root}\n"), "size"),
            ("o\n1\nZG9uJ3QgY2FyZSAx\n".to_string(), "root hash"),
            (format!("o\n1\n{root}"), "body"),
            ("o\n1\n".to_string(), "root hash"),
        ] {
            match Checkpoint::parse_body(&bad_body) {
                Err(CheckpointError::Malformed { field: f, .. }) => {
                    assert_eq!(f, field, "{bad_body:?}")
                }
                other => panic!("{bad_body:?}: {other:?}"),
            }
        }
    }
}
