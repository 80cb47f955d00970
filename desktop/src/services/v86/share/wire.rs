//! The 9P2000.L wire format: the requests the guest's Linux sends (`T` messages) read into
//! [`Request`], and the replies written with [`Reply`].
//!
//! Every message is `size[4] type[1] tag[2]` and a body, little-endian; a string is `len[2]`
//! and UTF-8, a qid `type[1] version[4] path[8]`. Only the messages Linux's `9p` client sends
//! in `9p2000.L` mode are read; anything else is [`Request::Unknown`] and answered `EOPNOTSUPP`.

use super::Errno;

/// A qid's type bits.
pub const QT_DIR: u8 = 0x80;
pub const QT_SYMLINK: u8 = 0x02;
pub const QT_FILE: u8 = 0;

/// The server's identity for a file: its kind, a version and a unique number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Qid {
    pub kind: u8,
    pub version: u32,
    pub path: u64,
}

/// `Tsetattr`'s fields (which ones apply is in `valid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetAttr {
    pub valid: u32,
    pub mode: u32,
    pub size: u64,
}

/// `Tsetattr`'s `valid` bits that matter here.
pub const SETATTR_MODE: u32 = 0x1;
pub const SETATTR_SIZE: u32 = 0x8;

/// One request, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Version {
        msize: u32,
        version: String,
    },
    Attach {
        fid: u32,
    },
    Walk {
        fid: u32,
        newfid: u32,
        names: Vec<String>,
    },
    Getattr {
        fid: u32,
    },
    Setattr {
        fid: u32,
        attr: SetAttr,
    },
    Lopen {
        fid: u32,
        flags: u32,
    },
    Lcreate {
        fid: u32,
        name: String,
        flags: u32,
        mode: u32,
    },
    Read {
        fid: u32,
        offset: u64,
        count: u32,
    },
    Write {
        fid: u32,
        offset: u64,
        data: Vec<u8>,
    },
    Readdir {
        fid: u32,
        offset: u64,
        count: u32,
    },
    Clunk {
        fid: u32,
    },
    Remove {
        fid: u32,
    },
    Mkdir {
        dfid: u32,
        name: String,
    },
    Unlinkat {
        dfid: u32,
        name: String,
        flags: u32,
    },
    Renameat {
        olddfid: u32,
        oldname: String,
        newdfid: u32,
        newname: String,
    },
    Rename {
        fid: u32,
        dfid: u32,
        name: String,
    },
    Readlink {
        fid: u32,
    },
    Symlink {
        dfid: u32,
    },
    Link,
    Mknod,
    Fsync {
        fid: u32,
    },
    Statfs,
    Flush,
    Lock,
    Getlock {
        kind: u8,
        start: u64,
        length: u64,
        proc_id: u32,
        client: String,
    },
    Xattr,
    Auth,
    Unknown(u8),
}

