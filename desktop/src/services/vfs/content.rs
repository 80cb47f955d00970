//! File content on the wire: UTF-8 text as is, anything else as base64 (SPEC §5 `encoding`).
//!
//! The store keeps raw bytes; this module converts at the edge only. A read answers `utf8` when
//! the bytes are valid UTF-8 text (no NUL bytes), else `base64`, so text stays readable in
//! messages and binary stays exact: the contract's text form (`aether_shared::frame::text_form`,
//! the same rule the kernel converts binary frames by). Binary frames carry bytes as they are and
//! never come through here.

use aether_shared::frame;
use aether_shared::vfs::Encoding;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::error::VfsError;

/// The bytes that `content` in `encoding` stands for.
pub fn decode(content: &str, encoding: Encoding) -> Result<Vec<u8>, VfsError> {
    match encoding {
        Encoding::Utf8 => Ok(content.as_bytes().to_vec()),
        Encoding::Base64 => STANDARD
            .decode(content.as_bytes())
            .map_err(|e| VfsError::BadContent {
                encoding: "base64",
                why: e.to_string(),
            }),
    }
}

/// `bytes` for a reply: text as `utf8`, anything else as `base64`.
pub fn encode(bytes: &[u8]) -> (String, Encoding) {
    frame::text_form(bytes)
}

/// `bytes` as base64, whatever they hold (chunks of an upload).
pub fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// `bytes` for a chunked reply of at most `budget` wire bytes: text as `utf8` when it is valid
/// text that fits, else `base64` (which always fits a chunk sized by `chunk_len`).
pub fn encode_chunk(bytes: &[u8], budget: u64) -> (String, Encoding) {
    match as_text(bytes) {
        Some(text) if encoded_len(bytes) <= budget => (text.to_owned(), Encoding::Utf8),
        _ => (STANDARD.encode(bytes), Encoding::Base64),
    }
}

/// `bytes` as text, when they are valid UTF-8 without NUL bytes.
pub fn as_text(bytes: &[u8]) -> Option<&str> {
    frame::as_text(bytes)
}

/// How long `bytes` will be on the wire once encoded and written as a JSON string, in bytes (an
/// upper bound: every control character is counted as a `\uXXXX` escape).
pub fn encoded_len(bytes: &[u8]) -> u64 {
    match as_text(bytes) {
        Some(text) => {
            let escapes: u64 = text
                .bytes()
                .map(|b| match b {
                    b'"' | b'\\' => 1,
                    0..0x20 => 5,
                    _ => 0,
                })
                .sum();
            text.len() as u64 + escapes
        }
        None => bytes.len().div_ceil(3) as u64 * 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_travels_as_utf8_and_bytes_as_base64() {
        assert_eq!(encode(b"hello"), ("hello".to_owned(), Encoding::Utf8));
        assert_eq!(
            encode(&[0, 159, 146]),
            ("AJ+S".to_owned(), Encoding::Base64)
        );
        assert_eq!(encode("ünï".as_bytes()).1, Encoding::Utf8);
        assert!(decode("not base64!", Encoding::Base64).is_err());
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip_exactly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let (content, encoding) = encode(&bytes);
            prop_assert_eq!(decode(&content, encoding).unwrap(), bytes.clone());
            let json = serde_json::to_string(&content).unwrap();
            prop_assert!(encoded_len(&bytes) + 2 >= json.len() as u64);
        }
    }
}
