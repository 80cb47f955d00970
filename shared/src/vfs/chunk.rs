//! Files larger than one bus frame, in chunks (SPEC §5 `vfs:read`/`vfs:write`, chunked forms).
//!
//! A chunked read asks `vfs:read {path, offset, length}` and gets at most `length` bytes from
//! `offset` (fewer when they would not fit in one frame), with `eof` once the end is reached.
//! [`ChunkedRead`] drives that loop for any reader (the kernel's module reader, the desktop's
//! relay client): it checks that every chunk continues the last one, that the file did not change
//! between chunks (same `size` and `mtime`) and that it stays under a size cap.
//!
//! A chunked write sends `vfs:write {path, content, encoding, upload, offset, last}`: chunks are
//! staged by the serving tab, and the file is replaced whole only when the chunk with `last: true`
//! arrives. [`chunk_len`] is how many raw bytes fit in one frame as base64, [`binary_chunk_len`]
//! how many fit in one binary frame ([`crate::frame`]), where bytes are not expanded.

use super::{FileBytes, FileContent, Read};

/// Room for the envelope around a chunk's content (topic, addresses, time, other fields).
pub const FRAME_OVERHEAD_BYTES: u64 = 4096;

/// Raw bytes per chunk that fit in a frame of `max_frame_bytes` once base64-encoded (a multiple
/// of 3, so chunks encode without padding in between); at least 3.
pub fn chunk_len(max_frame_bytes: u64) -> u64 {
    let room = max_frame_bytes.saturating_sub(FRAME_OVERHEAD_BYTES);
    (room / 4 * 3).max(3)
}

/// Raw bytes per chunk that fit in a binary frame of `max_frame_bytes` (header and bytes); at
/// least 1. A third more than [`chunk_len`]: nothing is expanded.
pub fn binary_chunk_len(max_frame_bytes: u64) -> u64 {
    max_frame_bytes.saturating_sub(FRAME_OVERHEAD_BYTES).max(1)
}

/// Where an answer's bytes sit in the file: what a chunked read checks of every answer, in
/// either form ([`FileContent`], [`FileBytes`]).
pub trait Placed {
    /// The whole file's size.
    fn size(&self) -> u64;
    /// The file's modification time (ms since the epoch).
    fn mtime(&self) -> u64;
    /// Where the answer's bytes start.
    fn offset(&self) -> u64;
    /// Whether they reach the end of the file.
    fn eof(&self) -> bool;
}

/// Both answer forms hold their place in the same fields.
macro_rules! placed {
    ($($answer:ty),*) => {$(
        impl Placed for $answer {
            fn size(&self) -> u64 {
                self.size
            }
            fn mtime(&self) -> u64 {
                self.mtime
            }
            fn offset(&self) -> u64 {
                self.offset
            }
            fn eof(&self) -> bool {
                self.eof
            }
        }
    )*};
}

placed!(FileContent, FileBytes);

/// Why a chunked read stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("`{path}` changed while it was being read; read it again")]
    Changed { path: String },
    #[error("`{path}` is {size} bytes, more than the {max} bytes this reader accepts")]
    TooLarge { path: String, size: u64, max: u64 },
    #[error(
        "the answer for `{path}` starts at offset {got}, not {expected}, or makes no progress; the serving tab is out of step"
    )]
    OutOfStep {
        path: String,
        expected: u64,
        got: u64,
    },
}

/// A chunked read in progress: ask [`ChunkedRead::request`], feed each answer (decoded) to
/// [`ChunkedRead::push`] until it returns `true`, then take [`ChunkedRead::into_bytes`].
#[derive(Debug)]
pub struct ChunkedRead {
    path: String,
    max_bytes: u64,
    chunk: u64,
    bytes: Vec<u8>,
    /// `size` and `mtime` of the first answer.
    version: Option<(u64, u64)>,
    mtime: u64,
}

impl ChunkedRead {
    /// Reads `path` in chunks of at most `chunk` bytes, refusing files over `max_bytes`.
    pub fn new(path: impl Into<String>, chunk: u64, max_bytes: u64) -> ChunkedRead {
        ChunkedRead {
            path: path.into(),
            max_bytes,
            chunk: chunk.max(1),
            bytes: Vec::new(),
            version: None,
            mtime: 0,
        }
    }

    /// The next request to send.
    pub fn request(&self) -> Read {
        Read {
            path: self.path.clone(),
            offset: Some(self.bytes.len() as u64),
            length: Some(self.chunk),
            encoding: None,
        }
    }

    /// Takes one answer and its decoded bytes (either form); `Ok(true)` once the whole file is in.
    pub fn push(&mut self, answer: &impl Placed, chunk: &[u8]) -> Result<bool, ChunkError> {
        let expected = self.bytes.len() as u64;
        let (size, mtime) = (answer.size(), answer.mtime());
        match self.version {
            None if size > self.max_bytes => {
                return Err(ChunkError::TooLarge {
                    path: self.path.clone(),
                    size,
                    max: self.max_bytes,
                });
            }
            None => {
                self.version = Some((size, mtime));
                self.mtime = mtime;
                self.bytes.reserve_exact(size as usize);
            }
            Some(version) if version != (size, mtime) => {
                return Err(ChunkError::Changed {
                    path: self.path.clone(),
                });
            }
            Some(_) => {}
        }
        let end = expected + chunk.len() as u64;
        let stalled = (chunk.is_empty() && end < size) || (answer.eof() && end != size);
        if answer.offset() != expected || end > size || stalled {
            return Err(ChunkError::OutOfStep {
                path: self.path.clone(),
                expected,
                got: answer.offset(),
            });
        }
        self.bytes.extend_from_slice(chunk);
        Ok(end == size)
    }

