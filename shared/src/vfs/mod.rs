//! The `vfs:*` namespace (SPEC §5): a tab registers a session, then serves file requests
//! addressed to that session from its IndexedDB store; the kernel only relays them.
//!
//! Paths are normalized by [`path::normalize`] on both sides. Content travels as UTF-8 text or
//! base64 ([`Encoding`]), or on connections that negotiated binary frames as raw bytes beside the
//! payload ([`bytes`]: `encoding: "binary"`, see [`crate::frame`]). `mtime` is milliseconds since
//! the Unix epoch. A file larger than one frame travels in chunks ([`chunk`]): reads with
//! `offset`/`length`, writes as an `upload`.

pub mod bytes;
pub mod chunk;
pub mod path;

use serde::{Deserialize, Serialize};

pub use bytes::{FileBytes, WriteBytes};
pub use path::{MAX_PATH_BYTES, PathError, normalize};

use crate::frame::Binary;

crate::contract! {
    namespace: Vfs, error: ERROR = "vfs:error";
    requests {
        REGISTER = "vfs:register": Register => Ack(Registered);
        WRITE = "vfs:write": Write => Ack(Written);
        READ = "vfs:read": Read => Resp(FileContent);
        LIST = "vfs:list": List => Resp(Listing);
        DELETE = "vfs:delete": Delete => Ack(Done);
        RENAME = "vfs:rename": Rename => Ack(Done);
        STAT = "vfs:stat": Stat => Resp(Entry);
        MKDIR = "vfs:mkdir": Mkdir => Ack(Done);
        SEARCH = "vfs:search": Search => Resp(SearchResults);
    }
    aliases {}
    events {}
}

/// `vfs:register {sessionId}` → `vfs:register:ack {sessionId}`: this client serves the session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    #[serde(rename = "sessionId")]
    pub session_id: String,
}

/// The answer to [`Register`] (and to `compute:register`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    #[serde(rename = "sessionId")]
    pub session_id: String,
}

/// How `content` is encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    Utf8,
    Base64,
}

/// Whether an entry is a file or a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
}

/// One file or directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub path: String,
    pub kind: EntryKind,
    /// Bytes of content (0 for a directory).
    pub size: u64,
    /// Milliseconds since the Unix epoch.
    pub mtime: u64,
}

/// `vfs:write {path, content, encoding}` → `:ack {size, mtime}`. Creates missing parents.
///
/// Chunked (a file larger than one frame): every chunk names the same `upload` id (chosen by the
/// writer) and its `offset`; the chunks are staged and the file is replaced whole, atomically,
/// when the chunk with `last: true` arrives. An upload that never finishes changes nothing (its
/// chunks are dropped after a minute idle). `offset: 0` starts an upload again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Write {
    pub path: String,
    pub content: String,
    #[serde(default)]
    pub encoding: Encoding,
    /// The upload this chunk belongs to; absent for a write in one message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<String>,
    /// Where this chunk starts in the file (chunked writes only).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: u64,
    /// False while more chunks of the upload follow.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub last: bool,
}

/// A write in one message, as the wire's defaults read it (`last: true`: a derived `Default`
/// would say `false`, which is a chunk of an upload).
impl Default for Write {
    fn default() -> Self {
        Write {
            path: String::new(),
            content: String::new(),
            encoding: Encoding::default(),
            upload: None,
            offset: 0,
            last: true,
        }
    }
}

/// The answer to [`Write`]. For a chunk that is not the last, `size` is the bytes staged so far
/// and `committed` is false; the file is unchanged until the last chunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub size: u64,
    pub mtime: u64,
    #[serde(default = "yes")]
    pub committed: bool,
}

pub(crate) fn yes() -> bool {
    true
}

pub(crate) fn is_true(b: &bool) -> bool {
    *b
}

pub(crate) fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `vfs:read {path}` → `:resp {content, encoding, size, mtime, offset, eof}`: the whole file, or
/// `payload_too_large` when it does not fit in one frame.
///
/// Chunked: with `offset` and/or `length`, at most `length` bytes from `offset` (fewer when they
/// would not fit in one frame; `eof` once the end is in). See [`chunk::ChunkedRead`].
///
/// With `encoding: "binary"` the reader asks for the raw bytes: a tab whose connection negotiated
/// binary frames answers a [`FileBytes`] with the bytes in the frame, fitting one binary frame
/// ([`chunk::binary_chunk_len`]); any other answers the text form as without it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Read {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// `binary` to ask for the raw bytes in a binary frame; absent for the text form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Binary>,
}

