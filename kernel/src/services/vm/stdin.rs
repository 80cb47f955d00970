//! A program's stdin: the bytes of `vm.stdin` (and of `vm.spawn {stdin}`) wait here until the
//! guest reads them, at most `max_pending_stdin_bytes` of them. Writing never blocks and never
//! spawns a task: a write that would pass the bound is refused at once, so a client feeding a
//! guest that never reads holds a bounded amount of kernel memory (the bound, plus what the WASI
//! stream reads ahead: two reads of at most 64 KiB).
//!
//! The reading end is an [`AsyncRead`] for the guest's WASI stdin: it returns what is buffered,
//! waits while nothing is, and reports end of file once stdin has ended and is drained. The guest
//! gets it as a [`GuestStdin`], which makes it a WASI stream (with its read-ahead task) only when
//! the guest first reads or waits on stdin: a program that never does costs no task.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use tokio::io::{AsyncRead, ReadBuf};
use wasmtime_wasi::cli::{AsyncStdinStream, IsTerminal, StdinStream};
use wasmtime_wasi::p2::{InputStream, Pollable, StreamError};

/// Why bytes were not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StdinRefusal {
    /// Stdin has ended (`eof` was sent, or the program is stopping).
    #[error("the program's stdin has already ended")]
    Ended,
    /// Taking the bytes would pass the bound.
    #[error("{pending} bytes already wait for the program to read them (the bound is {max})")]
    Full { pending: usize, max: usize },
}

/// The writing end, shared by the registry and the program's `vm.stdin` handler.
pub struct StdinPipe {
    max_pending_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    buffered: VecDeque<u8>,
    ended: bool,
    reader: Option<Waker>,
}

/// The reading end, given to the guest's WASI context.
pub struct StdinReader(Arc<StdinPipe>);

impl StdinPipe {
    /// A pipe holding at most `max_pending_bytes` unread bytes, and its reading end.
    pub fn new(max_pending_bytes: usize) -> (Arc<StdinPipe>, StdinReader) {
        let pipe = Arc::new(StdinPipe {
            max_pending_bytes,
            inner: Mutex::new(Inner::default()),
        });
        (Arc::clone(&pipe), StdinReader(pipe))
    }

    /// Buffers `bytes` for the guest (and ends stdin after them when `eof`), or refuses them
    /// all when stdin has ended or they would pass the bound.
    pub fn push(&self, bytes: &[u8], eof: bool) -> Result<(), StdinRefusal> {
        let mut inner = self.inner.lock().expect("stdin lock");
        if inner.ended {
            return Err(StdinRefusal::Ended);
        }
        let pending = inner.buffered.len();
        if pending + bytes.len() > self.max_pending_bytes {
            return Err(StdinRefusal::Full {
                pending,
                max: self.max_pending_bytes,
            });
        }
        inner.buffered.extend(bytes);
        inner.ended = eof;
        if let Some(reader) = inner.reader.take() {
            reader.wake();
        }
        Ok(())
    }

    /// Ends stdin: the guest reads what is buffered, then end of file.
    pub fn end(&self) {
        let mut inner = self.inner.lock().expect("stdin lock");
        inner.ended = true;
        if let Some(reader) = inner.reader.take() {
            reader.wake();
        }
    }

    /// Bytes waiting for the guest.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.inner.lock().expect("stdin lock").buffered.len()
    }
}

impl AsyncRead for StdinReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let mut inner = self.0.inner.lock().expect("stdin lock");
        if inner.buffered.is_empty() {
            if inner.ended {
                return Poll::Ready(Ok(()));
            }
            inner.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.remaining().min(inner.buffered.len());
        let (front, back) = inner.buffered.as_slices();
        let from_front = n.min(front.len());
        buf.put_slice(&front[..from_front]);
        buf.put_slice(&back[..n - from_front]);
        inner.buffered.drain(..n);
        Poll::Ready(Ok(()))
    }
}

/// The guest's WASI stdin: the reading end, opened as a WASI stream on first use.
#[derive(Clone)]
pub struct GuestStdin(Arc<LazyStdin>);

struct LazyStdin {
    /// Until the stream is opened.
    reader: Mutex<Option<StdinReader>>,
    stream: OnceLock<AsyncStdinStream>,
}

impl GuestStdin {
    pub fn new(reader: StdinReader) -> GuestStdin {
        GuestStdin(Arc::new(LazyStdin {
            reader: Mutex::new(Some(reader)),
            stream: OnceLock::new(),
        }))
    }

    /// The WASI stream every handle shares, opened now if it is not yet.
    fn stream(&self) -> &AsyncStdinStream {
        self.0.stream.get_or_init(|| {
            let reader = self.0.reader.lock().expect("stdin lock").take();
            AsyncStdinStream::new(reader.expect("the stream is opened once"))
        })
    }
}

impl IsTerminal for GuestStdin {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdinStream for GuestStdin {
    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(StdinHandle {
            stdin: self.clone(),
            open: None,
        })
    }

    fn async_stream(&self) -> Box<dyn AsyncRead + Send + Sync> {
        self.stream().async_stream()
    }
}

/// One WASI handle on the guest's stdin; opens the shared stream when first used.
struct StdinHandle {
    stdin: GuestStdin,
    open: Option<Box<dyn InputStream>>,
}

impl StdinHandle {
    fn open(&mut self) -> &mut dyn InputStream {
        let stdin = &self.stdin;
        &mut **self.open.get_or_insert_with(|| stdin.stream().p2_stream())
    }
}

#[wasmtime_wasi::async_trait]
impl InputStream for StdinHandle {
    fn read(&mut self, size: usize) -> Result<Bytes, StreamError> {
        self.open().read(size)
    }

    fn skip(&mut self, size: usize) -> Result<usize, StreamError> {
        self.open().skip(size)
    }

    async fn cancel(&mut self) {
        if let Some(open) = self.open.as_mut() {
            open.cancel().await;
        }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for StdinHandle {
    async fn ready(&mut self) {
        self.open().ready().await;
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn bytes_past_the_bound_are_refused_and_reading_makes_room() {
        let (pipe, mut reader) = StdinPipe::new(8);
        pipe.push(b"hello", false).unwrap();
        assert_eq!(
            pipe.push(b"world", false),
            Err(StdinRefusal::Full { pending: 5, max: 8 })
        );
        assert_eq!(pipe.pending(), 5, "a refused write takes nothing");
        let mut got = [0; 3];
        reader.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hel");
        pipe.push(b"world", true).unwrap();
        let mut rest = String::new();
        reader.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "loworld");
        assert_eq!(pipe.push(b"late", false), Err(StdinRefusal::Ended));
    }

    #[tokio::test]
    async fn a_waiting_reader_wakes_on_input_and_on_end() {
        let (pipe, mut reader) = StdinPipe::new(64);
        let writer = Arc::clone(&pipe);
        let read = tokio::spawn(async move {
            let mut all = String::new();
            reader.read_to_string(&mut all).await.unwrap();
            all
        });
        tokio::task::yield_now().await;
        writer.push(b"late ", false).unwrap();
        tokio::task::yield_now().await;
        writer.push(b"input", false).unwrap();
        writer.end();
        assert_eq!(read.await.unwrap(), "late input");
    }
}
