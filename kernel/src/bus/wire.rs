//! An envelope as a connection receives it: a text frame (its JSON), or for a connection that
//! negotiated binary frames, a binary frame when the envelope carries bytes (see
//! `aether_shared::frame`). A text-only connection gets an envelope with bytes converted to its
//! text form; an envelope without bytes is a text frame for everyone.
//!
//! [`Frames`] serializes an envelope at most once per form, however many clients receive it, and
//! only when a connection asks (a kernel-made client takes values, never frames).

use aether_shared::{Envelope, frame};
use axum::extract::ws::{Message, Utf8Bytes};
use bytes::Bytes;

/// One serialized envelope, ready for a socket.
#[derive(Clone, Debug)]
pub enum Wire {
    Text(Utf8Bytes),
    Binary(Bytes),
}

impl Wire {
    /// Bytes on the wire (what the queue bounds count).
    pub fn len(&self) -> usize {
        match self {
            Wire::Text(text) => text.len(),
            Wire::Binary(bytes) => bytes.len(),
        }
    }

    /// True for a frame of no bytes (never: an envelope is never empty).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The WebSocket message (a cheap copy: the bytes are shared).
    pub fn message(&self) -> Message {
        match self {
            Wire::Text(text) => Message::Text(text.clone()),
            Wire::Binary(bytes) => Message::Binary(bytes.clone()),
        }
    }

    /// The JSON of the frame: the whole of a text frame, the header of a binary one.
    pub fn json(&self) -> &str {
        match self {
            Wire::Text(text) => text.as_str(),
            Wire::Binary(bytes) => {
                let (header, _) = frame::split(bytes).expect("the kernel writes whole frames");
                header
            }
        }
    }
}

/// The frames of one envelope, made on first demand.
pub struct Frames<'a> {
    env: &'a Envelope,
    text: Option<Utf8Bytes>,
    binary: Option<Bytes>,
}

impl<'a> Frames<'a> {
    pub fn new(env: &'a Envelope) -> Frames<'a> {
        Frames {
            env,
            text: None,
            binary: None,
        }
    }

    /// The envelope.
    pub fn envelope(&self) -> &'a Envelope {
        self.env
    }

    /// The frame for a connection that does (`binary`) or does not take binary frames.
    pub fn for_connection(&mut self, binary: bool) -> Wire {
        let env = self.env;
        if binary && env.bytes.is_some() {
            let frame = self
                .binary
                .get_or_insert_with(|| Bytes::from(frame::encode(env)));
            return Wire::Binary(frame.clone());
        }
        let text = self.text.get_or_insert_with(|| {
            let json = if env.bytes.is_some() {
                frame::into_text(env.clone()).to_json()
            } else {
                env.to_json()
            };
            Utf8Bytes::from(json)
        });
        Wire::Text(text.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use aether_shared::Topic;
    use aether_shared::frame::Binary;
    use aether_shared::vfs::{Encoding, FileBytes, FileContent, Read};
    use tokio::sync::mpsc;

    use super::*;
    use crate::bus::{Bus, ClientHandle, Queued};
    use crate::guard::Principal;

    fn connection(bus: &Bus, id: &str, binary: bool) -> mpsc::Receiver<Queued> {
        let (handle, rx) = ClientHandle::new(id.to_owned(), Principal::Local, 8);
        let handle = handle.with_binary_frames(binary);
        handle
            .subscribe(&[aether_shared::Pattern::parse("vfs:*").unwrap()], 8)
            .unwrap();
        assert!(bus.attach(Arc::new(handle)));
        rx
    }

    /// A binary `vfs:read:resp` carrying `bytes`.
    fn answer(bytes: &'static [u8]) -> Envelope {
        let header = FileBytes {
            encoding: Binary::Binary,
            size: bytes.len() as u64,
            mtime: 1,
            offset: 0,
            eof: true,
        };
        Envelope::new(Topic::from_static("vfs:read:resp"))
            .with_payload(&header)
            .with_bytes(bytes)
    }

    #[test]
    fn each_receiver_gets_an_envelope_with_bytes_in_the_form_it_takes() {
        let bus = Bus::new();
        let mut binary = connection(&bus, "c-bin", true);
        let mut text = connection(&bus, "c-text", false);
        let (agent, mut values) =
            ClientHandle::agent("c-agent".into(), Principal::Local, "c-text".into(), 8);
        agent
            .subscribe(&[aether_shared::Pattern::parse("vfs:*").unwrap()], 8)
            .unwrap();
        assert!(bus.attach(Arc::new(agent)));

        assert_eq!(bus.fan_out(&answer(b"\x00\xff")), 3);
        let frame = binary.try_recv().unwrap();
        let Wire::Binary(bytes) = frame.wire().clone() else {
            panic!("a binary connection gets a binary frame");
        };
        let back = frame::decode(bytes).unwrap();
        assert_eq!(back.bytes.as_deref(), Some(&b"\x00\xff"[..]));
        // The header is the frame's JSON, without the bytes.
        assert!(Envelope::from_json(&frame).unwrap().bytes.is_none());

        let frame = text.try_recv().unwrap();
        assert!(matches!(frame.wire(), Wire::Text(_)));
        let got: FileContent = Envelope::from_json(&frame).unwrap().decode().unwrap();
        assert_eq!(
            (got.content.as_str(), got.encoding),
            ("AP8=", Encoding::Base64)
        );

        let value = values.try_recv().unwrap();
        assert!(value.bytes.is_none(), "kernel services read the text form");
        let got: FileContent = value.decode().unwrap();
        assert_eq!(got.encoding, Encoding::Base64);
    }

    #[test]
    fn a_queue_counts_a_binary_frame_whole_and_an_envelope_without_bytes_stays_text() {
        let bus = Bus::new();
        let mut binary = connection(&bus, "c-bin", true);
        let env = answer(&[7; 1000]);
        let whole = frame::encode(&env).len();
        bus.deliver_to("c-bin", &env).unwrap();
        assert_eq!(bus.resolve("c-bin").unwrap().queued_bytes(), whole);
        assert!(whole > 1000);
        drop(binary.try_recv().unwrap());
        assert_eq!(bus.resolve("c-bin").unwrap().queued_bytes(), 0);

        let plain = Envelope::new(Topic::from_static("vfs:list:resp"));
        bus.deliver_to("c-bin", &plain).unwrap();
        assert!(matches!(binary.try_recv().unwrap().wire(), Wire::Text(_)));
    }

    #[tokio::test]
    async fn the_kernels_own_request_reads_a_binary_answer_in_its_text_form() {
        let bus = Bus::new();
        let mut tab = connection(&bus, "c-tab", true);
        let asking = {
            let bus = bus.clone();
            tokio::spawn(async move {
                let read = Read {
                    path: "/a".into(),
                    ..Read::default()
                };
                bus.request("c-tab", &read, Duration::from_secs(10)).await
            })
        };
        let request = loop {
            if let Ok(frame) = tab.try_recv() {
                break Envelope::from_json(&frame).unwrap();
            }
            tokio::task::yield_now().await;
        };
        let header = FileBytes {
            encoding: Binary::Binary,
            size: 2,
            mtime: 1,
            offset: 0,
            eof: true,
        };
        let mut reply = request
            .reply(request.topic.resp(), &header)
            .with_bytes(&b"hi"[..]);
        reply.from = Some("c-tab".into());
        assert_eq!(
            bus.resolve_pending(reply, "c-tab"),
            crate::bus::Answered::Settled
        );
        let got = asking.await.unwrap().unwrap();
        assert_eq!((got.content.as_str(), got.encoding), ("hi", Encoding::Utf8));
    }
}