/// A request's message type and tag, and the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub kind: u8,
    pub tag: u16,
    pub request: Request,
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Errno> {
        let end = self.at.checked_add(n).ok_or(Errno::PROTO)?;
        let slice = self.bytes.get(self.at..end).ok_or(Errno::PROTO)?;
        self.at = end;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8, Errno> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, Errno> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, Errno> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, Errno> {
        let b = self.take(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn string(&mut self) -> Result<String, Errno> {
        let n = self.u16()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| Errno::INVAL)
    }
}

/// The type and tag of a message (for an error reply when its body cannot be read).
pub fn header(bytes: &[u8]) -> Option<(u8, u16)> {
    (bytes.len() >= 7).then(|| (bytes[4], u16::from_le_bytes([bytes[5], bytes[6]])))
}

/// Reads one request.
pub fn decode(bytes: &[u8]) -> Result<Message, Errno> {
    let (kind, tag) = header(bytes).ok_or(Errno::PROTO)?;
    let mut r = Reader { bytes, at: 7 };
    let request = match kind {
        100 => Request::Version {
            msize: r.u32()?,
            version: r.string()?,
        },
        104 => Request::Attach { fid: r.u32()? },
        110 => {
            let (fid, newfid, n) = (r.u32()?, r.u32()?, r.u16()?);
            let names = (0..n).map(|_| r.string()).collect::<Result<_, _>>()?;
            Request::Walk { fid, newfid, names }
        }
        24 => Request::Getattr { fid: r.u32()? },
        26 => {
            let fid = r.u32()?;
            let (valid, mode) = (r.u32()?, r.u32()?);
            let _uid_gid = (r.u32()?, r.u32()?);
            let size = r.u64()?;
            Request::Setattr {
                fid,
                attr: SetAttr { valid, mode, size },
            }
        }
        12 => Request::Lopen {
            fid: r.u32()?,
            flags: r.u32()?,
        },
        14 => Request::Lcreate {
            fid: r.u32()?,
            name: r.string()?,
            flags: r.u32()?,
            mode: r.u32()?,
        },
        116 => Request::Read {
            fid: r.u32()?,
            offset: r.u64()?,
            count: r.u32()?,
        },
        118 => {
            let (fid, offset, count) = (r.u32()?, r.u64()?, r.u32()?);
            let data = r.take(count as usize)?.to_vec();
            Request::Write { fid, offset, data }
        }
        40 => Request::Readdir {
            fid: r.u32()?,
            offset: r.u64()?,
            count: r.u32()?,
        },
        120 => Request::Clunk { fid: r.u32()? },
        122 => Request::Remove { fid: r.u32()? },
        72 => Request::Mkdir {
            dfid: r.u32()?,
            name: r.string()?,
        },
        76 => Request::Unlinkat {
            dfid: r.u32()?,
            name: r.string()?,
            flags: r.u32()?,
        },
        74 => Request::Renameat {
            olddfid: r.u32()?,
            oldname: r.string()?,
            newdfid: r.u32()?,
            newname: r.string()?,
        },
        20 => Request::Rename {
            fid: r.u32()?,
            dfid: r.u32()?,
            name: r.string()?,
        },
        22 => Request::Readlink { fid: r.u32()? },
        16 => Request::Symlink { dfid: r.u32()? },
        70 => Request::Link,
        18 => Request::Mknod,
        50 => Request::Fsync { fid: r.u32()? },
        8 => Request::Statfs,
        108 => Request::Flush,
        52 => Request::Lock,
        54 => {
            let _fid = r.u32()?;
            Request::Getlock {
                kind: r.u8()?,
                start: r.u64()?,
                length: r.u64()?,
                proc_id: r.u32()?,
                client: r.string()?,
            }
        }
        30 | 32 => Request::Xattr,
        102 => Request::Auth,
        other => Request::Unknown(other),
    };
    Ok(Message { kind, tag, request })
}

/// A reply being written: the header is filled in by [`Reply::finish`].
pub struct Reply {
    bytes: Vec<u8>,
}

impl Reply {
    /// The reply to a request of type `kind` (replies are the request's type + 1).
    pub fn to(kind: u8, tag: u16) -> Reply {
        let mut bytes = vec![0; 4];
        bytes.push(kind.wrapping_add(1));
        bytes.extend_from_slice(&tag.to_le_bytes());
        Reply { bytes }
    }

    /// `Rlerror`: the request failed with `errno`.
    pub fn error(tag: u16, errno: Errno) -> Vec<u8> {
        Reply::to(6, tag).u32(errno.0).finish()
    }

    pub fn u8(mut self, v: u8) -> Reply {
        self.bytes.push(v);
        self
    }
    pub fn u16(mut self, v: u16) -> Reply {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u32(mut self, v: u32) -> Reply {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> Reply {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn string(mut self, s: &str) -> Reply {
        self.bytes
            .extend_from_slice(&(s.len() as u16).to_le_bytes());
        self.bytes.extend_from_slice(s.as_bytes());
        self
    }
    pub fn qid(self, q: Qid) -> Reply {
        self.u8(q.kind).u32(q.version).u64(q.path)
    }
    pub fn bytes(mut self, b: &[u8]) -> Reply {
        self.bytes.extend_from_slice(b);
        self
    }

    /// The message, its size written.
    pub fn finish(mut self) -> Vec<u8> {
        let len = (self.bytes.len() as u32).to_le_bytes();
        self.bytes[..4].copy_from_slice(&len);
        self.bytes
    }
}

/// One `Rreaddir` entry: `qid[13] offset[8] type[1] name[s]`.
pub fn dirent(out: &mut Vec<u8>, qid: Qid, next: u64, dtype: u8, name: &str) {
    out.push(qid.kind);
    out.extend_from_slice(&qid.version.to_le_bytes());
    out.extend_from_slice(&qid.path.to_le_bytes());
    out.extend_from_slice(&next.to_le_bytes());
    out.push(dtype);
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(name.as_bytes());
}

/// The size [`dirent`] writes for `name`.
pub fn dirent_len(name: &str) -> usize {
    13 + 8 + 1 + 2 + name.len()
}

#[cfg(test)]
pub mod tests {
    //! Writing requests, for the server's tests.

    /// A request of type `kind` with `tag` and `body`.
    pub fn request(kind: u8, tag: u16, body: &[u8]) -> Vec<u8> {
        let mut bytes = ((7 + body.len()) as u32).to_le_bytes().to_vec();
        bytes.push(kind);
        bytes.extend_from_slice(&tag.to_le_bytes());
        bytes.extend_from_slice(body);
        bytes
    }

    /// A 9P string.
    pub fn s(text: &str) -> Vec<u8> {
        let mut b = (text.len() as u16).to_le_bytes().to_vec();
        b.extend_from_slice(text.as_bytes());
        b
    }

    use super::*;

    #[test]
    fn a_walk_is_read_with_its_names() {
        let mut body = 1u32.to_le_bytes().to_vec();
        body.extend_from_slice(&2u32.to_le_bytes());
        body.extend_from_slice(&2u16.to_le_bytes());
        body.extend(s("files"));
        body.extend(s("a.txt"));
        let m = decode(&request(110, 9, &body)).unwrap();
        assert_eq!(m.tag, 9);
        assert_eq!(
            m.request,
            Request::Walk {
                fid: 1,
                newfid: 2,
                names: vec!["files".into(), "a.txt".into()]
            }
        );
    }

    #[test]
    fn a_short_message_is_a_protocol_error_not_a_panic() {
        let mut body = 1u32.to_le_bytes().to_vec();
        body.extend_from_slice(&0u64.to_le_bytes());
        body.extend_from_slice(&100u32.to_le_bytes());
        body.extend_from_slice(b"only a few bytes");
        assert_eq!(decode(&request(118, 1, &body)), Err(Errno::PROTO));
        assert_eq!(decode(&[1, 2]), Err(Errno::PROTO));
    }

    #[test]
    fn a_reply_carries_its_size_type_and_tag() {
        let r = Reply::to(100, 0xffff).u32(8192).string("9P2000.L").finish();
        assert_eq!(&r[..4], &(r.len() as u32).to_le_bytes());
        assert_eq!(r[4], 101);
        assert_eq!(&r[5..7], &[0xff, 0xff]);
        assert_eq!(Reply::error(3, Errno::NOENT)[4], 7);
    }
}