impl Read {
    /// True for the chunked form.
    pub fn is_chunked(&self) -> bool {
        self.offset.is_some() || self.length.is_some()
    }

    /// True when the reader asks for the raw bytes (`encoding: "binary"`).
    pub fn wants_bytes(&self) -> bool {
        self.encoding.is_some()
    }
}

/// The answer to [`Read`]: text comes back as `utf8`, anything else as `base64`. `size` is the
/// whole file's; `offset` is where `content` starts and `eof` whether it reaches the end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileContent {
    pub content: String,
    pub encoding: Encoding,
    pub size: u64,
    pub mtime: u64,
    #[serde(default)]
    pub offset: u64,
    #[serde(default = "yes")]
    pub eof: bool,
}

/// `vfs:list {path}` → `:resp {entries}` (directories first, then by name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct List {
    pub path: String,
}

/// The answer to [`List`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub entries: Vec<Entry>,
}

/// `vfs:delete {path, recursive?}` → `:ack`. A non-empty directory needs `recursive: true`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delete {
    pub path: String,
    #[serde(default)]
    pub recursive: bool,
}

/// `vfs:rename {from, to}` → `:ack`. Renaming a directory moves its children.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rename {
    pub from: String,
    pub to: String,
}

/// `vfs:mkdir {path}` → `:ack`. Creates missing parents; an existing directory is fine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mkdir {
    pub path: String,
}

/// `vfs:stat {path}` → `:resp` ([`Entry`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    pub path: String,
}

/// `vfs:search {query, path?, max_results?, regex?, ignore_case?, glob?}` → `:resp`
/// ([`SearchResults`]): the lines of text files under `path` (default `/`) whose path matches
/// `glob` (when given) and that contain `query`, in path order, at most `max_results` (default
/// and cap [`MAX_SEARCH_RESULTS`]). A line is reported once, at its first match.
///
/// `query` is plain text unless `regex` (Rust `regex` syntax; an invalid one is `bad_request`
/// with the parser's message); matching is case-sensitive unless `ignore_case`. `glob` has `*`
/// (within one folder), `**` (any folders), `?`, `[abc]` and `{a,b}`; a glob without `/` is
/// matched against the file's name, one with `/` against its whole path (`src/**/*.rs` and
/// `/src/**/*.rs` alike). Binary files (not UTF-8, or holding NUL) are skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Search {
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u64>,
    /// `query` is a regular expression.
    #[serde(default, skip_serializing_if = "is_false")]
    pub regex: bool,
    /// Letters match whatever their case.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_case: bool,
    /// Only files whose path matches this glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glob: Option<String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Most matches one `vfs:search` returns.
pub const MAX_SEARCH_RESULTS: u64 = 200;
/// Longest line text a match carries, in characters (longer lines are cut around the match).
pub const MAX_MATCH_TEXT_CHARS: usize = 200;

/// One line that contains the query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchMatch {
    pub path: String,
    /// 1-based line number.
    pub line: u64,
    /// 1-based column (in characters) where the match starts.
    pub column: u64,
    /// The line's text (cut to [`MAX_MATCH_TEXT_CHARS`]).
    pub text: String,
    /// 1-based column of the match in `text` (differs from `column` when the line was cut).
    #[serde(default)]
    pub text_column: u64,
    /// Characters the match spans in `text` (up to its end when the match goes past it).
    #[serde(default)]
    pub length: u64,
}

/// The answer to [`Search`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub matches: Vec<SearchMatch>,
    /// True when more lines matched than were returned.
    #[serde(default)]
    pub truncated: bool,
}

/// The empty acknowledgement of [`Delete`], [`Rename`] and [`Mkdir`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {}

/// `compute:register {sessionId}` → `:ack {sessionId}`: this tab offers a compute backend (v86).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeRegister {
    #[serde(rename = "sessionId")]
    pub session_id: String,
}

