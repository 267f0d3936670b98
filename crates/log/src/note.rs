//! C2SP signed-note v1 (Ed25519, type 0x01) and tlog-cosignature v1 (type 0x04) keys,
//! signatures and note text.
//!
//! Key texts follow golang.org/x/mod/sumdb/note: a verifier key is
//! `<name>+<hex key id>+<base64(type || public key)>`, a signer key
//! `PRIVATE+KEY+<name>+<hex key id>+<base64(type || seed)>`. The key id is the first four
//! bytes of `SHA-256(name || 0x0A || type || public key)`.

use aws_lc_rs::signature::{self, KeyPair};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

use crate::merkle::sha256;

/// Signature type byte of an Ed25519 note signature.
pub const TYPE_ED25519: u8 = 0x01;
/// Signature type byte of an Ed25519 timestamped cosignature (cosignature/v1).
pub const TYPE_COSIGNATURE_V1: u8 = 0x04;
/// Signature type byte of an ML-DSA-44 subtree cosignature (tlog-cosignature, subtree/v1).
/// A log may add one to its checkpoints as a post-quantum second signature.
pub const TYPE_MLDSA44_SUBTREE: u8 = 0x06;

const ED25519_PUBLIC_LEN: usize = 32;
const MLDSA44_PUBLIC_LEN: usize = 1312;
const MLDSA44_SIGNATURE_LEN: usize = 2420;

fn public_key_len(key_type: u8) -> Result<usize, NoteError> {
    match key_type {
        TYPE_ED25519 | TYPE_COSIGNATURE_V1 => Ok(ED25519_PUBLIC_LEN),
        TYPE_MLDSA44_SUBTREE => Ok(MLDSA44_PUBLIC_LEN),
        other => Err(bad_key(format!(
            "unsupported key type 0x{other:02x} (cairn takes 0x01 Ed25519, 0x04 cosignature/v1, 0x06 ML-DSA-44)"
        ))),
    }
}

/// The `subtree/v1` message an ML-DSA-44 cosignature signs, for a checkpoint
/// (start 0, end = tree size). `None` if a name is empty or longer than 255 bytes.
pub fn subtree_message(
    cosigner: &str,
    time: u64,
    origin: &str,
    size: u64,
    root: &[u8; 32],
) -> Option<Vec<u8>> {
    let name_len = u8::try_from(cosigner.len()).ok().filter(|l| *l > 0)?;
    let origin_len = u8::try_from(origin.len()).ok().filter(|l| *l > 0)?;
    let mut m = b"subtree/v1\n\0".to_vec();
    m.push(name_len);
    m.extend_from_slice(cosigner.as_bytes());
    m.extend_from_slice(&time.to_be_bytes());
    m.push(origin_len);
    m.extend_from_slice(origin.as_bytes());
    m.extend_from_slice(&0u64.to_be_bytes());
    m.extend_from_slice(&size.to_be_bytes());
    m.extend_from_slice(root);
    Some(m)
}

/// Largest note accepted (checkpoints are a few hundred bytes; ML-DSA lines ~3.3 KB each).
pub const MAX_NOTE_BYTES: usize = 1 << 20;
/// Most signature lines accepted on one note (the spec asks verifiers to take at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// Why a key or note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("key text: {0}")]
    BadKey(String),
    #[error("note: {0}")]
    Malformed(String),
    #[error("note signature by {name} (key id {key_id}) does not verify")]
    BadSignature { name: String, key_id: String },
    #[error("note carries no signature from a known key")]
    NoKnownSignature,
}

fn bad_key(why: impl Into<String>) -> NoteError {
    NoteError::BadKey(why.into())
}

fn malformed(why: impl Into<String>) -> NoteError {
    NoteError::Malformed(why.into())
}

