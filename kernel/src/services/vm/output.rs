//! A program's stdout and stderr: WASI output streams that gather what the guest writes and
//! send it to the requester as `vm.stdout` / `vm.stderr` chunks while it runs.
//!
//! Writes are gathered (the guest may write a byte at a time) and flushed when
//! [`FLUSH_BYTES`] are waiting, by the watchdog every few milliseconds, and at exit. A chunk
//! never splits a UTF-8 character. Past `max_output_bytes` the stream traps the guest and the
//! program ends with `resource_exceeded`.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use aether_shared::vm::{Output, STDERR, STDOUT};
use aether_shared::{Envelope, Topic};
use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use super::watch::{Stop, Watch};
use crate::bus::Bus;

/// Bytes gathered before a chunk is sent without waiting for the watchdog.
pub const FLUSH_BYTES: usize = 16 * 1024;

/// What both streams of one program share: where chunks go and the counters.
pub struct Sink {
    bus: Bus,
    /// The `vm.spawn` request: chunks are replies to it (its requester, its `_request_id`).
    request: Envelope,
    pid: u64,
    seq: AtomicU64,
    total: AtomicU64,
    max_output_bytes: u64,
    watch: Arc<Watch>,
}

impl Sink {
    pub fn new(
        bus: Bus,
        request: Envelope,
        pid: u64,
        max_output_bytes: u64,
        watch: Arc<Watch>,
    ) -> Arc<Sink> {
        Arc::new(Sink {
            bus,
            request,
            pid,
            seq: AtomicU64::new(0),
            total: AtomicU64::new(0),
            max_output_bytes,
            watch,
        })
    }

    /// Bytes the program wrote so far.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// One output stream (stdout or stderr) of a program.
#[derive(Clone)]
pub struct GuestOutput {
    topic: Topic,
    pending: Arc<Mutex<Vec<u8>>>,
    sink: Arc<Sink>,
}

impl GuestOutput {
    pub fn stdout(sink: &Arc<Sink>) -> GuestOutput {
        GuestOutput::new(Topic::from_static(STDOUT), sink)
    }

    pub fn stderr(sink: &Arc<Sink>) -> GuestOutput {
        GuestOutput::new(Topic::from_static(STDERR), sink)
    }

    fn new(topic: Topic, sink: &Arc<Sink>) -> GuestOutput {
        GuestOutput {
            topic,
            pending: Arc::new(Mutex::new(Vec::new())),
            sink: Arc::clone(sink),
        }
    }

    /// Accepts bytes from the guest, or refuses them past the output cap.
    fn accept(&self, bytes: &[u8]) -> Result<(), StreamError> {
        let total = self
            .sink
            .total
            .fetch_add(bytes.len() as u64, Ordering::Relaxed)
            + bytes.len() as u64;
        if total > self.sink.max_output_bytes {
            self.sink.watch.stop(Stop::Output {
                limit_bytes: self.sink.max_output_bytes,
            });
            return Err(StreamError::trap("output limit reached"));
        }
        self.sink.watch.touch();
        let full = {
            let mut pending = self.pending.lock().expect("output lock");
            pending.extend_from_slice(bytes);
            pending.len() >= FLUSH_BYTES
        };
        if full {
            self.flush_chunk();
        }
        Ok(())
    }

    /// Adds bytes that do not count against the guest's output (the kernel's own notes).
    pub fn push_unchecked(&self, bytes: &[u8]) {
        self.pending
            .lock()
            .expect("output lock")
            .extend_from_slice(bytes);
    }

    /// Sends what is gathered as one chunk (keeping an incomplete UTF-8 character back).
    pub fn flush_chunk(&self) {
        let data = {
            let mut pending = self.pending.lock().expect("output lock");
            if pending.is_empty() {
                return;
            }
            let keep = incomplete_utf8_tail(&pending);
            let at = pending.len() - keep;
            let rest = pending.split_off(at);
            let chunk = std::mem::replace(&mut *pending, rest);
            String::from_utf8_lossy(&chunk).into_owned()
        };
        if data.is_empty() {
            return;
        }
        let seq = self.sink.seq.fetch_add(1, Ordering::Relaxed);
        let output = Output {
            pid: self.sink.pid,
            seq,
            data,
        };
        let env = self.sink.request.reply(self.topic.clone(), &output);
        let _ = self.sink.bus.publish_from_kernel(env);
    }

    /// Sends everything, including a trailing partial character (as a replacement).
    pub fn flush_all(&self) {
        self.flush_chunk();
        let rest = std::mem::take(&mut *self.pending.lock().expect("output lock"));
        if !rest.is_empty() {
            self.pending
                .lock()
                .expect("output lock")
                .extend(String::from_utf8_lossy(&rest).as_bytes());
            self.flush_chunk();
        }
    }
}

/// Bytes at the end of `bytes` that start a UTF-8 character not yet complete (0..=3).
fn incomplete_utf8_tail(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Ok(_) => 0,
        Err(e) if e.error_len().is_none() => bytes.len() - e.valid_up_to(),
        Err(_) => {
            // Invalid bytes somewhere; only hold back a tail that could still complete.
            let start = bytes.len().saturating_sub(3);
            (start..bytes.len())
                .find(|&i| {
                    bytes[i] >= 0xC0
                        && std::str::from_utf8(&bytes[i..]).is_err_and(|e| e.error_len().is_none())
                })
                .map_or(0, |i| bytes.len() - i)
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.accept(&bytes)
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(FLUSH_BYTES)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.accept(buf).map(|()| buf.len()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "output limit reached")
        }))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::incomplete_utf8_tail;

    #[test]
    fn a_split_character_is_held_back_until_complete() {
        let euro = "€".as_bytes(); // 3 bytes
        assert_eq!(incomplete_utf8_tail(b"abc"), 0);
        assert_eq!(incomplete_utf8_tail(&[b'a', euro[0]]), 1);
        assert_eq!(incomplete_utf8_tail(&[b'a', euro[0], euro[1]]), 2);
        assert_eq!(incomplete_utf8_tail(euro), 0);
        assert_eq!(incomplete_utf8_tail(&[0xFF, b'a']), 0);
    }
}