    /// Bytes read so far (the offset of the next chunk).
    pub fn position(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The file's modification time (ms since the epoch), once an answer arrived.
    pub fn mtime(&self) -> u64 {
        self.mtime
    }

    /// The bytes read.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// The `(offset, chunk, last)` pieces of `bytes` in chunks of at most `chunk` bytes (one empty
/// piece for an empty file).
pub fn pieces(bytes: &[u8], chunk: u64) -> impl Iterator<Item = (u64, &[u8], bool)> {
    let chunk = chunk.max(1) as usize;
    let count = bytes.len().div_ceil(chunk).max(1);
    (0..count).map(move |i| {
        let start = i * chunk;
        let end = (start + chunk).min(bytes.len());
        (start as u64, &bytes[start..end], i + 1 == count)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::Encoding;
    use proptest::prelude::*;

    fn answer(offset: u64, size: u64, mtime: u64, eof: bool) -> FileContent {
        FileContent {
            content: String::new(),
            encoding: Encoding::Base64,
            size,
            mtime,
            offset,
            eof,
        }
    }

    #[test]
    fn a_chunk_fits_its_frame_as_base64() {
        let len = chunk_len(1_048_576);
        assert_eq!(len % 3, 0);
        assert!(len.div_ceil(3) * 4 + FRAME_OVERHEAD_BYTES <= 1_048_576);
        assert_eq!(chunk_len(10), 3);
    }

    #[test]
    fn a_binary_chunk_fills_its_frame_less_the_envelope() {
        assert_eq!(
            binary_chunk_len(1_048_576),
            1_048_576 - FRAME_OVERHEAD_BYTES
        );
        assert_eq!(binary_chunk_len(1_048_576), chunk_len(1_048_576) / 3 * 4);
        assert_eq!(binary_chunk_len(10), 1);
    }

    #[test]
    fn a_chunked_read_takes_binary_answers_too() {
        let mut read = ChunkedRead::new("/f", 2, 100);
        let binary = |offset, eof| FileBytes {
            encoding: crate::frame::Binary::Binary,
            size: 3,
            mtime: 1,
            offset,
            eof,
        };
        assert_eq!(read.push(&binary(0, false), b"ab"), Ok(false));
        assert_eq!(read.push(&answer(2, 3, 1, true), b"c"), Ok(true));
        assert_eq!(read.into_bytes(), b"abc");
    }

    #[test]
    fn a_file_changed_between_chunks_is_refused() {
        let mut read = ChunkedRead::new("/f", 2, 100);
        assert_eq!(read.request().offset, Some(0));
        assert_eq!(read.push(&answer(0, 4, 1, false), b"ab"), Ok(false));
        assert_eq!(read.request().offset, Some(2));
        assert!(matches!(
            read.push(&answer(2, 4, 2, true), b"cd"),
            Err(ChunkError::Changed { .. })
        ));
    }

    #[test]
    fn answers_out_of_step_or_too_large_are_refused() {
        let mut read = ChunkedRead::new("/f", 2, 100);
        assert!(matches!(
            read.push(&answer(1, 4, 1, false), b"ab"),
            Err(ChunkError::OutOfStep { .. })
        ));
        let mut read = ChunkedRead::new("/f", 2, 100);
        assert!(matches!(
            read.push(&answer(0, 4, 1, false), b""),
            Err(ChunkError::OutOfStep { .. })
        ));
        let mut read = ChunkedRead::new("/f", 2, 3);
        assert!(matches!(
            read.push(&answer(0, 4, 1, false), b"ab"),
            Err(ChunkError::TooLarge { size: 4, .. })
        ));
    }

    #[test]
    fn an_empty_file_is_one_empty_chunk() {
        let mut read = ChunkedRead::new("/f", 2, 100);
        assert_eq!(read.push(&answer(0, 0, 1, true), b""), Ok(true));
        assert!(read.into_bytes().is_empty());
        let all: Vec<_> = pieces(b"", 3).collect();
        assert_eq!(all, vec![(0, &b""[..], true)]);
    }

    proptest! {
        #[test]
        fn pieces_reassemble_through_a_chunked_read(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            chunk in 1u64..64,
        ) {
            let mut read = ChunkedRead::new("/f", chunk, 1_000);
            let size = bytes.len() as u64;
            let mut done = false;
            for (offset, piece, last) in pieces(&bytes, chunk) {
                prop_assert_eq!(read.request().offset, Some(offset));
                done = read.push(&answer(offset, size, 7, last), piece).unwrap();
                prop_assert_eq!(done, last);
            }
            prop_assert!(done);
            prop_assert_eq!(read.mtime(), 7);
            prop_assert_eq!(read.into_bytes(), bytes);
        }
    }
}
