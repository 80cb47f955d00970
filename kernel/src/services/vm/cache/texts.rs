//! Knowing a warm module by the text it was sent as: the base64 or WAT (or file bytes) of a
//! spawn, before it is decoded, parsed or hashed. A spawn of a module the cache holds then costs
//! a short fingerprint and one byte-for-byte comparison instead of a base64 decode, a WAT parse
//! and a SHA-256 of the whole module.
//!
//! The fingerprint reads only a few hundred bytes of the text (its length, its ends and samples
//! in between), so different texts may share one: it only says where to look, and a text is
//! taken as known only when it equals a remembered one exactly. A fingerprint leads to at most
//! [`MAX_PER_FINGERPRINT`] modules, so texts made to collide cost at most that many comparisons
//! and can only push each other out, never stand for another module.

use std::hash::{DefaultHasher, Hash, Hasher};

/// How many modules one fingerprint may lead to; the oldest lead is dropped beyond.
pub const MAX_PER_FINGERPRINT: usize = 4;
/// How many texts one module is known by (say its base64 and its WAT); the oldest is forgotten.
pub const MAX_TEXTS_PER_MODULE: usize = 2;

/// Bytes read at each end of a text for its fingerprint.
const ENDS: usize = 256;
/// Samples of 8 bytes read between the ends.
const SAMPLES: usize = 32;

/// How a module's text is to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextKind {
    /// Base64 of the wasm bytes.
    Base64,
    /// The bytes as given: wasm, or WAT text.
    Raw,
}

/// A module as its requester sent it, before it is decoded.
#[derive(Clone, Copy, Debug)]
pub struct SourceText<'a> {
    pub kind: TextKind,
    pub bytes: &'a [u8],
}

/// A text a module is known by (a copy, counted in the cache's memory).
pub struct KnownText {
    kind: TextKind,
    bytes: Box<[u8]>,
}

impl KnownText {
    pub fn new(text: SourceText) -> KnownText {
        KnownText {
            kind: text.kind,
            bytes: text.bytes.into(),
        }
    }

    pub fn is(&self, text: SourceText) -> bool {
        self.kind == text.kind && *self.bytes == *text.bytes
    }

    pub fn as_text(&self) -> SourceText<'_> {
        SourceText {
            kind: self.kind,
            bytes: &self.bytes,
        }
    }

    /// Bytes it holds.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
}

/// Where to look for a text: equal texts always share it; different ones seldom do.
pub fn fingerprint(text: SourceText) -> u64 {
    let bytes = text.bytes;
    let mut hasher = DefaultHasher::new();
    text.kind.hash(&mut hasher);
    bytes.len().hash(&mut hasher);
    hasher.write(&bytes[..bytes.len().min(ENDS)]);
    hasher.write(&bytes[bytes.len().saturating_sub(ENDS)..]);
    if bytes.len() > 2 * ENDS {
        let step = bytes.len() / SAMPLES;
        for at in (0..SAMPLES).map(|i| i * step) {
            hasher.write(&bytes[at..(at + 8).min(bytes.len())]);
        }
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(bytes: &[u8]) -> SourceText<'_> {
        SourceText {
            kind: TextKind::Raw,
            bytes,
        }
    }

    #[test]
    fn equal_texts_share_a_fingerprint_and_a_known_text_matches_only_its_equal() {
        let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut other = big.clone();
        other[50_020] ^= 1; // between the samples: same fingerprint, still another text
        assert_eq!(fingerprint(raw(&big)), fingerprint(raw(&big.clone())));
        assert_eq!(fingerprint(raw(&big)), fingerprint(raw(&other)));
        let known = KnownText::new(raw(&big));
        assert!(known.is(raw(&big)));
        assert!(!known.is(raw(&other)));
        let as_base64 = SourceText {
            kind: TextKind::Base64,
            bytes: &big,
        };
        assert!(!known.is(as_base64), "the same bytes read another way");
        assert_ne!(fingerprint(raw(&big)), fingerprint(as_base64));
        assert_ne!(
            fingerprint(raw(b"(module)")),
            fingerprint(raw(b"(module )"))
        );
    }
}
