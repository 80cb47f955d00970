//! The desktop's client of a VFS session over the kernel's relay: reads and writes of any size,
//! chunked automatically so no message passes the kernel's frame cap (`kernel.hello` limits).
//!
//! Reads ask `offset`/`length` through [`ChunkedRead`] (a file that fits in a frame takes one
//! message); a write that fits in a frame is one plain `vfs:write`, a larger one an `upload` whose
//! last chunk commits it whole. Only the tab that owns a session (and the kernel acting for it) may use it,
//! so this serves the tab's own session through the kernel (tests, figures, tools), and any
//! future peer the kernel lets through.

use aether_shared::vfs::chunk::{ChunkError, ChunkedRead, FRAME_OVERHEAD_BYTES, chunk_len, pieces};
use std::collections::VecDeque;

use aether_shared::vfs::{Encoding, FileContent, Read, Write, Written};
use aether_shared::{ErrorCode, ErrorPayload};
use futures_channel::oneshot;

use super::content;
use crate::services::bus::BusClient;

/// How long one message of a transfer may take, in milliseconds.
const STEP_TIMEOUT_MS: u32 = 30_000;
/// The largest file this client reads.
const MAX_READ_BYTES: u64 = 1024 * 1024 * 1024;
/// Bytes per chunk of a read (fewer when the frame cap is lower): a few hundred KB per message
/// moves fastest through the browser's WebSocket.
const PIPELINE_CHUNK_BYTES: u64 = 128 * 1024;
/// Chunks of a read in flight at once.
const WINDOW: usize = 8;

/// Raw bytes that fit in one frame of this connection, as base64.
fn frame_chunk(bus: &BusClient) -> u64 {
    chunk_len(max_frame_bytes(bus))
}

fn max_frame_bytes(bus: &BusClient) -> u64 {
    bus.hello_untracked()
        .map_or(1_048_576, |h| h.limits.max_frame_bytes)
}

fn remote(e: crate::services::bus::BusError) -> ErrorPayload {
    e.to_payload(None)
}

/// Reads the file at `path` from `session`. The first chunk tells the size; the others are
/// asked [`WINDOW`] at a time and taken in order, so the serving tab, the kernel and the
/// browser's socket work on several at once (one large message crosses Chromium's WebSocket
/// slower than a few smaller ones).
pub async fn read(bus: &BusClient, session: &str, path: &str) -> Result<Vec<u8>, ErrorPayload> {
    let chunk = frame_chunk(bus).min(PIPELINE_CHUNK_BYTES);
    let mut reading = ChunkedRead::new(path, chunk, MAX_READ_BYTES);
    let first = fetch(bus.clone(), session.to_owned(), reading.request()).await?;
    if take(&mut reading, &first)? {
        return Ok(reading.into_bytes());
    }
    let mut next = reading.position();
    let mut in_flight = VecDeque::new();
    loop {
        while in_flight.len() < WINDOW && next < first.size {
            let request = Read {
                path: path.to_owned(),
                offset: Some(next),
                length: Some(chunk),
            };
            let (tx, rx) = oneshot::channel();
            let (bus, session) = (bus.clone(), session.to_owned());
            wasm_bindgen_futures::spawn_local(async move {
                let _ = tx.send(fetch(bus, session, request).await);
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

/// One `vfs:read` to `session`.
async fn fetch(
    bus: BusClient,
    session: String,
    request: Read,
) -> Result<FileContent, ErrorPayload> {
    bus.send_request_to(&request, &session, STEP_TIMEOUT_MS)
        .await
        .map_err(remote)
}

/// Decodes an answer into the read; `Ok(true)` once the file is complete.
fn take(reading: &mut ChunkedRead, answer: &FileContent) -> Result<bool, ErrorPayload> {
    let chunk = content::decode(&answer.content, answer.encoding)
        .map_err(|e| ErrorPayload::new(ErrorCode::Internal, e.to_string()))?;
    reading.push(answer, &chunk).map_err(chunk_error)
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
/// last chunk replaces the file whole.
pub async fn write(
    bus: &BusClient,
    session: &str,
    path: &str,
    bytes: &[u8],
) -> Result<Written, ErrorPayload> {
    if content::encoded_len(bytes) + FRAME_OVERHEAD_BYTES <= max_frame_bytes(bus) {
        let (text, encoding) = content::encode(bytes);
        let single = Write {
            path: path.to_owned(),
            content: text,
            encoding,
            ..Write::default()
        };
        return bus
            .send_request_to(&single, session, STEP_TIMEOUT_MS)
            .await
            .map_err(remote);
    }
    let upload = upload_id();
    let mut written = None;
    for (offset, piece, last) in pieces(bytes, frame_chunk(bus)) {
        let chunk = Write {
            path: path.to_owned(),
            content: content::encode_base64(piece),
            encoding: Encoding::Base64,
            upload: Some(upload.clone()),
            offset,
            last,
        };
        written = Some(
            bus.send_request_to(&chunk, session, STEP_TIMEOUT_MS)
                .await
                .map_err(remote)?,
        );
    }
    Ok(written.expect("pieces yields at least one chunk"))
}

/// A fresh upload id: `u-` and 16 random hex digits.
fn upload_id() -> String {
    let a = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    let b = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    format!("u-{a:08x}{b:08x}")
}
