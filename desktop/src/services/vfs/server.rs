//! The bus glue: registers this tab's session (`vfs:register`, again after every reconnect) and
//! answers the `vfs:*` requests the kernel relays to it, with correlated `:ack`/`:resp` replies
//! or `vfs:error`, addressed to the requester.
//!
//! Payloads are parsed into the contract's typed requests here and nowhere else; the work is done
//! by the same [`VfsProxy`] methods the apps call. A read whose answer would not fit in one bus
//! frame (`kernel.hello` limits) is answered `payload_too_large` instead of being dropped by the
//! kernel. A session taken by another client (a duplicated tab) is retried a few times, then
//! left with a console warning.

use std::rc::Rc;

use aether_shared::vfs::{
    Delete, Done, FileContent, List, Listing, Mkdir, Read, Register, Rename, Stat, Write,
};
use aether_shared::{BusRequest, Envelope, ErrorCode, Pattern};
use gloo_timers::future::TimeoutFuture;

use super::VfsProxy;
use super::content;
use super::error::VfsError;
use crate::services::bus::{BusClient, DEFAULT_TIMEOUT_MS};

/// Attempts at registering a session another client holds (a reload's old socket may linger).
const REGISTER_ATTEMPTS: u32 = 5;
/// Wait between those attempts, in milliseconds.
const REGISTER_RETRY_MS: u32 = 1_000;
/// Room for the envelope around a read's content, in bytes.
const ENVELOPE_OVERHEAD_BYTES: u64 = 1_024;

/// Serves `proxy` on `bus` for the life of the page.
pub fn serve(bus: BusClient, proxy: VfsProxy) {
    let shared = Rc::new((bus.clone(), proxy.clone()));
    let requests = Pattern::parse("vfs:*").expect("a valid pattern");
    {
        let shared = Rc::clone(&shared);
        bus.on(requests, move |envelope| {
            let (bus, proxy) = &*shared;
            if envelope.to.as_deref() != Some(proxy.session_id()) {
                return;
            }
            let (bus, proxy, envelope) = (bus.clone(), proxy.clone(), envelope.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(answer) = answer(&bus, &proxy, &envelope).await
                    && let Err(e) = bus.publish(answer)
                {
                    warn(&format!("could not answer `{}`: {e}", envelope.topic));
                }
            });
        });
    }
    let hello = Pattern::parse("kernel.hello").expect("a valid pattern");
    bus.on(hello, move |_| {
        let (bus, proxy) = (shared.0.clone(), shared.1.clone());
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
            Ok(_) => return,
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
async fn answer(bus: &BusClient, proxy: &VfsProxy, env: &Envelope) -> Option<Envelope> {
    let result = match env.topic.as_str() {
        Write::TOPIC => {
            reply::<Write>(env, async |req| {
                let bytes = content::decode(&req.content, req.encoding)?;
                proxy.write(&req.path, &bytes).await
            })
            .await
        }
        Read::TOPIC => {
            reply::<Read>(env, async |req| {
                let file = proxy.read(&req.path).await?;
                let max_frame_bytes = bus
                    .hello_untracked()
                    .map_or(u64::MAX, |h| h.limits.max_frame_bytes);
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
                })
            })
            .await
        }
        List::TOPIC => {
            reply::<List>(env, async |req| {
                let entries = proxy.list(&req.path).await?;
                Ok(Listing { entries })
            })
            .await
        }
        Stat::TOPIC => reply::<Stat>(env, async |req| proxy.stat(&req.path).await).await,
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