/// Checks a key name: non-empty, printable, no whitespace and no `+`.
pub fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() {
        return Err(bad_key("empty key name"));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        return Err(bad_key(format!(
            "key name {name:?} contains whitespace, a control character or '+'"
        )));
    }
    Ok(())
}

/// `SHA-256(name || "\n" || type || key)[:4]`.
pub fn key_id(name: &str, key_type: u8, key: &[u8]) -> [u8; 4] {
    let mut buf = Vec::with_capacity(name.len() + 2 + key.len());
    buf.extend_from_slice(name.as_bytes());
    buf.push(b'\n');
    buf.push(key_type);
    buf.extend_from_slice(key);
    let h = sha256(&buf);
    [h[0], h[1], h[2], h[3]]
}

/// A public key that checks note signatures: a log key (type 0x01) or a witness
/// cosigning key (type 0x04).
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key_type: u8,
    key_id: [u8; 4],
    public_key: Vec<u8>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Verifier({})", self.to_vkey())
    }
}

impl Verifier {
    /// Parses `<name>+<hex8>+<base64(type || key)>`. Splits on the first two `+` only,
    /// since base64 may contain `+`. The key id must recompute.
    pub fn from_vkey(text: &str) -> Result<Self, NoteError> {
        let text = text.trim();
        let mut parts = text.splitn(3, '+');
        let (name, id_hex, b64) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(i), Some(b)) => (n, i, b),
            _ => return Err(bad_key("verifier key must be <name>+<hex id>+<base64 key>")),
        };
        check_name(name)?;
        let id = parse_key_id(id_hex)?;
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| bad_key("verifier key is not standard base64"))?;
        let (&key_type, key) = raw.split_first().ok_or_else(|| bad_key("empty key"))?;
        let want = public_key_len(key_type)?;
        if key.len() != want {
            return Err(bad_key(format!(
                "public key of type 0x{key_type:02x} is {} bytes, not {want}",
                key.len()
            )));
        }
        let public_key = key.to_vec();
        if key_id(name, key_type, &public_key) != id {
            return Err(bad_key(format!("key id {id_hex} does not match the key")));
        }
        Ok(Verifier {
            name: name.to_string(),
            key_type,
            key_id: id,
            public_key,
        })
    }

    pub fn to_vkey(&self) -> String {
        let mut raw = vec![self.key_type];
        raw.extend_from_slice(&self.public_key);
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            STANDARD.encode(raw)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    pub fn key_type(&self) -> u8 {
        self.key_type
    }

    /// Whether the signature line names this key.
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.key_id
    }

    fn verify_raw(&self, msg: &[u8], sig: &[u8]) -> bool {
        if self.key_type == TYPE_MLDSA44_SUBTREE {
            signature::UnparsedPublicKey::new(&signature::ML_DSA_44, &self.public_key)
                .verify(msg, sig)
                .is_ok()
        } else {
            signature::UnparsedPublicKey::new(&signature::ED25519, &self.public_key)
                .verify(msg, sig)
                .is_ok()
        }
    }

    /// Checks a type-0x01 signature over the note text.
    pub fn verify_note_signature(&self, text: &str, sig: &NoteSignature) -> bool {
        self.key_type == TYPE_ED25519
            && self.matches(sig)
            && self.verify_raw(text.as_bytes(), &sig.signature)
    }

    /// Checks a cosignature line over a checkpoint body (cosignature/v1 for 0x04 keys,
    /// subtree/v1 for 0x06 keys); returns its timestamp.
    pub fn verify_cosignature(&self, checkpoint_body: &str, sig: &NoteSignature) -> Option<u64> {
        if !self.matches(sig) || sig.signature.len() < 8 {
            return None;
        }
        let (ts, s) = sig.signature.split_at(8);
        let time = u64::from_be_bytes(ts.try_into().ok()?);
        if time > i64::MAX as u64 {
            return None;
        }
        let msg = match self.key_type {
            TYPE_COSIGNATURE_V1 if s.len() == 64 => cosignature_message(time, checkpoint_body),
            TYPE_MLDSA44_SUBTREE if s.len() == MLDSA44_SIGNATURE_LEN => {
                let cp = crate::checkpoint::Checkpoint::parse_body(checkpoint_body).ok()?;
                subtree_message(&self.name, time, &cp.origin, cp.size, &cp.root)?
            }
            _ => return None,
        };
        self.verify_raw(&msg, s).then_some(time)
    }
}

