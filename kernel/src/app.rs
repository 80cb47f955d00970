//! The kernel's HTTP application: shared state, the router, and [`serve`] with graceful
//! shutdown. Routes: `/ws` (the hub), `/healthz`, `/mcp` (MCP for granted outside agents),
//! `/wisp` and `/wisp/dns-query` (the guest network, `crate::net`), `/sw.js` (the desktop's
//! service worker, `assets::service_worker`), and everything else from the desktop's files.
//! The connections under the router (header-read timeout, `TCP_NODELAY`) are in `connections`;
//! the open-file limit raised at start is in `open_files`.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::response::Response;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;

mod connections;
mod open_files;

pub use open_files::raise_open_file_limit;

use crate::assets::{self, AssetTable, SecurityHeaders};
use crate::bus::Bus;
use crate::config::Config;
use crate::guard::Guards;
use crate::hub;
use crate::services::Services;

/// State shared by every route and connection. Cheap to clone.
#[derive(Clone)]
pub struct Kernel {
    pub bus: Bus,
    pub services: Arc<Services>,
    pub config: Arc<Config>,
    pub guards: Arc<Guards>,
    pub assets: AssetTable,
    /// Cancelled when the kernel shuts down.
    pub shutdown: CancellationToken,
    /// Tracks WebSocket connections so shutdown can wait for them to flush.
    pub tracker: TaskTracker,
}

impl Kernel {
    /// A kernel with the desktop embedded at build time.
    pub fn new(config: Config, shutdown: CancellationToken) -> Kernel {
        Kernel::with_assets(config, shutdown, assets::EMBEDDED)
    }

    /// A kernel serving the given assets (tests use their own table).
    pub fn with_assets(config: Config, shutdown: CancellationToken, assets: AssetTable) -> Kernel {
        crate::tls::install_crypto_provider();
        let config = Arc::new(config);
        let bus = Bus::new();
        let guards = Arc::new(Guards::new(&config));
        let services = Services::new(
            bus.clone(),
            Arc::clone(&config),
            Arc::clone(&guards),
            shutdown.clone(),
        );
        if let Some(cluster) = &config.cluster {
            let serves_ai = config.ai.provider.base_url.is_some();
            crate::cluster::join(cluster, serves_ai, &bus, shutdown.clone()).serve_with(&services);
        }
        Kernel {
            bus,
            services,
            config,
            guards,
            assets,
            shutdown,
            tracker: TaskTracker::new(),
        }
    }

    /// The router of every HTTP route. Every response carries the security headers
    /// ([`SecurityHeaders`]: CSP, `nosniff`, `no-referrer`, no framing by other sites).
    pub fn router(&self) -> Router {
        let security = Arc::new(SecurityHeaders::for_assets(self.assets));
        Router::new()
            .route("/ws", get(hub::ws_handler))
            .route("/healthz", get(|| async { "ok" }))
            .merge(crate::net::router(self))
            .merge(assets::service_worker::router(self.assets))
            .merge(crate::services::mcp::http::router(
                Arc::clone(&self.config),
                Arc::clone(&self.services),
                self.shutdown.clone(),
            ))
            .fallback(get(assets::serve))
            .with_state(self.clone())
            .layer(middleware::map_response(move |mut response: Response| {
                security.apply(response.headers_mut());
                std::future::ready(response)
            }))
    }
}

/// Serves the kernel on `listener` until `shutdown` is cancelled, then lets every connection
/// flush its queue and close (bounded by `shutdown_grace_ms`).
///
/// HTTP routes (including the `/ws` upgrade) are rate limited per peer IP
/// (`http_rate_limit`); refusals are `429` with `retry-after`. A connection that does not send a
/// request's headers within `limits.header_read_timeout_ms` is dropped.
pub async fn serve(listener: TcpListener, kernel: Kernel) -> io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        kernel.services.mcp().serving_at(addr);
    }
    let shutdown = kernel.shutdown.clone();
    let limit = &kernel.config.http_rate_limit;
    let governor = GovernorConfigBuilder::default()
        // The config caps requests_per_second at 10^9; `max(1)` keeps the period non-zero anyway.
        .period(Duration::from_nanos(
            (1_000_000_000 / u64::from(limit.requests_per_second.get())).max(1),
        ))
        .burst_size(limit.burst.get())
        .finish()
        .expect("a non-zero period and burst");
    let limiter = Arc::clone(governor.limiter());
    // Forget the buckets of peers that went quiet, so the table does not grow without bound.
    let sweeper = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => limiter.retain_recent(),
                    _ = shutdown.cancelled() => break,
                }
            }
        }
    });
    let app = kernel.router().layer(GovernorLayer::new(governor));
    let header_read_timeout =
        Duration::from_millis(kernel.config.limits.header_read_timeout_ms.get());
    let connections =
        connections::accept_until_shutdown(listener, app, header_read_timeout, shutdown.clone())
            .await;
    sweeper.abort();
    kernel.tracker.close();
    // HTTP requests and WebSocket connections finish side by side, within one grace period.
    let grace = Duration::from_millis(kernel.config.shutdown_grace_ms);
    let finished = async {
        tokio::join!(connections.wait(), kernel.tracker.wait());
    };
    if tokio::time::timeout(grace, finished).await.is_err() {
        tracing::warn!("some connections did not close within {grace:?}");
    }
    Ok(())
}
