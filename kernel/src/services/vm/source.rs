//! Getting a program's bytes: WAT text, base64, the sha256 of a module sent before (which only
//! the cache can answer: [`Given::Sha256`]), or a file read through the VFS relay from the
//! requester's own session, in chunks so a module of any size up to [`MAX_MODULE_BYTES`] passes
//! the frame cap. A module is had in two steps: its text as sent ([`read`], a [`Given`], which
//! is all the cache needs to know a warm module), then, only when the cache does not know it,
//! its wasm bytes ([`Given::decode`]). The text itself (up to the frame cap) is moved out of the
//! request ([`take_module`]), never copied. Which session the kernel may read for a requester is the router's rule
//! ([`Bus::reach`]: a tab's file session only for that tab, or the kernel acting for it); a
//! session it may not read is `permission_denied` (audited by the router), another principal's
//! answers as absent. Why a module could not be had is a [`SourceError`].

use std::borrow::Cow;
use std::time::Duration;

use aether_shared::catalog::TopicKind;
use aether_shared::vfs::chunk::{ChunkError, ChunkedRead};
use aether_shared::vfs::{Encoding, Read};
use aether_shared::vm::ModuleSource;
use aether_shared::{BusRequest, Envelope, ErrorCode, ErrorPayload, Topic};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use super::cache::{SourceText, TextKind};

use crate::bus::{Bus, ClientHandle, RequestError, RouteError};
use crate::services::request::ServiceError;

/// How long one relayed `vfs:read` chunk of a module may take.
const READ_TIMEOUT: Duration = Duration::from_secs(15);
/// Bytes asked for per chunk; the serving tab answers fewer when they would not fit in a frame.
const CHUNK_BYTES: u64 = 16 * 1024 * 1024;
/// Bytes asked for per chunk from a tab of another kernel: its answer, as base64 in a letter,
/// must fit in one NATS message (1 MiB by default).
const REMOTE_CHUNK_BYTES: u64 = 512 * 1024;
/// The largest module read from a tab's files.
const MAX_MODULE_BYTES: u64 = 256 * 1024 * 1024;

/// Why a program's module could not be had.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    #[error("`module.base64` is not valid base64 ({0}); send the .wasm bytes base64-encoded.")]
    BadBase64(String),
    #[error(
        "`module.sha256` must be the 64 hex digits of a SHA-256, not `{0}`; it is `vm.exit`'s `stats.module_sha256` of an earlier run."
    )]
    BadSha256(String),
    #[error("The module is neither valid WebAssembly nor valid WAT: {0}")]
    NotAModule(String),
    #[error("No tab serves session `{0}`; open it and retry.")]
    NoSuchSession(String),
    #[error(
        "Session `{0}` is another tab's; the kernel reads modules only from the requesting tab's own files."
    )]
    OthersSession(String),
    #[error(
        "This client serves no VFS session to read the module from; register one with `vfs:register` or send the module as `wat` or `base64`."
    )]
    NoSession,
    #[error("The tab sent `{path}` as invalid base64: {why}")]
    BadChunk { path: String, why: String },
    #[error("{0}; the runner loads modules of at most {MAX_MODULE_BYTES} bytes.")]
    TooLarge(String),
    /// The file changed between two chunks.
    #[error("{0}")]
    Changed(String),
    /// The tab's chunks do not follow each other.
    #[error("{0}")]
    OutOfStep(String),
    /// The tab refused the read: its code, with its sentence.
    #[error("Reading `{path}`: {}", .refused.error)]
    Refused { path: String, refused: ErrorPayload },
    #[error("The tab did not answer the read of `{0}` in time; retry.")]
    Timeout(String),
    #[error("Session `{0}` is gone; reopen its tab.")]
    Gone(String),
    #[error("The tab answered the read of `{path}` wrongly: {why}")]
    BadAnswer { path: String, why: String },
}

