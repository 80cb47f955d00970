//! The desktop's client of a VFS session over the kernel's relay: reads and writes of any size,
//! chunked automatically so no message passes the kernel's frame cap (`kernel.hello` limits).
//!
//! On a connection that negotiated binary frames (SPEC §1) the bytes travel raw: reads ask
//! `encoding: "binary"` and take the answer's bytes as they are, writes send [`WriteBytes`], and
//! one message holds up to a whole binary frame ([`binary_chunk_len`]: no base64 third).
//! Otherwise they travel as `utf8` or `base64` text, within [`chunk_len`]. Either way a reader
//! accepts both answer forms.
//!
//! Reads ask `offset`/`length` through [`ChunkedRead`], [`WINDOW`] chunks in flight; a write that
//! fits in a frame is one plain `vfs:write`, a larger one an `upload` whose last chunk commits it
//! whole, its chunks [`WINDOW`] at a time too. Only the tab that owns a session (and the kernel
//! acting for it) may use it, so this serves the tab's own session through the kernel (tests,
//! figures, tools), and any future peer the kernel lets through.

use std::collections::VecDeque;

use aether_shared::frame::Binary;
use aether_shared::vfs::chunk::{
    ChunkError, ChunkedRead, FRAME_OVERHEAD_BYTES, binary_chunk_len, chunk_len, pieces,
};
use aether_shared::vfs::{Encoding, FileBytes, FileContent, Read, Write, WriteBytes, Written};
use aether_shared::{Bytes, Correlated, Envelope, ErrorCode, ErrorPayload};
use futures_channel::oneshot;

use super::content;
use crate::services::bus::{BusClient, RequestOptions};

/// How long one message of a transfer may take, in milliseconds.
const STEP_TIMEOUT_MS: u32 = 30_000;
/// The largest file this client reads.
const MAX_READ_BYTES: u64 = 1024 * 1024 * 1024;
/// Bytes per chunk of a text read (fewer when the frame cap is lower): a few hundred KB per
/// message moves fastest through the browser's WebSocket.
const PIPELINE_CHUNK_BYTES: u64 = 128 * 1024;
/// Bytes per chunk of a binary transfer (fewer when the frame cap is lower). Measured in
/// headless Chromium (2026-12-06): a quarter MiB per message moves fastest through its
/// WebSocket; whole-frame (1 MiB) messages cross it at half the speed.
const BINARY_CHUNK_BYTES: u64 = 256 * 1024;
/// Chunks of a transfer in flight at once.
const WINDOW: usize = 8;

/// How this connection moves bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Binary,
    Text,
}

impl Form {
    fn of(bus: &BusClient) -> Form {
        if bus.binary_frames() {
            Form::Binary
        } else {
            Form::Text
        }
    }

    /// Raw bytes of one chunk that fit in a frame of this connection.
    fn frame_chunk(self, bus: &BusClient) -> u64 {
        match self {
            Form::Binary => binary_chunk_len(max_frame_bytes(bus)),
            Form::Text => chunk_len(max_frame_bytes(bus)),
        }
    }

    /// Bytes per chunk of a read.
    fn read_chunk(self, bus: &BusClient) -> u64 {
        match self {
            Form::Binary => self.frame_chunk(bus).min(BINARY_CHUNK_BYTES),
            Form::Text => self.frame_chunk(bus).min(PIPELINE_CHUNK_BYTES),
        }
    }

    /// Bytes per chunk of an upload.
    fn write_chunk(self, bus: &BusClient) -> u64 {
        match self {
            Form::Binary => self.frame_chunk(bus).min(BINARY_CHUNK_BYTES),
            Form::Text => self.frame_chunk(bus),
        }
    }
}

fn max_frame_bytes(bus: &BusClient) -> u64 {
    bus.hello_untracked()
        .map_or(1_048_576, |h| h.limits.max_frame_bytes)
}

fn remote(e: crate::services::bus::BusError) -> ErrorPayload {
    e.to_payload(None)
}