/// Longest session id, in bytes.
pub const MAX_SESSION_ID_BYTES: usize = 64;

/// Checks a session id: 1–64 characters of `A-Z a-z 0-9 _ -`, not a client id (`c-…`) and not
/// `kernel`, so session ids and client ids never collide.
pub fn validate_session_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_SESSION_ID_BYTES {
        return Err("a session id has 1 to 64 characters".into());
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("a session id uses only letters, digits, `_` and `-`".into());
    }
    if id.starts_with("c-") || id == crate::KERNEL_ADDRESS {
        return Err(
            "session ids may not start with `c-` or be `kernel`; use e.g. `s-` and a random suffix"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{TopicKind, classify};
    use crate::request::BusRequest;
    use serde_json::json;

    fn agrees<R: BusRequest>() {
        assert_eq!(
            classify(&R::topic()),
            Some(TopicKind::Request(R::REPLY)),
            "{}",
            R::TOPIC
        );
    }

    #[test]
    fn every_vfs_request_agrees_with_the_catalog() {
        agrees::<Register>();
        agrees::<Write>();
        agrees::<Read>();
        agrees::<List>();
        agrees::<Delete>();
        agrees::<Rename>();
        agrees::<Mkdir>();
        agrees::<Stat>();
        agrees::<ComputeRegister>();
    }

    #[test]
    fn payloads_have_the_spec_shapes() {
        let reg: Register = serde_json::from_value(json!({"sessionId": "s-91bc"})).unwrap();
        assert_eq!(reg.session_id, "s-91bc");
        let write: Write =
            serde_json::from_value(json!({"path": "/a", "content": "aGk=", "encoding": "base64"}))
                .unwrap();
        assert_eq!(write.encoding, Encoding::Base64);
        let write: Write = serde_json::from_value(json!({"path": "/a", "content": "hi"})).unwrap();
        assert_eq!(write.encoding, Encoding::Utf8);
        assert!(write.last && write.upload.is_none());
        // The single-message forms serialize as before; the chunked fields only when used.
        assert_eq!(
            serde_json::to_value(&write).unwrap(),
            json!({"path": "/a", "content": "hi", "encoding": "utf8"})
        );
        let chunk: Write = serde_json::from_value(
            json!({"path": "/a", "content": "", "upload": "u1", "offset": 9, "last": false}),
        )
        .unwrap();
        assert_eq!(
            (chunk.upload.as_deref(), chunk.offset, chunk.last),
            (Some("u1"), 9, false)
        );
        let read: Read = serde_json::from_value(json!({"path": "/a"})).unwrap();
        assert!(!read.is_chunked());
        assert_eq!(serde_json::to_value(&read).unwrap(), json!({"path": "/a"}));
        let old_reply: FileContent = serde_json::from_value(
            json!({"content": "hi", "encoding": "utf8", "size": 2, "mtime": 1}),
        )
        .unwrap();
        assert_eq!((old_reply.offset, old_reply.eof), (0, true));
        let entry = Entry {
            name: "a".into(),
            path: "/a".into(),
            kind: EntryKind::Dir,
            size: 0,
            mtime: 1,
        };
        assert_eq!(
            serde_json::to_value(&entry).unwrap(),
            json!({"name": "a", "path": "/a", "kind": "dir", "size": 0, "mtime": 1})
        );
    }

    #[test]
    fn session_ids_never_collide_with_client_ids() {
        assert!(validate_session_id("s-91bc").is_ok());
        for bad in ["", "c-1234", "kernel", "s 1", "s/1", &"x".repeat(65)] {
            assert!(validate_session_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_default_write_is_one_whole_message_as_the_wire_reads_it() {
        let write = Write {
            path: "/a.txt".into(),
            content: "hi".into(),
            ..Write::default()
        };
        assert!(write.last);
        assert!(write.upload.is_none());
        let wire = serde_json::to_value(&write).unwrap();
        assert_eq!(
            wire,
            json!({"path": "/a.txt", "content": "hi", "encoding": "utf8"})
        );
        let back: Write = serde_json::from_value(wire).unwrap();
        assert_eq!(back, write);
    }
}