fn parse_key_id(id_hex: &str) -> Result<[u8; 4], NoteError> {
    if id_hex.len() != 8
        || !id_hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(bad_key("key id must be 8 lowercase hex digits"));
    }
    let v = hex::decode(id_hex).map_err(|_| bad_key("key id is not hex"))?;
    v.try_into().map_err(|_| bad_key("key id must be 4 bytes"))
}

/// The message a cosignature/v1 signs: `cosignature/v1\ntime <T>\n` + the checkpoint body.
pub fn cosignature_message(time: u64, checkpoint_body: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{checkpoint_body}").into_bytes()
}

/// A private key that signs notes (type 0x01) or cosignatures (type 0x04).
pub struct Signer {
    name: String,
    key_type: u8,
    key_id: [u8; 4],
    seed: Zeroizing<[u8; 32]>,
    pair: Pair,
}

enum Pair {
    Ed25519(signature::Ed25519KeyPair),
    MlDsa44(signature::PqdsaKeyPair),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({}+{})", self.name, hex::encode(self.key_id))
    }
}

impl Signer {
    /// A fresh random key.
    pub fn generate(name: &str, key_type: u8) -> Result<Self, NoteError> {
        let mut seed = [0u8; 32];
        aws_lc_rs::rand::fill(&mut seed).map_err(|_| bad_key("system random generator failed"))?;
        let s = Self::from_seed(name, key_type, seed);
        seed.fill(0);
        s
    }

