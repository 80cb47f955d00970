//! The desktop's client of a VFS session over the kernel's relay: reads and writes of any size,
//! chunked automatically so no message passes the kernel's frame cap (`kernel.hello` limits).
//!
//! Reads ask `offset`/`length` through [`ChunkedRead`] (a file that fits in a frame takes one
//! message); a write that fits in a frame is one plain `vfs:write`, a larger one an `upload` whose
//! last chunk commits it whole. Only the tab that owns a session (and the kernel acting for it) may use it,
//! so this serves the tab's own session through the kernel (tests, figures, tools), and any
//! future peer the kernel lets through.

use aether_shared::vfs::chunk::{ChunkError, ChunkedRead, FRAME_OVERHEAD_BYTES, chunk_len, pieces};
use aether_shared::vfs::{Encoding, Write, Written};
use aether_shared::{ErrorCode, ErrorPayload};

use super::content;
use crate::services::bus::BusClient;

/// How long one message of a transfer may take, in milliseconds.
const STEP_TIMEOUT_MS: u32 = 30_000;
/// The largest file this client reads.
const MAX_READ_BYTES: u64 = 1024 * 1024 * 1024;

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

/// Reads the file at `path` from `session`: one `vfs:read` when it fits, chunks when not.
pub async fn read(bus: &BusClient, session: &str, path: &str) -> Result<Vec<u8>, ErrorPayload> {
    let mut reading = ChunkedRead::new(path, frame_chunk(bus), MAX_READ_BYTES);
    loop {
        let answer = bus
            .send_request_to(&reading.request(), session, STEP_TIMEOUT_MS)
            .await
            .map_err(remote)?;
        let chunk = content::decode(&answer.content, answer.encoding)
            .map_err(|e| ErrorPayload::new(ErrorCode::Internal, e.to_string()))?;
        match reading.push(&answer, &chunk) {
            Ok(true) => return Ok(reading.into_bytes()),
            Ok(false) => {}
            Err(e) => return Err(chunk_error(e)),
        }
    }
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
    let (text, encoding) = content::encode(bytes);
    if text.len() as u64 + FRAME_OVERHEAD_BYTES <= max_frame_bytes(bus) {
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
    drop(text);
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
