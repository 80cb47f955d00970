//! The `vfs:*` namespace (SPEC §5): a tab registers a session, then serves file requests
//! addressed to that session from its IndexedDB store; the kernel only relays them.
//!
//! Paths are normalized by [`path::normalize`] on both sides. Content travels as UTF-8 text or
//! base64 ([`Encoding`]). `mtime` is milliseconds since the Unix epoch.

pub mod path;

use serde::{Deserialize, Serialize};

pub use path::{MAX_PATH_BYTES, PathError, normalize};

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

crate::bus_request!(Register => "vfs:register", Ack, Registered);

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Write {
    pub path: String,
    pub content: String,
    #[serde(default)]
    pub encoding: Encoding,
}

/// The answer to [`Write`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub size: u64,
    pub mtime: u64,
}

crate::bus_request!(Write => "vfs:write", Ack, Written);

/// `vfs:read {path}` → `:resp {content, encoding, size, mtime}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Read {
    pub path: String,
}

/// The answer to [`Read`]: text files come back as `utf8`, others as `base64`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileContent {
    pub content: String,
    pub encoding: Encoding,
    pub size: u64,
    pub mtime: u64,
}

crate::bus_request!(Read => "vfs:read", Resp, FileContent);

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

crate::bus_request!(List => "vfs:list", Resp, Listing);

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

/// The empty acknowledgement of [`Delete`], [`Rename`] and [`Mkdir`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {}

crate::bus_request!(Delete => "vfs:delete", Ack, Done);

crate::bus_request!(Rename => "vfs:rename", Ack, Done);

crate::bus_request!(Mkdir => "vfs:mkdir", Ack, Done);

crate::bus_request!(Stat => "vfs:stat", Resp, Entry);

/// `compute:register {sessionId}` → `:ack {sessionId}`: this tab offers a compute backend (v86).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeRegister {
    #[serde(rename = "sessionId")]
    pub session_id: String,
}

crate::bus_request!(ComputeRegister => "compute:register", Ack, Registered);

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
}
