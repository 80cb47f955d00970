//! Getting a program's bytes: WAT text, base64, or a file read through the VFS relay from the
//! requester's own session (a session of another tab is `permission_denied`, audited).

use std::time::Duration;

use aether_shared::vfs::{self, Encoding};
use aether_shared::vm::{ModuleSource, Spawn};
use aether_shared::{BusRequest as _, ErrorCode, ErrorPayload};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::bus::{Bus, ClientHandle, RequestError};
use crate::guard::audit::{self, Reason};

/// How long a relayed `vfs:read` of a module may take.
const READ_TIMEOUT: Duration = Duration::from_secs(15);

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
            if owner.id() != requester.id() {
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
        None => bus.sessions_of(requester.id()).into_iter().next().ok_or_else(|| {
            ErrorPayload::new(
                ErrorCode::SessionNotFound,
                "This client serves no VFS session to read the module from; register one with `vfs:register` or send the module as `wat` or `base64`.",
            )
        })?,
    };
    let read = vfs::Read {
        path: path.to_owned(),
    };
    let file = bus
        .request(&session, &read, READ_TIMEOUT)
        .await
        .map_err(|e| match e {
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
        })?;
    match file.encoding {
        Encoding::Utf8 => Ok(file.content.into_bytes()),
        Encoding::Base64 => BASE64.decode(file.content.trim()).map_err(|e| {
            ErrorPayload::new(
                ErrorCode::BadRequest,
                format!("The tab sent `{path}` as invalid base64: {e}"),
            )
        }),
    }
}
