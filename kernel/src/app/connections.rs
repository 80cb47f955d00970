//! The HTTP/1 server under the router: accepts TCP connections and serves each on its own task,
//! with `TCP_NODELAY`, the peer's address for [`ConnectInfo`], WebSocket upgrades, and a
//! header-read timeout (`limits.header_read_timeout_ms`) so that sockets which never finish (or
//! never start) a request are dropped instead of piling up. `axum::serve` has no such timeout.
//!
//! On shutdown it stops accepting and asks every connection to finish its request and close;
//! it never reads bodies or upgraded sockets itself (the router and the hub own those).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

/// Pause after an accept error that is not one peer's fault (out of file descriptors, most
/// often), so the loop does not spin while sockets are freed.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` until `shutdown` is cancelled. Returns once accepting has stopped;
/// the connections still finishing are in the returned tracker (closed, ready to wait on).
pub async fn accept_until_shutdown(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
) -> TaskTracker {
    let connections = TaskTracker::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.cancelled() => break,
        };
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) if is_peer_error(&e) => continue,
            Err(e) => {
                tracing::warn!("cannot accept a connection ({e}); retrying shortly");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        connections.spawn(serve_connection(
            tcp,
            peer,
            app.clone(),
            http.clone(),
            shutdown.clone(),
        ));
    }
    connections.close();
    connections
}

/// Serves one connection until it ends, or until shutdown lets its request finish.
async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    http: http1::Builder,
    shutdown: CancellationToken,
) {
    // Small messages must leave at once: without TCP_NODELAY a reply written right after
    // another waits for the peer's delayed ACK (~40 ms).
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!("could not set TCP_NODELAY: {e}");
    }
    let service = app.map_request(move |mut request: axum::http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let service = TowerToHyperService::new(service);
    let connection = http
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let ended = tokio::select! {
        ended = connection.as_mut() => ended,
        _ = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = ended {
        // Header-read timeouts, resets and malformed requests end here; none is the kernel's.
        tracing::trace!(%peer, "connection ended: {e}");
    }
}

/// Accept errors that concern one peer only (it gave up before we took it).
fn is_peer_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
