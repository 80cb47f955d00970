//! The Wisp protocol, version 1, as v86's `wisp://` network adapter speaks it: one packet per
//! WebSocket binary message, `[type u8][stream id u32 LE][payload]`. This module only turns bytes
//! into [`Packet`]s and back; what a packet means to the relay is decided in `relay`.
//!
//! - CONNECT (0x01, client → server): `[stream type u8][port u16 LE][host, UTF-8]`.
//! - DATA (0x02, both ways): the stream's bytes.
//! - CONTINUE (0x03, server → client): `[buffer remaining u32 LE]`, the DATA packets the client
//!   may send on that stream before the next CONTINUE (stream 0 at the start: the initial budget
//!   of every stream).
//! - CLOSE (0x04, both ways): `[reason u8]` ([`CloseReason`]).

use bytes::{BufMut, Bytes, BytesMut};

/// Header bytes before a packet's payload.
const HEADER_BYTES: usize = 5;

/// Stream type of a CONNECT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind {
    Tcp,
    Udp,
    Other(u8),
}

/// One Wisp packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    Connect {
        stream: u32,
        kind: StreamKind,
        port: u16,
        host: String,
    },
    Data {
        stream: u32,
        payload: Bytes,
    },
    Continue {
        stream: u32,
        remaining: u32,
    },
    Close {
        stream: u32,
        reason: u8,
    },
}

/// Why a stream ended (the CLOSE payload). Numbers are the protocol's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum CloseReason {
    /// The other side closed the stream.
    Voluntary = 0x02,
    /// The destination's connection failed mid-stream.
    NetworkError = 0x03,
    /// The CONNECT asked for something the relay does not do (a stream type, port 0).
    InvalidInfo = 0x41,
    /// The name did not resolve.
    Unreachable = 0x42,
    /// The destination did not answer within `connect_timeout_ms`.
    ConnectTimeout = 0x43,
    /// The destination refused the connection.
    ConnectionRefused = 0x44,
    /// The allowlist does not name the destination, or it is the kernel itself.
    Blocked = 0x48,
    /// The machine's byte quota is spent, or it has `max_connections` streams open.
    Throttled = 0x49,
}

/// A packet that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("a Wisp packet of {0} bytes is shorter than its header")]
    Short(usize),
    #[error("Wisp packet type {0:#04x} is not one this relay reads")]
    UnknownType(u8),
    #[error("the Wisp CONNECT's host is not UTF-8")]
    HostNotUtf8,
}

impl Packet {
    /// Reads one packet (one WebSocket message).
    pub fn decode(bytes: Bytes) -> Result<Packet, DecodeError> {
        if bytes.len() < HEADER_BYTES {
            return Err(DecodeError::Short(bytes.len()));
        }
        let stream = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        let body = bytes.slice(HEADER_BYTES..);
        match bytes[0] {
            0x01 => {
                if body.len() < 3 {
                    return Err(DecodeError::Short(bytes.len()));
                }
                let kind = match body[0] {
                    0x01 => StreamKind::Tcp,
                    0x02 => StreamKind::Udp,
                    other => StreamKind::Other(other),
                };
                let port = u16::from_le_bytes([body[1], body[2]]);
                let host = std::str::from_utf8(&body[3..])
                    .map_err(|_| DecodeError::HostNotUtf8)?
                    .to_owned();
                Ok(Packet::Connect {
                    stream,
                    kind,
                    port,
                    host,
                })
            }
            0x02 => Ok(Packet::Data {
                stream,
                payload: body,
            }),
            0x03 if body.len() >= 4 => Ok(Packet::Continue {
                stream,
                remaining: u32::from_le_bytes([body[0], body[1], body[2], body[3]]),
            }),
            0x04 if !body.is_empty() => Ok(Packet::Close {
                stream,
                reason: body[0],
            }),
            0x03 | 0x04 => Err(DecodeError::Short(bytes.len())),
            other => Err(DecodeError::UnknownType(other)),
        }
    }

