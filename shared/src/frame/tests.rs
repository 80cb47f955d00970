use super::*;
use crate::request::Correlated;
use crate::vfs::chunk::binary_chunk_len;
use crate::vfs::{FileBytes, FileContent, Write, WriteBytes};
use proptest::prelude::*;

/// Raw bytes of one binary chunk under the default 1 MiB frame cap.
fn one_chunk() -> usize {
    binary_chunk_len(1024 * 1024) as usize
}

/// A `vfs:read:resp` in the binary form, answering `r-1` of `c-1`.
fn read_answer(bytes: impl Into<Bytes>) -> Envelope {
    let header = Correlated {
        request_id: Some("r-1".to_owned()),
        body: FileBytes {
            encoding: Binary::Binary,
            size: 7,
            mtime: 1,
            offset: 0,
            eof: true,
        },
    };
    let mut env = Envelope::new(Topic::from_static("vfs:read:resp"))
        .with_payload(&header)
        .to("c-1");
    env.time = "2026-12-06T10:00:00.000Z".into();
    env.with_bytes(bytes)
}

/// A frame of `header` text and `bytes`, with the right length.
fn raw(header: &str, bytes: &[u8]) -> Bytes {
    let mut frame = (header.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(header.as_bytes());
    frame.extend_from_slice(bytes);
    Bytes::from(frame)
}

#[test]
fn a_frame_is_the_header_length_big_endian_then_the_envelope_then_the_bytes() {
    let env = read_answer(&b"\x00\x01\x02"[..]);
    let frame = encode(&env);
    let header = env.to_json();
    assert_eq!(frame[..4], (header.len() as u32).to_be_bytes());
    assert_eq!(&frame[4..4 + header.len()], header.as_bytes());
    assert_eq!(&frame[4 + header.len()..], b"\x00\x01\x02");
    assert!(
        !header.contains("content"),
        "the bytes are not in the header"
    );
    assert_eq!(decode(Bytes::from(frame)).unwrap(), env);
}

#[test]
fn the_edges_round_trip_byte_for_byte() {
    let chunk = one_chunk();
    for len in [0, 1, 2, chunk - 1, chunk, chunk + 1] {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 256) as u8).collect();
        let env = read_answer(bytes.clone());
        let frame = encode(&env);
        assert_eq!(frame.len(), 4 + env.to_json().len() + len, "{len} bytes");
        let back = decode(Bytes::from(frame)).unwrap();
        assert_eq!(back.bytes.as_deref(), Some(&bytes[..]), "{len} bytes");
        assert_eq!(back, env);
    }
}

#[test]
fn a_chunk_of_the_binary_size_fits_its_frame() {
    let chunk = one_chunk();
    let env = read_answer(vec![7u8; chunk]);
    assert!(encode(&env).len() <= 1024 * 1024);
    // Base64 would have needed a third more.
    assert!(crate::vfs::chunk::chunk_len(1024 * 1024) * 4 / 3 <= chunk as u64);
}

