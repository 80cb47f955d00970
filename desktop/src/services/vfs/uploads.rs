//! Chunked uploads in flight (`vfs:write {upload, offset, last}`): their bytes are staged in
//! memory, in order, and handed over whole when the last chunk arrives, so the file is replaced
//! in one store transaction or not at all.
//!
//! Nothing is written to the store before the last chunk: an upload interrupted by its writer
//! (gone, crashed, never finishing) leaves the old file whole, and its staged bytes are dropped
//! after [`IDLE_EXPIRY_MS`] without a chunk, or with the tab. Caps on concurrent uploads and
//! staged bytes keep a writer from exhausting the tab's memory. Pure bookkeeping: the caller
//! passes the time, so this module is unit tested natively.

use std::collections::HashMap;

use super::error::VfsError;

/// An upload without a chunk for this long is dropped, in milliseconds.
pub const IDLE_EXPIRY_MS: u64 = 60_000;
/// Uploads staged at once, over every writer.
pub const MAX_UPLOADS: usize = 16;
/// Bytes staged at once, over every upload.
pub const MAX_STAGED_BYTES: u64 = 512 * 1024 * 1024;

/// One writer's upload: who sent it and the id it chose.
pub type UploadKey = (String, String);

struct Staged {
    path: String,
    bytes: Vec<u8>,
    touched_ms: u64,
}

/// The uploads of this tab.
#[derive(Default)]
pub struct Uploads {
    staged: HashMap<UploadKey, Staged>,
}

/// What a staged chunk led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Staging {
    /// More chunks are expected; this many bytes are staged.
    Partial(u64),
    /// The last chunk arrived: the whole file, to write at `path`.
    Complete { path: String, bytes: Vec<u8> },
}

impl Uploads {
    /// Adds one chunk. `offset` 0 starts (or restarts) the upload; any other offset must equal
    /// the bytes staged so far, for the same `path`. A refused chunk drops the upload.
    pub fn stage(
        &mut self,
        key: UploadKey,
        path: &str,
        offset: u64,
        chunk: &[u8],
        last: bool,
        now_ms: u64,
    ) -> Result<Staging, VfsError> {
        self.sweep(now_ms);
        if offset == 0 {
            self.staged.remove(&key);
            if self.staged.len() >= MAX_UPLOADS {
                return Err(VfsError::TooManyUploads(MAX_UPLOADS));
            }
            self.staged.insert(
                key.clone(),
                Staged {
                    path: path.to_owned(),
                    bytes: Vec::new(),
                    touched_ms: now_ms,
                },
            );
        }
        let staged_total = self.staged_bytes();
        let Some(upload) = self.staged.get_mut(&key) else {
            return Err(VfsError::UnknownUpload(key.1));
        };
        if upload.path != path || upload.bytes.len() as u64 != offset {
            let expected = upload.bytes.len() as u64;
            self.staged.remove(&key);
            return Err(VfsError::UploadOutOfOrder {
                upload: key.1,
                expected,
                offset,
            });
        }
        if staged_total + chunk.len() as u64 > MAX_STAGED_BYTES {
            self.staged.remove(&key);
            return Err(VfsError::UploadTooLarge(MAX_STAGED_BYTES));
        }
        upload.bytes.extend_from_slice(chunk);
        upload.touched_ms = now_ms;
        if !last {
            return Ok(Staging::Partial(upload.bytes.len() as u64));
        }
        let done = self.staged.remove(&key).expect("the upload was just found");
        Ok(Staging::Complete {
            path: done.path,
            bytes: done.bytes,
        })
    }

    /// Drops the uploads idle for [`IDLE_EXPIRY_MS`] or longer.
    pub fn sweep(&mut self, now_ms: u64) {
        self.staged
            .retain(|_, u| now_ms.saturating_sub(u.touched_ms) < IDLE_EXPIRY_MS);
    }

    /// Uploads in flight.
    pub fn len(&self) -> usize {
        self.staged.len()
    }

    /// Bytes staged over every upload.
    pub fn staged_bytes(&self) -> u64 {
        self.staged.values().map(|u| u.bytes.len() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> UploadKey {
        ("c-1".into(), id.into())
    }

    #[test]
    fn chunks_in_order_complete_the_file_and_leave_nothing_behind() {
        let mut uploads = Uploads::default();
        assert_eq!(
            uploads.stage(key("u"), "/f", 0, b"ab", false, 0),
            Ok(Staging::Partial(2))
        );
        assert_eq!(
            uploads.stage(key("u"), "/f", 2, b"cd", false, 1),
            Ok(Staging::Partial(4))
        );
        assert_eq!(
            uploads.stage(key("u"), "/f", 4, b"e", true, 2),
            Ok(Staging::Complete {
                path: "/f".into(),
                bytes: b"abcde".to_vec()
            })
        );
        assert_eq!(uploads.len(), 0);
    }

    #[test]
    fn a_chunk_out_of_order_or_for_another_path_drops_the_upload() {
        let mut uploads = Uploads::default();
        uploads.stage(key("u"), "/f", 0, b"ab", false, 0).unwrap();
        let err = uploads
            .stage(key("u"), "/f", 3, b"x", false, 0)
            .unwrap_err();
        assert!(matches!(
            err,
            VfsError::UploadOutOfOrder {
                expected: 2,
                offset: 3,
                ..
            }
        ));
        assert_eq!(uploads.len(), 0);
        uploads.stage(key("u"), "/f", 0, b"ab", false, 0).unwrap();
        assert!(uploads.stage(key("u"), "/g", 2, b"x", true, 0).is_err());
        assert!(matches!(
            uploads.stage(key("gone"), "/f", 5, b"x", true, 0),
            Err(VfsError::UnknownUpload(_))
        ));
    }

    #[test]
    fn writers_do_not_share_uploads_and_a_restart_begins_again() {
        let mut uploads = Uploads::default();
        uploads.stage(key("u"), "/f", 0, b"aaa", false, 0).unwrap();
        let other = ("c-2".to_owned(), "u".to_owned());
        assert!(uploads.stage(other, "/f", 3, b"x", true, 0).is_err());
        uploads.stage(key("u"), "/f", 0, b"b", false, 0).unwrap();
        assert_eq!(uploads.staged_bytes(), 1);
    }

    #[test]
    fn an_abandoned_upload_expires() {
        let mut uploads = Uploads::default();
        uploads.stage(key("u"), "/f", 0, b"ab", false, 0).unwrap();
        uploads.sweep(IDLE_EXPIRY_MS - 1);
        assert_eq!(uploads.len(), 1);
        uploads.sweep(IDLE_EXPIRY_MS);
        assert_eq!(uploads.len(), 0);
        assert!(uploads.stage(key("u"), "/f", 2, b"c", true, 0).is_err());
    }

    #[test]
    fn caps_refuse_more_uploads_and_more_bytes() {
        let mut uploads = Uploads::default();
        for i in 0..MAX_UPLOADS {
            uploads
                .stage(key(&i.to_string()), "/f", 0, b"x", false, 0)
                .unwrap();
        }
        assert_eq!(
            uploads.stage(key("one-more"), "/f", 0, b"x", false, 0),
            Err(VfsError::TooManyUploads(MAX_UPLOADS))
        );
    }
}
