//! The kernel's HTTP application: shared state, the router, and [`serve`] with graceful
//! shutdown. Routes: `/ws` (the hub), `/healthz`, and everything else from the embedded desktop.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::assets::{self, AssetTable};
use crate::bus::Bus;
use crate::config::Config;
use crate::hub;
use crate::services::Services;

/// State shared by every route and connection. Cheap to clone.
#[derive(Clone)]
pub struct Kernel {
    pub bus: Bus,
    pub services: Arc<Services>,
    pub config: Arc<Config>,
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
        let config = Arc::new(config);
        let bus = Bus::new();
        let services = Arc::new(Services::new(bus.clone(), Arc::clone(&config)));
        Kernel {
            bus,
            services,
            config,
            assets,
            shutdown,
            tracker: TaskTracker::new(),
        }
    }

    /// The router of every HTTP route.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/ws", get(hub::ws_handler))
            .route("/healthz", get(|| async { "ok" }))
            .fallback(get(assets::serve))
            .with_state(self.clone())
    }
}

/// Serves the kernel on `listener` until `shutdown` is cancelled, then lets every connection
/// flush its queue and close (bounded by `shutdown_grace_ms`).
pub async fn serve(listener: TcpListener, kernel: Kernel) -> io::Result<()> {
    let shutdown = kernel.shutdown.clone();
    axum::serve(listener, kernel.router())
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    kernel.tracker.close();
    let grace = Duration::from_millis(kernel.config.shutdown_grace_ms);
    if tokio::time::timeout(grace, kernel.tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close within {grace:?}");
    }
    Ok(())
}