    /// The packet's bytes (one WebSocket message).
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(HEADER_BYTES + 8);
        match self {
            Packet::Connect {
                stream,
                kind,
                port,
                host,
            } => {
                out.put_u8(0x01);
                out.put_u32_le(*stream);
                out.put_u8(match kind {
                    StreamKind::Tcp => 0x01,
                    StreamKind::Udp => 0x02,
                    StreamKind::Other(n) => *n,
                });
                out.put_u16_le(*port);
                out.put_slice(host.as_bytes());
            }
            Packet::Data { stream, payload } => {
                out.reserve(payload.len());
                out.put_u8(0x02);
                out.put_u32_le(*stream);
                out.put_slice(payload);
            }
            Packet::Continue { stream, remaining } => {
                out.put_u8(0x03);
                out.put_u32_le(*stream);
                out.put_u32_le(*remaining);
            }
            Packet::Close { stream, reason } => {
                out.put_u8(0x04);
                out.put_u32_le(*stream);
                out.put_u8(*reason);
            }
        }
        out.freeze()
    }

    /// A CLOSE of `stream` for `reason`.
    pub fn close(stream: u32, reason: CloseReason) -> Packet {
        Packet::Close {
            stream,
            reason: reason as u8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_connect_reads_as_v86_writes_it() {
        // v86: type 1, stream 1 LE, TCP, port 8000 LE, the destination as dotted text.
        let mut bytes = vec![0x01, 1, 0, 0, 0, 0x01, 0x40, 0x1f];
        bytes.extend_from_slice(b"127.0.0.1");
        assert_eq!(
            Packet::decode(Bytes::from(bytes)).unwrap(),
            Packet::Connect {
                stream: 1,
                kind: StreamKind::Tcp,
                port: 8000,
                host: "127.0.0.1".into()
            }
        );
    }

    #[test]
    fn continue_and_close_encode_little_endian() {
        let cont = Packet::Continue {
            stream: 0,
            remaining: 128,
        };
        assert_eq!(&cont.encode()[..], &[0x03, 0, 0, 0, 0, 128, 0, 0, 0]);
        let close = Packet::close(0x0102_0304, CloseReason::Blocked);
        assert_eq!(&close.encode()[..], &[0x04, 4, 3, 2, 1, 0x48]);
    }

    #[test]
    fn short_and_unknown_packets_are_errors() {
        assert_eq!(
            Packet::decode(Bytes::from_static(&[2, 0, 0])),
            Err(DecodeError::Short(3))
        );
        assert_eq!(
            Packet::decode(Bytes::from_static(&[1, 1, 0, 0, 0, 1, 80])),
            Err(DecodeError::Short(7))
        );
        assert_eq!(
            Packet::decode(Bytes::from_static(&[4, 1, 0, 0, 0])),
            Err(DecodeError::Short(5))
        );
        assert_eq!(
            Packet::decode(Bytes::from_static(&[5, 0, 0, 0, 0, 1])),
            Err(DecodeError::UnknownType(5))
        );
        assert_eq!(
            Packet::decode(Bytes::from_static(&[1, 1, 0, 0, 0, 1, 80, 0, 0xff])),
            Err(DecodeError::HostNotUtf8)
        );
    }

    proptest! {
        #[test]
        fn every_packet_reads_back_as_written(
            stream in any::<u32>(),
            port in any::<u16>(),
            host in "[a-z0-9.:-]{0,40}",
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            n in any::<u32>(),
            reason in any::<u8>(),
        ) {
            for packet in [
                Packet::Connect { stream, kind: StreamKind::Udp, port, host: host.clone() },
                Packet::Data { stream, payload: Bytes::from(payload.clone()) },
                Packet::Continue { stream, remaining: n },
                Packet::Close { stream, reason },
            ] {
                prop_assert_eq!(Packet::decode(packet.encode()).unwrap(), packet);
            }
        }

        #[test]
        fn no_input_panics_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            let _ = Packet::decode(Bytes::from(bytes));
        }
    }
}