/// One answer to a read, in whichever form it came: its bytes, and where they sit in the file
/// (a text answer's placement is written as the binary form's header).
struct Answer {
    bytes: Vec<u8>,
    placed: FileBytes,
}

/// Reads the file at `path` from `session`. The first chunk tells the size; the others are
/// asked [`WINDOW`] at a time and taken in order, so the serving tab, the kernel and the
/// browser's socket work on several at once (one large message crosses Chromium's WebSocket
/// slower than a few smaller ones).
pub async fn read(bus: &BusClient, session: &str, path: &str) -> Result<Vec<u8>, ErrorPayload> {
    let form = Form::of(bus);
    let chunk = form.read_chunk(bus);
    let mut reading = ChunkedRead::new(path, chunk, MAX_READ_BYTES);
    let first = fetch(bus.clone(), session.to_owned(), form, reading.request()).await?;
    if take(&mut reading, &first)? {
        return Ok(reading.into_bytes());
    }
    let size = first.placed.size;
    let mut next = reading.position();
    let mut in_flight = VecDeque::new();
    loop {
        while in_flight.len() < WINDOW && next < size {
            let request = Read {
                path: path.to_owned(),
                offset: Some(next),
                length: Some(chunk),
                ..Read::default()
            };
            let (tx, rx) = oneshot::channel();
            let (bus, session) = (bus.clone(), session.to_owned());
            wasm_bindgen_futures::spawn_local(async move {
                let _ = tx.send(fetch(bus, session, form, request).await);
            });
            in_flight.push_back(rx);
            next += chunk;
        }
        let Some(answer) = in_flight.pop_front() else {
            return Err(chunk_error(ChunkError::OutOfStep {
                path: path.to_owned(),
                expected: reading.position(),
                got: next,
            }));
        };
        let answer = answer.await.map_err(|_| {
            ErrorPayload::new(ErrorCode::Internal, "a chunk request was dropped; retry")
        })??;
        if take(&mut reading, &answer)? {
            return Ok(reading.into_bytes());
        }
    }
}

/// One `vfs:read` to `session`, asking for raw bytes on a binary connection.
async fn fetch(
    bus: BusClient,
    session: String,
    form: Form,
    mut request: Read,
) -> Result<Answer, ErrorPayload> {
    if form == Form::Binary {
        request.encoding = Some(Binary::Binary);
    }
    let options = RequestOptions {
        to: Some(session),
        ..RequestOptions::timeout(STEP_TIMEOUT_MS)
    };
    let reply = bus
        .exchange(&request, None, options)
        .await
        .map_err(remote)?;
    answer_of(reply)
}

/// Reads an answer: the frame's bytes beside a [`FileBytes`], or a [`FileContent`]'s text.
fn answer_of(reply: Envelope) -> Result<Answer, ErrorPayload> {
    let bad = |why: String| ErrorPayload::new(ErrorCode::Internal, why);
    if let Some(bytes) = reply.bytes.clone() {
        let placed = reply
            .decode::<Correlated<FileBytes>>()
            .map_err(|e| bad(e.to_string()))?
            .body;
        return Ok(Answer {
            bytes: bytes.into(),
            placed,
        });
    }
    let text = reply
        .decode::<Correlated<FileContent>>()
        .map_err(|e| bad(e.to_string()))?
        .body;
    let bytes = content::decode(&text.content, text.encoding).map_err(|e| bad(e.to_string()))?;
    let placed = FileBytes {
        encoding: Binary::Binary,
        size: text.size,
        mtime: text.mtime,
        offset: text.offset,
        eof: text.eof,
    };
    Ok(Answer { bytes, placed })
}

/// Adds an answer to the read; `Ok(true)` once the file is complete.
fn take(reading: &mut ChunkedRead, answer: &Answer) -> Result<bool, ErrorPayload> {
    reading
        .push(&answer.placed, &answer.bytes)
        .map_err(chunk_error)
}

