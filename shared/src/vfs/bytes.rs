//! The binary forms of `vfs:write` and `vfs:read:resp` (binary frames, see [`crate::frame`]): the
//! same messages with `encoding: "binary"`, their `content` travelling as the frame's bytes
//! ([`Envelope::bytes`](crate::Envelope::bytes)) instead of in the payload.
//!
//! A reader asks for a [`FileBytes`] answer with `vfs:read {…, encoding: "binary"}`; a writer on a
//! binary connection sends a [`WriteBytes`]. Peers that speak only text get the text forms
//! ([`FileContent`](super::FileContent), [`Write`](super::Write)) from the kernel's conversion
//! ([`crate::frame::into_text`]); nothing here is ever base64.

use serde::{Deserialize, Serialize};

use super::{Write, Written, is_true, is_zero, yes};
use crate::frame::Binary;
use crate::request::{BusRequest, ReplyKind};

/// A `vfs:read:resp` whose content is the frame's bytes: [`FileContent`](super::FileContent)
/// without `content`, and `encoding: "binary"`. `size` is the whole file's; `offset` is where
/// the bytes start and `eof` whether they reach the end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileBytes {
    pub encoding: Binary,
    pub size: u64,
    pub mtime: u64,
    #[serde(default)]
    pub offset: u64,
    #[serde(default = "yes")]
    pub eof: bool,
}

/// A `vfs:write` whose content is the frame's bytes: [`Write`] without `content`, and
/// `encoding: "binary"`; whole, or one chunk of an `upload` as [`Write`] says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteBytes {
    pub path: String,
    pub encoding: Binary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: u64,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub last: bool,
}

/// A write in one message (`last: true`), as for [`Write`].
impl Default for WriteBytes {
    fn default() -> Self {
        WriteBytes {
            path: String::new(),
            encoding: Binary::Binary,
            upload: None,
            offset: 0,
            last: true,
        }
    }
}

/// The binary form of `vfs:write`: the same topic and the same answer. (Not in the catalog,
/// which [`Write`] already declares.)
impl BusRequest for WriteBytes {
    const TOPIC: &'static str = <Write as BusRequest>::TOPIC;
    const REPLY: ReplyKind = <Write as BusRequest>::REPLY;
    const REPLY_TOPIC: &'static str = <Write as BusRequest>::REPLY_TOPIC;
    type Reply = Written;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame;
    use crate::vfs::{Encoding, FileContent, Read};
    use crate::{Envelope, Topic};
    use serde_json::json;

    #[test]
    fn the_binary_forms_say_binary_and_leave_content_out() {
        let answer = FileBytes {
            encoding: Binary::Binary,
            size: 9,
            mtime: 1,
            offset: 3,
            eof: false,
        };
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"encoding": "binary", "size": 9, "mtime": 1, "offset": 3, "eof": false})
        );
        let write = WriteBytes {
            path: "/a".into(),
            ..WriteBytes::default()
        };
        assert_eq!(
            serde_json::to_value(&write).unwrap(),
            json!({"path": "/a", "encoding": "binary"})
        );
        // A text decoder refuses the binary form loudly instead of reading an empty file.
        assert!(
            serde_json::from_value::<FileContent>(serde_json::to_value(&answer).unwrap()).is_err()
        );
    }

    #[test]
    fn a_binary_write_converted_to_text_is_the_write_it_stands_for() {
        let write = WriteBytes {
            path: "/a.bin".into(),
            upload: Some("u-1".into()),
            offset: 3,
            last: false,
            ..WriteBytes::default()
        };
        let env = Envelope::request(&write, "r-1").with_bytes(vec![0u8, 255, 1]);
        assert_eq!(frame::check(&env), Ok("content"));
        let text: Write = frame::into_text(env).decode().unwrap();
        assert_eq!(
            text,
            Write {
                path: "/a.bin".into(),
                content: "AP8B".into(),
                encoding: Encoding::Base64,
                upload: Some("u-1".into()),
                offset: 3,
                last: false,
            }
        );
    }

    #[test]
    fn a_read_asks_for_bytes_only_when_it_says_binary() {
        let plain: Read = serde_json::from_value(json!({"path": "/a"})).unwrap();
        assert!(!plain.wants_bytes());
        let binary: Read =
            serde_json::from_value(json!({"path": "/a", "encoding": "binary"})).unwrap();
        assert!(binary.wants_bytes());
        assert!(serde_json::from_value::<Read>(json!({"path": "/a", "encoding": "hex"})).is_err());
        let reply = Envelope::new(Topic::from_static("vfs:read:resp"));
        assert_eq!(frame::bytes_field(&reply.topic), Some("content"));
    }
}
