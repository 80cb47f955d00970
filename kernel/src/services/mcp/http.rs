//! `/mcp`: the MCP Streamable HTTP transport (the `rmcp` SDK), stateless, answering in JSON.
//!
//! Before the SDK sees a request, [`gate`] applies the transport's rules: the `Host` must be
//! this kernel's (as for `/ws`, against DNS rebinding); a request **with** an `Origin` must come
//! from the kernel's own origin or an allowed one (403 otherwise), while one **without** an
//! `Origin` (command-line agents and SDKs send none) is judged on its token alone; the bearer
//! token must stand for a live grant (401 otherwise). The grant's id is handed to the tools in
//! the request's extensions, and the request's cancellation (the SDK cancels it when the client
//! hangs up) to the call, which then ends where it is. The token is never logged.

use std::sync::Arc;

use aether_shared::agent::tools::{TOOLS, parameters};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    InitializeResult, ListToolsResult, PaginatedRequestParams, ServerCapabilities, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tokio_util::sync::CancellationToken;

use super::McpService;
use crate::config::Config;
use crate::guard::origin::{check_host, check_origin};
use crate::services::Services;

/// The grant a request was admitted on (set by [`gate`]).
#[derive(Clone, Debug)]
struct GrantPass(String);

/// What [`gate`] judges a request by.
#[derive(Clone)]
struct Gate {
    config: Arc<Config>,
    services: Arc<Services>,
}

/// The `/mcp` route, behind its gate.
pub fn router<S: Clone + Send + Sync + 'static>(
    config: Arc<Config>,
    services: Arc<Services>,
    shutdown: CancellationToken,
) -> Router<S> {
    let mcp = Arc::clone(services.mcp());
    // A call's body is held to the bus's own frame limit, as a request from a tab would be.
    let max_body_bytes = config.limits.max_frame_bytes.get();
    let transport = StreamableHttpService::new(
        move || {
            Ok(GrantedTools {
                mcp: Arc::clone(&mcp),
            })
        },
        Arc::new(NeverSessionManager::default()),
        // Host and Origin are checked by the gate, with the kernel's own rules.
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_max_request_body_bytes(max_body_bytes)
            .disable_allowed_hosts()
            .disable_allowed_origins()
            .with_cancellation_token(shutdown.child_token()),
    );
    Router::new()
        .route_service("/mcp", transport)
        .route_layer(middleware::from_fn_with_state(
            Gate { config, services },
            gate,
        ))
}

async fn gate(State(gate): State<Gate>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    let host = text(header::HOST);
    if let Err(e) = check_host(&gate.config, host) {
        return refuse(StatusCode::FORBIDDEN, e.to_string());
    }
    if let Some(origin) = text(header::ORIGIN)
        && let Err(e) = check_origin(&gate.config, host.unwrap_or_default(), Some(origin))
    {
        tracing::info!(origin, "mcp request refused: foreign origin");
        return refuse(StatusCode::FORBIDDEN, e.to_string());
    }
    let token = text(header::AUTHORIZATION).and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    let Some(grant) = token.and_then(|t| gate.services.mcp().authenticate(t)) else {
        let mut response = refuse(
            StatusCode::UNAUTHORIZED,
            "send `Authorization: Bearer <token>` with the token of a live grant; ask the user to make one in the Agent app"
                .into(),
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return response;
    };
    req.extensions_mut().insert(GrantPass(grant.grant_id));
    next.run(req).await
}

fn refuse(status: StatusCode, sentence: String) -> Response {
    (status, sentence).into_response()
}

/// The agent's tools a grant allows, as an MCP server.
struct GrantedTools {
    mcp: Arc<McpService>,
}

impl GrantedTools {
    fn grant_id(context: &RequestContext<RoleServer>) -> Result<String, ErrorData> {
        context
            .extensions
            .get::<Parts>()
            .and_then(|parts| parts.extensions.get::<GrantPass>())
            .map(|g| g.0.clone())
            .ok_or_else(|| ErrorData::invalid_request("no grant", None))
    }
}

impl ServerHandler for GrantedTools {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("aether", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "The tools act in the user's Aether tab that made this grant: its files and programs.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let grant_id = Self::grant_id(&context)?;
        let allowed = self
            .mcp
            .grant_by_id(&grant_id)
            .map(|g| g.tools)
            .unwrap_or_default();
        let tools = TOOLS
            .iter()
            .filter(|t| allowed.iter().any(|a| a == t.name))
            .map(|t| {
                let schema = parameters(t.name)
                    .and_then(|v| v.as_object().cloned())
                    .unwrap_or_default();
                Tool::new(t.name, t.description, Arc::new(schema))
            })
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let grant_id = Self::grant_id(&context)?;
        let arguments = serde_json::Value::Object(request.arguments.unwrap_or_default());
        let result = match self
            .mcp
            .call(&grant_id, &request.name, &arguments, &context.ct)
            .await
        {
            Ok(value) => CallToolResult::success(vec![ContentBlock::text(value.to_string())]),
            Err(e) => CallToolResult::error(vec![ContentBlock::text(format!(
                "{}: {}",
                e.code.as_str(),
                e.error
            ))]),
        };
        Ok(result.into())
    }
}