fn chunk_error(e: ChunkError) -> ErrorPayload {
    let code = match e {
        ChunkError::Changed { .. } => ErrorCode::Conflict,
        ChunkError::TooLarge { .. } => ErrorCode::ResourceExceeded,
        ChunkError::OutOfStep { .. } => ErrorCode::Internal,
    };
    ErrorPayload::new(code, e.to_string())
}

/// Writes `bytes` to `path` in `session`: one `vfs:write` when it fits, else an upload whose
/// last chunk replaces the file whole. The chunks of an upload go [`WINDOW`] at a time (the tab
/// takes them in the order they were sent); the first refusal ends the write.
pub async fn write(
    bus: &BusClient,
    session: &str,
    path: &str,
    bytes: &[u8],
) -> Result<Written, ErrorPayload> {
    let form = Form::of(bus);
    let wire_len = match form {
        Form::Binary => bytes.len() as u64,
        Form::Text => content::encoded_len(bytes),
    };
    let step = |bytes: &[u8], chunk: Option<Chunk>| Step {
        bus: bus.clone(),
        session: session.to_owned(),
        form,
        path: path.to_owned(),
        bytes: Bytes::copy_from_slice(bytes),
        chunk,
    };
    if wire_len + FRAME_OVERHEAD_BYTES <= max_frame_bytes(bus) {
        return step(bytes, None).send().await;
    }
    let upload = upload_id();
    let mut pieces = pieces(bytes, form.write_chunk(bus));
    let mut in_flight = VecDeque::new();
    let mut written = None;
    loop {
        while in_flight.len() < WINDOW {
            let Some((offset, piece, last)) = pieces.next() else {
                break;
            };
            let chunk = Chunk {
                upload: upload.clone(),
                offset,
                last,
            };
            let step = step(piece, Some(chunk));
            let (tx, rx) = oneshot::channel();
            wasm_bindgen_futures::spawn_local(async move {
                let _ = tx.send(step.send().await);
            });
            in_flight.push_back(rx);
        }
        let Some(answer) = in_flight.pop_front() else {
            break;
        };
        written = Some(answer.await.map_err(|_| {
            ErrorPayload::new(
                ErrorCode::Internal,
                "a chunk of the upload was dropped; retry",
            )
        })??);
    }
    Ok(written.expect("pieces yields at least one chunk"))
}

/// Where a piece of an upload goes.
struct Chunk {
    upload: String,
    offset: u64,
    last: bool,
}

/// One `vfs:write` of `bytes` to `session` (whole, or one chunk of an upload), raw on a binary
/// connection.
struct Step {
    bus: BusClient,
    session: String,
    form: Form,
    path: String,
    bytes: Bytes,
    chunk: Option<Chunk>,
}

impl Step {
    async fn send(self) -> Result<Written, ErrorPayload> {
        let (upload, offset, last) = match self.chunk {
            Some(c) => (Some(c.upload), c.offset, c.last),
            None => (None, 0, true),
        };
        if self.form == Form::Binary {
            let write = WriteBytes {
                path: self.path,
                upload,
                offset,
                last,
                ..WriteBytes::default()
            };
            let options = RequestOptions {
                to: Some(self.session),
                ..RequestOptions::timeout(STEP_TIMEOUT_MS)
            };
            let reply = self
                .bus
                .exchange(&write, Some(self.bytes), options)
                .await
                .map_err(remote)?;
            return reply
                .decode::<Correlated<Written>>()
                .map(|c| c.body)
                .map_err(|e| ErrorPayload::new(ErrorCode::Internal, e.to_string()));
        }
        let (content, encoding) = match upload {
            None => content::encode(&self.bytes),
            Some(_) => (content::encode_base64(&self.bytes), Encoding::Base64),
        };
        let write = Write {
            path: self.path,
            content,
            encoding,
            upload,
            offset,
            last,
        };
        self.bus
            .send_request_to(&write, &self.session, STEP_TIMEOUT_MS)
            .await
            .map_err(remote)
    }
}

/// A fresh upload id: `u-` and 16 random hex digits.
fn upload_id() -> String {
    let a = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    let b = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    format!("u-{a:08x}{b:08x}")
}