impl ServiceError for SourceError {
    fn code(&self) -> ErrorCode {
        use SourceError::*;
        match self {
            BadBase64(_) | BadSha256(_) | NotAModule(_) | BadChunk { .. } => ErrorCode::BadRequest,
            NoSuchSession(_) | NoSession | Gone(_) => ErrorCode::SessionNotFound,
            OthersSession(_) => ErrorCode::PermissionDenied,
            TooLarge(_) => ErrorCode::ResourceExceeded,
            Changed(_) => ErrorCode::Conflict,
            OutOfStep(_) | BadAnswer { .. } => ErrorCode::Internal,
            Refused { refused, .. } => refused.code,
            Timeout(_) => ErrorCode::Timeout,
        }
    }

    fn details(&self, error: ErrorPayload) -> ErrorPayload {
        match self {
            SourceError::TooLarge(_) => error
                .with_detail("limit", "max_module_bytes")
                .with_detail("value", MAX_MODULE_BYTES),
            _ => error,
        }
    }
}

impl From<SourceError> for ErrorPayload {
    fn from(error: SourceError) -> ErrorPayload {
        error.to_payload()
    }
}

/// Takes `module` out of a `vm.spawn` (or `wasm.run`) payload before the rest is decoded, so its
/// text is moved into the spawn instead of copied with the payload; [`module_of`] reads it.
pub fn take_module(env: &mut Envelope) -> Option<Value> {
    env.payload.as_mut()?.remove("module")
}

/// The module of a spawn, from what [`take_module`] took: exactly what decoding it within the
/// payload would give (`null` is none), the text of `{base64}` or `{wat}` moved, not copied.
pub fn module_of(value: Option<Value>) -> Result<Option<ModuleSource>, serde_json::Error> {
    let mut fields = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(fields)) => fields,
        Some(other) => return serde_json::from_value(other).map(Some),
    };
    // The two shapes that carry a module's whole text, alone in their object: the enum's own
    // decoding would match them the same way (neither has the `path` that is tried first).
    if fields.len() == 1 {
        match fields.remove("base64") {
            Some(Value::String(base64)) => return Ok(Some(ModuleSource::Base64 { base64 })),
            Some(other) => {
                fields.insert("base64".into(), other);
            }
            None => {}
        }
        match fields.remove("wat") {
            Some(Value::String(wat)) => return Ok(Some(ModuleSource::Wat { wat })),
            Some(other) => {
                fields.insert("wat".into(), other);
            }
            None => {}
        }
    }
    serde_json::from_value(Value::Object(fields)).map(Some)
}

/// A short label of the source for `vm.list`.
pub fn label(source: &ModuleSource) -> String {
    match source {
        ModuleSource::Path { path, .. } => path.clone(),
        ModuleSource::Base64 { .. } => "<base64>".into(),
        ModuleSource::Wat { .. } => "<wat>".into(),
        ModuleSource::Sha256 { sha256 } => {
            format!("<sha256:{}>", sha256.get(..12).unwrap_or(sha256))
        }
    }
}

/// A module as its requester gave it, not yet decoded.
pub enum Given {
    /// `module.base64`: the text, not yet decoded.
    Base64(String),
    /// `module.wat`, or a file's bytes: wasm, or WAT text.
    Raw(Vec<u8>),
    /// `module.sha256`: no bytes, only the key of a module the cache may hold.
    Sha256([u8; 32]),
}

impl Given {
    /// The text as sent, by which the cache knows a warm module (none for a hash).
    pub fn text(&self) -> Option<SourceText<'_>> {
        match self {
            Given::Base64(text) => Some(SourceText {
                kind: TextKind::Base64,
                bytes: text.as_bytes(),
            }),
            Given::Raw(bytes) => Some(SourceText {
                kind: TextKind::Raw,
                bytes,
            }),
            Given::Sha256(_) => None,
        }
    }

    /// The module's wasm bytes: base64 decoded, WAT compiled to wasm. Work in proportion to
    /// the module's size: call it off the runtime.
    pub fn decode(&self) -> Result<Cow<'_, [u8]>, SourceError> {
        let bytes = match self {
            Given::Base64(text) => Cow::Owned(
                BASE64
                    .decode(text.trim())
                    .map_err(|e| SourceError::BadBase64(e.to_string()))?,
            ),
            Given::Raw(bytes) => Cow::Borrowed(&bytes[..]),
            Given::Sha256(key) => return Err(SourceError::BadSha256(super::cache::hex(key))),
        };
        match wat::parse_bytes(&bytes) {
            // Already wasm: the bytes themselves.
            Ok(Cow::Borrowed(_)) => Ok(bytes),
            Ok(Cow::Owned(wasm)) => Ok(Cow::Owned(wasm)),
            Err(e) => Err(SourceError::NotAModule(e.to_string())),
        }
    }
}

