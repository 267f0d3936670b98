//! Base64 as DSSE requires it: accept both the standard and the URL-safe alphabet, with or
//! without padding, on input; always write standard base64 with padding.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(false);
const STD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decodes standard or URL-safe base64. Mixing the two alphabets in one string is refused.
pub fn decode_any(s: &str) -> Option<Vec<u8>> {
    let has_std = s.bytes().any(|b| b == b'+' || b == b'/');
    let has_url = s.bytes().any(|b| b == b'-' || b == b'_');
    match (has_std, has_url) {
        (true, true) => None,
        (_, true) => URL_LENIENT.decode(s).ok(),
        _ => STD_LENIENT.decode(s).ok(),
    }
}

/// Standard base64 with padding.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_alphabets_and_missing_padding() {
        assert_eq!(
            decode_any("-_-_Pj8=").unwrap(),
            vec![0xfb, 0xff, 0xbf, 0x3e, 0x3f]
        );
        assert_eq!(
            decode_any("+/+/Pj8=").unwrap(),
            vec![0xfb, 0xff, 0xbf, 0x3e, 0x3f]
        );
        assert_eq!(
            decode_any("+/+/Pj8").unwrap(),
            vec![0xfb, 0xff, 0xbf, 0x3e, 0x3f]
        );
    }

    #[test]
    fn rejects_mixed_alphabets_and_garbage() {
        assert!(decode_any("-/+_").is_none());
        assert!(decode_any("a b").is_none());
        assert!(decode_any("abc$").is_none());
        // non-zero trailing bits would let two encodings map to one value
        assert!(decode_any("YR==").is_none());
    }

    #[test]
    fn encode_is_standard_padded() {
        assert_eq!(encode(&[0xfb, 0xff, 0xbf, 0x3e, 0x3f]), "+/+/Pj8=");
    }
}
