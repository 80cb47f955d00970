//! The bus glue: registers this tab's session (`vfs:register`, again after every reconnect) and
//! answers the `vfs:*` requests the kernel relays to it, with correlated `:ack`/`:resp` replies
//! or `vfs:error`, addressed to the requester.
//!
//! Payloads are parsed into the contract's typed requests here and nowhere else; the work is done
//! by the same [`VfsProxy`] methods the apps call. A whole-file read whose answer would not fit in
//! one bus frame (`kernel.hello` limits) is answered `payload_too_large` (read it in chunks); a
//! chunked read answers at most what fits. A read that asks `encoding: "binary"` is answered with
//! the raw bytes from IndexedDB in a binary frame (when this connection negotiated them), sized
//! by the frame without base64's third; a binary `vfs:write` is taken as raw bytes. No base64 on
//! that path. Chunked writes are staged in [`Uploads`] and written in one transaction when their
//! last chunk arrives. A session taken by another client (a duplicated tab) is retried a few
//! times, then left with a console warning.

use std::rc::Rc;

use aether_shared::frame::Binary;
use aether_shared::kernel::HELLO;
use aether_shared::vfs::chunk::{binary_chunk_len, chunk_len};
use aether_shared::vfs::{
    Delete, Done, FileBytes, FileContent, List, Listing, Mkdir, Read, Register, Rename, Search,
    Stat, Write, WriteBytes, Written, normalize,
};
use aether_shared::{BusRequest, Envelope, ErrorCode, Namespace, Pattern, Topic};
use gloo_timers::callback::Interval;
use gloo_timers::future::TimeoutFuture;

use super::content;
use super::error::VfsError;
use super::uploads::Staging;
use super::{VfsProxy, now_ms};
use crate::services::bus::{BusClient, DEFAULT_TIMEOUT_MS, namespace_pattern};

/// Attempts at registering a session another client holds (a reload's old socket may linger).
const REGISTER_ATTEMPTS: u32 = 5;
/// Wait between those attempts, in milliseconds.
const REGISTER_RETRY_MS: u32 = 1_000;
/// Room for the envelope around a read's content, in bytes.
const ENVELOPE_OVERHEAD_BYTES: u64 = 1_024;
/// How often abandoned uploads are looked for, in milliseconds.
const UPLOAD_SWEEP_MS: u32 = 10_000;
/// Longest upload id, in bytes.
const MAX_UPLOAD_ID_BYTES: usize = 64;

/// What the request handlers share.
struct Served {
    bus: BusClient,
    proxy: VfsProxy,
}

/// Serves `proxy` on `bus` for the life of the page.
pub fn serve(bus: BusClient, proxy: VfsProxy) {
    let served = Rc::new(Served {
        bus: bus.clone(),
        proxy: proxy.clone(),
    });
    let requests = namespace_pattern(Namespace::Vfs);
    {
        let served = Rc::clone(&served);
        bus.on(requests, move |envelope| {
            if envelope.to.as_deref() != Some(served.proxy.session_id()) {
                return;
            }
            let (served, envelope) = (Rc::clone(&served), envelope.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(answer) = answer(&served, &envelope).await
                    && let Err(e) = served.bus.publish(answer)
                {
                    warn(&format!("could not answer `{}`: {e}", envelope.topic));
                }
            });
        });
    }
    {
        // Abandoned uploads go even when no further chunk arrives; lives as long as the page.
        let served = Rc::clone(&served);
        Interval::new(UPLOAD_SWEEP_MS, move || {
            served.proxy.inner.uploads.borrow_mut().sweep(now_ms());
        })
        .forget();
    }
    let hello = Pattern::Exact(Topic::from_static(HELLO));
    bus.on(hello, move |_| {
        let (bus, proxy) = (served.bus.clone(), served.proxy.clone());
        wasm_bindgen_futures::spawn_local(register(bus, proxy));
    });
    if bus.state_untracked().is_connected() {
        wasm_bindgen_futures::spawn_local(register(bus, proxy));
    }
}