/// The module's text as given: the request's own for `wat` and `base64`, a file's bytes read
/// through the relay for `path`.
pub async fn read(
    bus: &Bus,
    requester: &ClientHandle,
    source: ModuleSource,
) -> Result<Given, SourceError> {
    Ok(match source {
        ModuleSource::Wat { wat } => Given::Raw(wat.into_bytes()),
        ModuleSource::Base64 { base64 } => Given::Base64(base64),
        ModuleSource::Sha256 { sha256 } => Given::Sha256(parse_sha256(&sha256)?),
        ModuleSource::Path { path, session } => {
            Given::Raw(read_from_vfs(bus, requester, &path, session).await?)
        }
    })
}

/// The 32 bytes of a SHA-256 written as 64 hex digits (either case).
fn parse_sha256(text: &str) -> Result<[u8; 32], SourceError> {
    let bad = || SourceError::BadSha256(text.chars().take(80).collect());
    if text.len() != 64 {
        return Err(bad());
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(key)
}

/// The session to read `requester`'s module from: the one it names, if the router lets the
/// kernel read it for the requester, else the requester's own.
fn session_for(
    bus: &Bus,
    requester: &ClientHandle,
    named: Option<String>,
) -> Result<String, SourceError> {
    let Some(session) = named else {
        return bus.own_session(requester).ok_or(SourceError::NoSession);
    };
    let read = Topic::from_static(Read::TOPIC);
    let kind = TopicKind::Request(Read::REPLY);
    match bus.reach(requester, &session, &read, kind) {
        Ok(_) => Ok(session),
        Err(RouteError::PrivateSession(_) | RouteError::PrivateMachine(_)) => {
            Err(SourceError::OthersSession(session))
        }
        Err(RouteError::NoSuchAddress(_) | RouteError::KernelOnly(_)) => {
            Err(SourceError::NoSuchSession(session))
        }
    }
}

async fn read_from_vfs(
    bus: &Bus,
    requester: &ClientHandle,
    path: &str,
    session: Option<String>,
) -> Result<Vec<u8>, SourceError> {
    let session = session_for(bus, requester, session)?;
    let chunk = match requester.party() {
        Some(_) => REMOTE_CHUNK_BYTES,
        None => CHUNK_BYTES,
    };
    let mut reading = ChunkedRead::new(path, chunk, MAX_MODULE_BYTES);
    loop {
        let answer = bus
            .request(&session, &reading.request(), READ_TIMEOUT)
            .await
            .map_err(|e| relay_error(path, e))?;
        let chunk = match answer.encoding {
            Encoding::Utf8 => answer.content.as_bytes().to_vec(),
            Encoding::Base64 => {
                BASE64
                    .decode(answer.content.trim())
                    .map_err(|e| SourceError::BadChunk {
                        path: path.to_owned(),
                        why: e.to_string(),
                    })?
            }
        };
        match reading.push(&answer, &chunk) {
            Ok(true) => return Ok(reading.into_bytes()),
            Ok(false) => {}
            Err(e @ ChunkError::TooLarge { .. }) => {
                return Err(SourceError::TooLarge(e.to_string()));
            }
            Err(e @ ChunkError::Changed { .. }) => return Err(SourceError::Changed(e.to_string())),
            Err(e @ ChunkError::OutOfStep { .. }) => {
                return Err(SourceError::OutOfStep(e.to_string()));
            }
        }
    }
}

/// Why the relayed read of `path` failed.
fn relay_error(path: &str, e: RequestError) -> SourceError {
    let path = path.to_owned();
    match e {
        RequestError::Remote(refused) => SourceError::Refused { path, refused },
        RequestError::Timeout(_) => SourceError::Timeout(path),
        RequestError::Unreachable(session) => SourceError::Gone(session),
        RequestError::BadAnswer(why) => SourceError::BadAnswer { path, why },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::guard::Principal;

    #[test]
    fn a_module_taken_apart_reads_exactly_as_within_its_payload() {
        use serde_json::json;
        let within = |module: Value| {
            let spawn: aether_shared::vm::Spawn =
                serde_json::from_value(json!({ "module": module })).map_err(|e| e.to_string())?;
            Ok::<_, String>(spawn.module)
        };
        for module in [
            json!({"base64": "AGFzbQ=="}),
            json!({"wat": "(module)"}),
            json!({"path": "/a.wasm"}),
            json!({"path": "/a.wasm", "session": "s-1"}),
            json!({"base64": "AGFzbQ==", "wat": "(module)"}),
            json!({"base64": 7}),
            json!({"wat": null}),
            json!({"nope": "x"}),
            json!({}),
            json!("(module)"),
            json!(null),
        ] {
            let apart = module_of(Some(module.clone())).map_err(|e| e.to_string());
            assert_eq!(apart, within(module.clone()), "{module}");
        }
        assert_eq!(module_of(None).unwrap(), None);
    }

    #[test]
    fn a_sha256_is_64_hex_digits_of_either_case_and_nothing_else() {
        let hex = "00ff10aB".repeat(8);
        let key = parse_sha256(&hex).unwrap();
        assert_eq!(key[..4], [0x00, 0xff, 0x10, 0xab]);
        for bad in [
            "",
            "00",
            &"0".repeat(63),
            &"0".repeat(65),
            &"g".repeat(64),
            &"é".repeat(32),
        ] {
            let refused = parse_sha256(bad).unwrap_err();
            assert_eq!(refused.code(), ErrorCode::BadRequest, "{bad}");
        }
    }

    #[test]
    fn each_failure_has_its_code_and_a_too_large_module_names_its_limit() {
        let too_large = SourceError::TooLarge("`/a.wasm` is 9 bytes".into()).to_payload();
        assert_eq!(too_large.code, ErrorCode::ResourceExceeded);
        assert_eq!(too_large.details.unwrap()["limit"], "max_module_bytes");
        let refused = SourceError::Refused {
            path: "/a".into(),
            refused: ErrorPayload::new(ErrorCode::NotFound, "No such file."),
        }
        .to_payload();
        assert_eq!(refused.code, ErrorCode::NotFound);
        assert_eq!(refused.error, "Reading `/a`: No such file.");
        assert_eq!(SourceError::NoSession.code(), ErrorCode::SessionNotFound);
    }

    #[test]
    fn the_kernel_reads_a_named_session_only_where_the_router_lets_it() {
        let bus = Bus::new();
        let tab = |id: &str, principal| {
            let (handle, rx) = ClientHandle::new(id.to_owned(), principal, 4);
            let handle = Arc::new(handle);
            assert!(bus.attach(Arc::clone(&handle)));
            (handle, rx)
        };
        let (owner, _a) = tab("c-owner", Principal::Local);
        bus.register_session("s-owner", &owner, 4).unwrap();
        let (sibling, _b) = tab("c-sibling", Principal::Local);
        let (stranger, _c) = tab("c-stranger", Principal::TokenHolder);
        let named = || Some("s-owner".to_owned());
        assert_eq!(session_for(&bus, &owner, named()).unwrap(), "s-owner");
        assert_eq!(session_for(&bus, &owner, None).unwrap(), "s-owner");
        assert_eq!(
            session_for(&bus, &sibling, named()),
            Err(SourceError::OthersSession("s-owner".into()))
        );
        assert_eq!(
            session_for(&bus, &sibling, None),
            Err(SourceError::NoSession)
        );
        // Another principal's session reads as absent, like one nobody serves.
        assert_eq!(
            session_for(&bus, &stranger, named()),
            Err(SourceError::NoSuchSession("s-owner".into()))
        );
        assert_eq!(
            session_for(&bus, &stranger, Some("s-none".into())),
            Err(SourceError::NoSuchSession("s-none".into()))
        );
    }
}
