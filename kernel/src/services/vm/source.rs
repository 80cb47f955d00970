//! Getting a program's bytes: WAT text, base64, or a file read through the VFS relay from the
//! requester's own session (a session of another tab is `permission_denied`, audited), in chunks
//! so a module of any size up to [`MAX_MODULE_BYTES`] passes the frame cap.

use std::time::Duration;

use aether_shared::vfs::Encoding;
use aether_shared::vfs::chunk::{ChunkError, ChunkedRead};
use aether_shared::vm::{ModuleSource, Spawn};
use aether_shared::{BusRequest as _, ErrorCode, ErrorPayload};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::bus::{Bus, ClientHandle, RequestError};
use crate::guard::audit::{self, Reason};

/// How long one relayed `vfs:read` chunk of a module may take.
const READ_TIMEOUT: Duration = Duration::from_secs(15);
/// Bytes asked for per chunk; the serving tab answers fewer when they would not fit in a frame.
const CHUNK_BYTES: u64 = 16 * 1024 * 1024;
/// The largest module read from a tab's files.
const MAX_MODULE_BYTES: u64 = 256 * 1024 * 1024;

/// A short label of the source for `vm.list`.
pub fn label(source: &ModuleSource) -> String {
    match source {
        ModuleSource::Path { path, .. } => path.clone(),
        ModuleSource::Base64 { .. } => "<base64>".into(),
        ModuleSource::Wat { .. } => "<wat>".into(),
    }
}

/// The module's wasm bytes (WAT is compiled to wasm here), or the error to answer with.
pub async fn fetch(
    bus: &Bus,
    requester: &ClientHandle,
    source: ModuleSource,
) -> Result<Vec<u8>, ErrorPayload> {
    let bytes = match source {
        ModuleSource::Wat { wat } => wat.into_bytes(),
        ModuleSource::Base64 { base64 } => BASE64.decode(base64.trim()).map_err(|e| {
            ErrorPayload::new(ErrorCode::BadRequest, format!("`module.base64` is not valid base64 ({e}); send the .wasm bytes base64-encoded."))
        })?,
        ModuleSource::Path { path, session } => read_from_vfs(bus, requester, &path, session).await?,
    };
    wat::parse_bytes(&bytes)
        .map(|wasm| wasm.into_owned())
        .map_err(|e| {
            ErrorPayload::new(
                ErrorCode::BadRequest,
                format!("The module is neither valid WebAssembly nor valid WAT: {e}"),
            )
        })
}

async fn read_from_vfs(
    bus: &Bus,
    requester: &ClientHandle,
    path: &str,
    session: Option<String>,
) -> Result<Vec<u8>, ErrorPayload> {
    let session = match session {
        Some(session) => {
            let owner = bus.resolve(&session).ok_or_else(|| {
                ErrorPayload::new(ErrorCode::SessionNotFound, format!("No tab serves session `{session}`; open it and retry."))
            })?;
            // A VFS session is private to its tab: the kernel reads only for that tab.
            if owner.id() != requester.acting_for() {
                let error = ErrorPayload::new(
                    ErrorCode::PermissionDenied,
                    format!("Session `{session}` is another tab's; the kernel reads modules only from the requesting tab's own files."),
                );
                // Logged here, counted when `Job::run` answers it.
                audit::log(
                    Reason::PermissionDenied,
                    Some(requester.id()),
                    requester.principal().as_str(),
                    Some(Spawn::TOPIC),
                    &error.error,
                );
                return Err(error);
            }
            session
        }
        None => bus.sessions_of(requester.acting_for()).into_iter().next().ok_or_else(|| {
            ErrorPayload::new(
                ErrorCode::SessionNotFound,
                "This client serves no VFS session to read the module from; register one with `vfs:register` or send the module as `wat` or `base64`.",
            )
        })?,
    };
    let mut reading = ChunkedRead::new(path, CHUNK_BYTES, MAX_MODULE_BYTES);
    loop {
        let answer = bus
            .request(&session, &reading.request(), READ_TIMEOUT)
            .await
            .map_err(|e| relay_error(path, e))?;
        let chunk = match answer.encoding {
            Encoding::Utf8 => answer.content.as_bytes().to_vec(),
            Encoding::Base64 => BASE64.decode(answer.content.trim()).map_err(|e| {
                ErrorPayload::new(
                    ErrorCode::BadRequest,
                    format!("The tab sent `{path}` as invalid base64: {e}"),
                )
            })?,
        };
        match reading.push(&answer, &chunk) {
            Ok(true) => return Ok(reading.into_bytes()),
            Ok(false) => {}
            Err(e @ ChunkError::TooLarge { .. }) => {
                return Err(ErrorPayload::new(
                    ErrorCode::ResourceExceeded,
                    format!("{e}; the runner loads modules of at most {MAX_MODULE_BYTES} bytes."),
                )
                .with_detail("limit", "max_module_bytes")
                .with_detail("value", MAX_MODULE_BYTES));
            }
            Err(e @ ChunkError::Changed { .. }) => {
                return Err(ErrorPayload::new(ErrorCode::Conflict, e.to_string()));
            }
            Err(e @ ChunkError::OutOfStep { .. }) => {
                return Err(ErrorPayload::new(ErrorCode::Internal, e.to_string()));
            }
        }
    }
}

/// The error to answer a spawn with when the relayed read failed.
fn relay_error(path: &str, e: RequestError) -> ErrorPayload {
    match e {
        RequestError::Remote(err) => {
            ErrorPayload::new(err.code, format!("Reading `{path}`: {}", err.error))
        }
        RequestError::Timeout(_) => ErrorPayload::new(
            ErrorCode::Timeout,
            format!("The tab did not answer the read of `{path}` in time; retry."),
        ),
        RequestError::Unreachable(s) => ErrorPayload::new(
            ErrorCode::SessionNotFound,
            format!("Session `{s}` is gone; reopen its tab."),
        ),
        RequestError::BadAnswer(why) => ErrorPayload::new(
            ErrorCode::Internal,
            format!("The tab answered the read of `{path}` wrongly: {why}"),
        ),
    }
}