/// Registers the session, retrying while another client holds it.
async fn register(bus: BusClient, proxy: VfsProxy) {
    let request = Register {
        session_id: proxy.session_id().to_owned(),
    };
    for attempt in 1..=REGISTER_ATTEMPTS {
        match bus.send_request(&request, DEFAULT_TIMEOUT_MS).await {
            Ok(_) => return proxy.mark_registered(),
            Err(e) if e.code() == ErrorCode::Conflict && attempt < REGISTER_ATTEMPTS => {
                TimeoutFuture::new(REGISTER_RETRY_MS).await;
            }
            Err(e) => {
                return warn(&format!(
                    "this tab's files are not reachable through the kernel: {e}"
                ));
            }
        }
    }
}

/// The answer to one relayed envelope (`None` for what is not a request to serve).
async fn answer(served: &Served, env: &Envelope) -> Option<Envelope> {
    let proxy = &served.proxy;
    let result = match env.topic.as_str() {
        Write::TOPIC => match env.bytes.clone() {
            Some(bytes) => {
                reply::<WriteBytes>(env, async |req| {
                    write(served, env, Incoming::binary(req, bytes)).await
                })
                .await
            }
            None => {
                reply::<Write>(env, async |req| {
                    write(served, env, Incoming::text(req)?).await
                })
                .await
            }
        },
        Read::TOPIC => read(served, env).await,
        List::TOPIC => {
            reply::<List>(env, async |req| {
                let entries = proxy.list(&req.path).await?;
                Ok(Listing { entries })
            })
            .await
        }
        Stat::TOPIC => reply::<Stat>(env, async |req| proxy.stat(&req.path).await).await,
        Search::TOPIC => reply::<Search>(env, async |req| proxy.search(&req).await).await,
        Mkdir::TOPIC => {
            reply::<Mkdir>(env, async |req| {
                proxy.mkdir(&req.path).await.map(|()| Done {})
            })
            .await
        }
        Delete::TOPIC => {
            reply::<Delete>(env, async |req| {
                proxy
                    .delete(&req.path, req.recursive)
                    .await
                    .map(|()| Done {})
            })
            .await
        }
        Rename::TOPIC => {
            reply::<Rename>(env, async |req| {
                proxy.rename(&req.from, &req.to).await.map(|()| Done {})
            })
            .await
        }
        // Replies and errors of this page's own requests, and anything else: not ours to answer.
        _ => return None,
    };
    Some(result.unwrap_or_else(|e| env.error_reply(e.to_payload())))
}

/// A `vfs:write` as this tab takes it, whatever form it came in.
struct Incoming {
    path: String,
    bytes: Vec<u8>,
    upload: Option<String>,
    offset: u64,
    last: bool,
}

impl Incoming {
    /// The text form: `content` decoded from `utf8` or `base64`.
    fn text(req: Write) -> Result<Incoming, VfsError> {
        Ok(Incoming {
            bytes: content::decode(&req.content, req.encoding)?,
            path: req.path,
            upload: req.upload,
            offset: req.offset,
            last: req.last,
        })
    }

    /// The binary form: the frame's bytes as they are.
    fn binary(req: WriteBytes, bytes: aether_shared::Bytes) -> Incoming {
        Incoming {
            bytes: bytes.into(),
            path: req.path,
            upload: req.upload,
            offset: req.offset,
            last: req.last,
        }
    }
}

/// `vfs:write`: in one message, or one chunk of an upload (committed by its last chunk).
async fn write(served: &Served, env: &Envelope, req: Incoming) -> Result<Written, VfsError> {
    let bytes = req.bytes;
    let Some(upload) = req.upload else {
        if req.offset != 0 || !req.last {
            return Err(VfsError::BadPayload(
                "`offset` and `last: false` belong to a chunked write; name its `upload`".into(),
            ));
        }
        return served.proxy.write(&req.path, &bytes).await;
    };
    if upload.is_empty() || upload.len() > MAX_UPLOAD_ID_BYTES {
        return Err(VfsError::BadPayload(format!(
            "an upload id has 1 to {MAX_UPLOAD_ID_BYTES} bytes"
        )));
    }
    let path = normalize(&req.path)?;
    let writer = env.from.clone().unwrap_or_default();
    let staged = served.proxy.inner.uploads.borrow_mut().stage(
        (writer, upload),
        &path,
        req.offset,
        &bytes,
        req.last,
        now_ms(),
    )?;
    match staged {
        Staging::Partial(size) => Ok(Written {
            size,
            mtime: 0,
            committed: false,
        }),
        Staging::Complete { path, bytes } => served.proxy.write(&path, &bytes).await,
    }
}