#[test]
fn frames_shorter_than_their_length_are_refused() {
    for len in 0..4 {
        let frame = Bytes::from(vec![0u8; len]);
        assert_eq!(decode(frame), Err(FrameError::Truncated { len }));
    }
    // A header length past the end of the frame, by one byte and by far.
    let header = r#"{"topic":"vfs:write"}"#;
    let mut frame = ((header.len() + 1) as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(header.as_bytes());
    assert_eq!(
        decode(Bytes::from(frame)),
        Err(FrameError::HeaderPastEnd {
            header: header.len() as u64 + 1,
            available: header.len()
        })
    );
    let frame = Bytes::from_static(b"\xff\xff\xff\xff{}");
    assert!(matches!(
        decode(frame),
        Err(FrameError::HeaderPastEnd {
            header: 4_294_967_295,
            available: 2
        })
    ));
}

#[test]
fn a_header_that_is_not_an_envelope_is_refused_with_the_parsers_reason() {
    for header in ["not json", r#"{"payload":{}}"#, r#"{"topic":"nope.x"}"#, ""] {
        let err = decode(raw(header, b"x")).unwrap_err();
        assert!(matches!(err, FrameError::BadHeader(_)), "{header:?}: {err}");
        assert_eq!(err.code(), ErrorCode::BadRequest);
    }
    let frame = Bytes::from(vec![0, 0, 0, 2, 0xff, 0xfe]);
    assert!(matches!(decode(frame), Err(FrameError::BadHeader(why)) if why.contains("UTF-8")));
}

#[test]
fn only_carriers_marked_binary_may_carry_bytes() {
    let ping = r#"{"topic":"kernel.ping","payload":{"encoding":"binary"}}"#;
    assert_eq!(
        decode(raw(ping, b"x")),
        Err(FrameError::NoBytes {
            topic: "kernel.ping".into()
        })
    );
    let unmarked = [
        r#"{"topic":"vfs:write","payload":{"path":"/a"}}"#,
        r#"{"topic":"vfs:write","payload":{"path":"/a","encoding":"base64"}}"#,
        r#"{"topic":"vfs:write","payload":{"path":"/a","encoding":"binary","content":""}}"#,
        r#"{"topic":"vfs:read:resp"}"#,
    ];
    for header in unmarked {
        let err = decode(raw(header, b"x")).unwrap_err();
        assert!(
            matches!(
                err,
                FrameError::Unmarked {
                    field: "content",
                    ..
                }
            ),
            "{header}: {err}"
        );
        assert!(err.to_string().contains("\"encoding\": \"binary\""));
    }
    let write = r#"{"topic":"vfs:write","payload":{"path":"/a","encoding":"binary"}}"#;
    let env = decode(raw(write, b"hi")).unwrap();
    assert_eq!(env.bytes.as_deref(), Some(&b"hi"[..]));
    let write: WriteBytes = env.decode().unwrap();
    assert_eq!(write.path, "/a");
}

#[test]
fn a_text_receiver_gets_utf8_for_text_and_base64_for_the_rest() {
    let text: FileContent = into_text(read_answer("héllo")).decode().unwrap();
    assert_eq!(
        (text.content.as_str(), text.encoding),
        ("héllo", Encoding::Utf8)
    );
    assert_eq!((text.size, text.mtime, text.eof), (7, 1, true));
    let bin: FileContent = into_text(read_answer(vec![0u8, 159, 146]))
        .decode()
        .unwrap();
    assert_eq!(
        (bin.content.as_str(), bin.encoding),
        ("AJ+S", Encoding::Base64)
    );
    let empty: FileContent = into_text(read_answer(Bytes::new())).decode().unwrap();
    assert_eq!(
        (empty.content.as_str(), empty.encoding),
        ("", Encoding::Utf8)
    );
    // The converted envelope keeps its address and correlation, and has no bytes left.
    let converted = into_text(read_answer("x"));
    assert_eq!(
        (converted.to.as_deref(), converted.request_id()),
        (Some("c-1"), Some("r-1"))
    );
    assert!(converted.bytes.is_none());
    // A text envelope is not touched.
    let plain = Envelope::new(Topic::from_static("kernel.ping"));
    assert_eq!(into_text(plain.clone()), plain);
}

#[test]
fn bytes_without_a_payload_still_land_in_their_field() {
    let env = Envelope::new(Topic::from_static("vfs:write")).with_bytes(&b"abc"[..]);
    let payload = into_text(env).payload.unwrap();
    assert_eq!(payload["content"], "abc");
    assert_eq!(payload["encoding"], "utf8");
}

fn frame_of(env: &Envelope) -> Bytes {
    Bytes::from(encode(env))
}

proptest! {
    #[test]
    fn any_bytes_and_header_round_trip(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        path in "/[a-z0-9 ü]{0,20}",
        to in proptest::option::of("[a-z0-9-]{1,12}"),
        offset in any::<u32>(),
        last in any::<bool>(),
    ) {
        let write = WriteBytes { path, upload: Some("u-1".into()), offset: u64::from(offset), last, ..WriteBytes::default() };
        let mut env = Envelope::request(&write, "r-9").with_bytes(bytes.clone());
        env.to = to;
        let back = decode(frame_of(&env)).unwrap();
        prop_assert_eq!(back.bytes.as_deref(), Some(&bytes[..]));
        prop_assert_eq!(&back, &env);
        // Its text form stands for the same bytes.
        let text: Write = into_text(back).decode().unwrap();
        let decoded = match text.encoding {
            Encoding::Utf8 => text.content.into_bytes(),
            Encoding::Base64 => BASE64.decode(text.content).unwrap(),
        };
        prop_assert_eq!(decoded, bytes);
    }

    #[test]
    fn arbitrary_frames_are_decoded_or_refused_never_a_panic(
        frame in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        if let Ok(env) = decode(Bytes::from(frame)) {
            prop_assert!(env.bytes.is_some());
            prop_assert!(check(&env).is_ok());
        }
    }

    #[test]
    fn a_cut_frame_is_refused_or_carries_fewer_bytes_never_misread(
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
        cut in 0usize..512,
    ) {
        let env = read_answer(bytes.clone());
        let frame = encode(&env);
        let cut = cut.min(frame.len());
        match decode(Bytes::copy_from_slice(&frame[..cut])) {
            // Only a cut inside the bytes leaves a whole header: then the bytes are a prefix.
            Ok(back) => {
                let got = back.bytes.unwrap();
                prop_assert!(bytes.starts_with(&got));
                prop_assert_eq!(got.len(), cut - (frame.len() - bytes.len()));
            }
            Err(e) => prop_assert_eq!(e.code(), ErrorCode::BadRequest),
        }
    }
}