    pub fn from_seed(name: &str, key_type: u8, seed: [u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        public_key_len(key_type)?;
        let pair = if key_type == TYPE_MLDSA44_SUBTREE {
            Pair::MlDsa44(
                signature::PqdsaKeyPair::from_seed(&signature::ML_DSA_44_SIGNING, &seed)
                    .map_err(|_| bad_key("bad ML-DSA-44 seed"))?,
            )
        } else {
            Pair::Ed25519(
                signature::Ed25519KeyPair::from_seed_unchecked(&seed)
                    .map_err(|_| bad_key("bad Ed25519 seed"))?,
            )
        };
        let pk = pair.public_key();
        Ok(Signer {
            name: name.to_string(),
            key_type,
            key_id: key_id(name, key_type, &pk),
            seed: Zeroizing::new(seed),
            pair,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex8>+<base64(type || seed)>`.
    pub fn from_skey(text: &str) -> Result<Self, NoteError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad_key("signer key must start with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (name, id_hex, b64) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(i), Some(b)) => (n, i, b),
            _ => {
                return Err(bad_key(
                    "signer key must be PRIVATE+KEY+<name>+<hex id>+<base64>",
                ))
            }
        };
        let id = parse_key_id(id_hex)?;
        let mut raw = STANDARD
            .decode(b64)
            .map_err(|_| bad_key("signer key is not standard base64"))?;
        if raw.len() != 33 {
            raw.fill(0);
            return Err(bad_key(
                "signer key must hold a type byte and a 32-byte seed",
            ));
        }
        let key_type = raw[0];
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&raw[1..]);
        raw.fill(0);
        let signer = Self::from_seed(name, key_type, seed);
        seed.fill(0);
        let signer = signer?;
        if signer.key_id != id {
            return Err(bad_key(format!("key id {id_hex} does not match the key")));
        }
        Ok(signer)
    }

    /// The signer key text. Secret: write it with mode 0600 and never log it.
    pub fn to_skey(&self) -> String {
        let mut raw = vec![self.key_type];
        raw.extend_from_slice(self.seed.as_ref());
        let s = format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            STANDARD.encode(&raw)
        );
        raw.fill(0);
        s
    }

    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            key_type: self.key_type,
            key_id: self.key_id,
            public_key: self.pair.public_key(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_type(&self) -> u8 {
        self.key_type
    }

    /// Signs note text (type 0x01 keys).
    pub fn sign_note(&self, text: &str) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: self.pair.sign(text.as_bytes()),
        }
    }

    /// Cosigns a checkpoint body at `time` (seconds since the epoch): cosignature/v1 for a
    /// 0x04 key, subtree/v1 for a 0x06 key (which signs the parsed checkpoint fields).
    pub fn cosign(&self, checkpoint_body: &str, time: u64) -> Result<NoteSignature, NoteError> {
        let msg = match self.key_type {
            TYPE_MLDSA44_SUBTREE => {
                let cp = crate::checkpoint::Checkpoint::parse_body(checkpoint_body)
                    .map_err(|e| malformed(e.to_string()))?;
                subtree_message(&self.name, time, &cp.origin, cp.size, &cp.root).ok_or_else(
                    || malformed("cosigner name or origin is empty or longer than 255 bytes"),
                )?
            }
            TYPE_COSIGNATURE_V1 => cosignature_message(time, checkpoint_body),
            _ => {
                return Err(bad_key(
                    "an Ed25519 note key (0x01) does not cosign; use a 0x04 or 0x06 key",
                ))
            }
        };
        let mut bytes = time.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.pair.sign(&msg));
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: bytes,
        })
    }
}

impl Pair {
    fn public_key(&self) -> Vec<u8> {
        match self {
            Pair::Ed25519(p) => p.public_key().as_ref().to_vec(),
            Pair::MlDsa44(p) => p.public_key().as_ref().to_vec(),
        }
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            Pair::Ed25519(p) => p.sign(msg).as_ref().to_vec(),
            Pair::MlDsa44(p) => {
                let mut sig = vec![0u8; MLDSA44_SIGNATURE_LEN];
                // Cannot fail with a valid key and a buffer of the algorithm's size; if it
                // ever did, the empty signature would simply not verify.
                match p.sign(msg, &mut sig) {
                    Ok(n) => sig.truncate(n),
                    Err(_) => sig.clear(),
                }
                sig
            }
        }
    }
}

/// One signature line: `— <name> <base64(key id || signature)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: [u8; 4],
    pub signature: Vec<u8>,
}

impl NoteSignature {
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_vec();
        raw.extend_from_slice(&self.signature);
        format!("\u{2014} {} {}\n", self.name, STANDARD.encode(raw))
    }

    fn parse_line(line: &str) -> Result<Self, NoteError> {
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| malformed("signature line must start with an em dash and a space"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| malformed("signature line must be '— <name> <base64>'"))?;
        check_name(name).map_err(|e| malformed(format!("signature line: {e}")))?;
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| malformed("signature is not standard base64"))?;
        if raw.len() < 5 {
            return Err(malformed("signature is shorter than a key id and one byte"));
        }
        Ok(NoteSignature {
            name: name.to_string(),
            key_id: [raw[0], raw[1], raw[2], raw[3]],
            signature: raw[4..].to_vec(),
        })
    }
}

/// A parsed note: its text (ending in `\n`) and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note. The text ends at the last blank line.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(malformed(format!("larger than {MAX_NOTE_BYTES} bytes")));
        }
        let s = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
        if s.chars().any(|c| c.is_control() && c != '\n') {
            return Err(malformed("contains a control character other than newline"));
        }
        let split = s
            .rfind("\n\n")
            .ok_or_else(|| malformed("no blank line before the signatures"))?;
        let text = &s[..split + 1];
        let sigs = &s[split + 2..];
        if !sigs.ends_with('\n') {
            return Err(malformed("signature block must end with a newline"));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(malformed(format!("more than {MAX_SIGNATURES} signatures")));
            }
            signatures.push(NoteSignature::parse_line(line)?);
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    pub fn to_text(&self) -> String {
        let mut s = self.text.clone();
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.to_line());
        }
        s
    }

    /// Checks the note against known Ed25519 keys: every signature line naming a known key
    /// must verify, and at least one must. Returns the names that verified. Unknown keys
    /// (and cosignatures, which [`Note::verified_cosigners`] handles) are ignored.
    pub fn verify(&self, keys: &[Verifier]) -> Result<Vec<String>, NoteError> {
        let mut ok = Vec::new();
        for sig in &self.signatures {
            for k in keys
                .iter()
                .filter(|k| k.key_type == TYPE_ED25519 && k.matches(sig))
            {
                if !k.verify_note_signature(&self.text, sig) {
                    return Err(NoteError::BadSignature {
                        name: sig.name.clone(),
                        key_id: hex::encode(sig.key_id),
                    });
                }
                if !ok.contains(&k.name) {
                    ok.push(k.name.clone());
                }
            }
        }
        if ok.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(ok)
    }

    /// The distinct cosigner keys (type 0x04 or 0x06) whose cosignature over this note verifies,
    /// with their timestamps. A line naming a known witness that fails is an error.
    pub fn verified_cosigners(
        &self,
        witnesses: &[Verifier],
    ) -> Result<Vec<(Verifier, u64)>, NoteError> {
        let mut out: Vec<(Verifier, u64)> = Vec::new();
        for sig in &self.signatures {
            for w in witnesses
                .iter()
                .filter(|w| w.key_type != TYPE_ED25519 && w.matches(sig))
            {
                match w.verify_cosignature(&self.text, sig) {
                    Some(t) => {
                        if !out.iter().any(|(v, _)| v == w) {
                            out.push((w.clone(), t));
                        }
                    }
                    None => {
                        return Err(NoteError::BadSignature {
                            name: sig.name.clone(),
                            key_id: hex::encode(sig.key_id),
                        })
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;

    const TESSERA_VKEY: &str =
        "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
    // Tessera's public test key (testdata/build_log.sh), not a secret.
    const TESSERA_SKEY: &str = "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg";

    #[test]
    fn tessera_test_keys_parse_and_match() {
        let v = Verifier::from_vkey(TESSERA_VKEY).unwrap();
        assert_eq!(v.to_vkey(), TESSERA_VKEY);
        let s = Signer::from_skey(TESSERA_SKEY).unwrap();
        assert_eq!(s.verifier(), v);
        assert_eq!(s.to_skey(), TESSERA_SKEY);
    }

    #[test]
    fn bad_keys_are_refused() {
        for bad in [
            "",
            "name",
            "name+33d7b496",
            "example.com/log/testdata+33d7b497+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
            "example.com/log/testdata+33D7B496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
            "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkk",
            "example.com/log/testdata+33d7b496+!!!!",
            "+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
        ] {
            assert!(
                matches!(Verifier::from_vkey(bad), Err(NoteError::BadKey(_))),
                "{bad:?}"
            );
        }
        assert!(Signer::from_skey("PRIVATE+KEY+x+00000000+AQ==").is_err());
        assert!(Signer::from_skey(TESSERA_VKEY).is_err());
    }

    #[test]
    fn sign_verify_and_reject_tampering() {
        let s = Signer::generate("log.example/a", TYPE_ED25519).unwrap();
        let other = Signer::generate("log.example/a", TYPE_ED25519).unwrap();
        let text = "log.example/a\n3\nAAAA\n";
        let note = Note {
            text: text.into(),
            signatures: vec![s.sign_note(text)],
        };
        let parsed = Note::parse(note.to_text().as_bytes()).unwrap();
        assert_eq!(parsed, note);
        assert_eq!(
            parsed.verify(&[s.verifier()]).unwrap(),
            vec!["log.example/a".to_string()]
        );
        assert_eq!(
            parsed.verify(&[other.verifier()]),
            Err(NoteError::NoKnownSignature)
        );
        let mut tampered = parsed.clone();
        tampered.text = "log.example/a\n4\nAAAA\n".into();
        assert!(matches!(
            tampered.verify(&[s.verifier()]),
            Err(NoteError::BadSignature { .. })
        ));
    }

    #[test]
    fn cosignatures_verify_with_timestamp() {
        let w = Signer::generate("witness.example", TYPE_COSIGNATURE_V1).unwrap();
        let body = "log.example/a\n3\nAAAA\n";
        let line = w.cosign(body, 1_700_000_000).unwrap();
        assert_eq!(line.signature.len(), 72);
        let note = Note {
            text: body.into(),
            signatures: vec![line],
        };
        let got = note.verified_cosigners(&[w.verifier()]).unwrap();
        assert_eq!(got, vec![(w.verifier(), 1_700_000_000)]);
        // A log key with the same name does not count as a witness.
        let l = Signer::generate("witness.example", TYPE_ED25519).unwrap();
        assert!(note.verified_cosigners(&[l.verifier()]).unwrap().is_empty());
    }

    #[test]
    fn mldsa44_subtree_cosignatures_sign_and_verify() {
        let pq = Signer::generate("log.example/a", TYPE_MLDSA44_SUBTREE).unwrap();
        let v = pq.verifier();
        assert_eq!(Verifier::from_vkey(&v.to_vkey()).unwrap(), v);
        assert_eq!(Signer::from_skey(&pq.to_skey()).unwrap().verifier(), v);
        let body = Checkpoint::new("log.example/a", 3, [5u8; 32]).to_body();
        let sig = pq.cosign(&body, 1_700_000_000).unwrap();
        assert_eq!(sig.signature.len(), 8 + MLDSA44_SIGNATURE_LEN);
        assert_eq!(v.verify_cosignature(&body, &sig), Some(1_700_000_000));
        // The message is the subtree/v1 struct: fixed label, length-prefixed names.
        let m = subtree_message("log.example/a", 7, "log.example/a", 3, &[5u8; 32]).unwrap();
        assert_eq!(&m[..12], b"subtree/v1\n\0");
        assert_eq!(m.len(), 12 + 1 + 13 + 8 + 1 + 13 + 8 + 8 + 32);
        // Another size, or a flipped byte, fails.
        let other = Checkpoint::new("log.example/a", 4, [5u8; 32]).to_body();
        assert_eq!(v.verify_cosignature(&other, &sig), None);
        let mut bad = sig.clone();
        bad.signature[100] ^= 1;
        assert_eq!(v.verify_cosignature(&body, &bad), None);
        // Round trip through a note line.
        let note = Note::parse(format!("{body}\n{}", sig.to_line()).as_bytes()).unwrap();
        assert_eq!(note.verified_cosigners(&[v]).unwrap().len(), 1);
        // An Ed25519 note key cannot cosign.
        assert!(Signer::generate("x", TYPE_ED25519)
            .unwrap()
            .cosign(&body, 1)
            .is_err());
    }

    #[test]
    fn malformed_notes_are_refused() {
        for bad in [
            &b"no blank line\n"[..],
            b"text\n\n",
            b"text\n\n\xe2\x80\x94 name AAAA\n",
            b"text\n\n- name AAAAAAAAAA==\n",
            b"text\n\n\xe2\x80\x94 name AAAAAAAAAA==",
            b"te\x01xt\n\n\xe2\x80\x94 name AAAAAAAAAA==\n",
            b"\xff\n\n\xe2\x80\x94 name AAAAAAAAAA==\n",
        ] {
            assert!(
                matches!(Note::parse(bad), Err(NoteError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