/// `vfs:read`, answered in the form it asks: raw bytes beside a [`FileBytes`] (binary frames), or
/// a [`FileContent`] in `utf8`/`base64`.
async fn read(served: &Served, env: &Envelope) -> Result<Envelope, VfsError> {
    let req: Read = env
        .decode()
        .map_err(|e| VfsError::BadPayload(e.to_string()))?;
    let max_frame_bytes = served
        .bus
        .hello_untracked()
        .map_or(u64::MAX, |h| h.limits.max_frame_bytes);
    if req.wants_bytes() && served.bus.binary_frames() {
        return read_bytes(served, env, req, max_frame_bytes).await;
    }
    let body = read_text(served, req, max_frame_bytes).await?;
    Ok(env.reply(Read::reply_topic(), &body))
}

/// The whole file or one chunk as raw bytes, at most what fits in one binary frame.
async fn read_bytes(
    served: &Served,
    env: &Envelope,
    req: Read,
    max_frame_bytes: u64,
) -> Result<Envelope, VfsError> {
    let budget = binary_chunk_len(max_frame_bytes);
    let file = if req.is_chunked() {
        let offset = req.offset.unwrap_or(0);
        let length = req.length.unwrap_or(budget).min(budget);
        served.proxy.read_range(&req.path, offset, length).await?
    } else {
        let file = served.proxy.read(&req.path).await?;
        if file.bytes.len() as u64 > budget {
            return Err(VfsError::TooLargeToSend {
                path: file.entry.path,
                size: file.entry.size,
                max_frame_bytes,
            });
        }
        file
    };
    let offset = req.offset.unwrap_or(0);
    let end = offset + file.bytes.len() as u64;
    let header = FileBytes {
        encoding: Binary::Binary,
        size: file.entry.size,
        mtime: file.entry.mtime,
        offset,
        eof: end >= file.entry.size,
    };
    Ok(env
        .reply(Read::reply_topic(), &header)
        .with_bytes(file.bytes))
}

/// The whole file in one text message, or one chunk of at most what fits in a text frame.
async fn read_text(
    served: &Served,
    req: Read,
    max_frame_bytes: u64,
) -> Result<FileContent, VfsError> {
    if req.is_chunked() {
        let budget = chunk_len(max_frame_bytes);
        let offset = req.offset.unwrap_or(0);
        let length = req.length.unwrap_or(budget).min(budget);
        let file = served.proxy.read_range(&req.path, offset, length).await?;
        let (content, encoding) = content::encode_chunk(&file.bytes, budget.div_ceil(3) * 4);
        let end = offset + file.bytes.len() as u64;
        return Ok(FileContent {
            content,
            encoding,
            size: file.entry.size,
            mtime: file.entry.mtime,
            offset,
            eof: end >= file.entry.size,
        });
    }
    let file = served.proxy.read(&req.path).await?;
    let wire = content::encoded_len(&file.bytes) + ENVELOPE_OVERHEAD_BYTES;
    if wire > max_frame_bytes {
        return Err(VfsError::TooLargeToSend {
            path: file.entry.path,
            size: file.entry.size,
            max_frame_bytes,
        });
    }
    let (content, encoding) = content::encode(&file.bytes);
    Ok(FileContent {
        content,
        encoding,
        size: file.entry.size,
        mtime: file.entry.mtime,
        offset: 0,
        eof: true,
    })
}

/// Decodes `env` as `R`, runs it, and builds the correlated reply.
async fn reply<R: BusRequest>(
    env: &Envelope,
    run: impl AsyncFnOnce(R) -> Result<R::Reply, VfsError>,
) -> Result<Envelope, VfsError> {
    let request: R = env
        .decode()
        .map_err(|e| VfsError::BadPayload(e.to_string()))?;
    let body = run(request).await?;
    Ok(env.reply(R::reply_topic(), &body))
}

fn warn(message: &str) {
    web_sys::console::warn_1(&format!("aether: {message}").into());
}
