//! `cargo bench -p aether-kernel --bench wisp`: the guest network relay (`/wisp`, see
//! `kernel/src/net/`) end to end, printed as a Markdown table. Nothing here asserts on time.
//!
//! - download: 10 MB from a loopback HTTP/1.0 server of the bench, fetched by a Wisp client
//!   (`support::wisp`, as v86's adapter: one stream, the request as one DATA packet within the
//!   granted budget) over a WebSocket to the real `aether` binary, from CONNECT to the stream's
//!   CLOSE; MB/s (10⁶ bytes a second) median, min and max over the runs, each on a fresh `/wisp`
//!   connection (a fresh machine), and the kernel's CPU time per download (steadier than MB/s on
//!   a busy machine: client, kernel and server share its cores). Beside it the same download
//!   straight over loopback TCP;
//! - stream open: CONNECT to the first byte of a destination that writes as soon as it accepts,
//!   on one machine, stream after stream; beside it a plain TCP connect to the first byte.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aether_kernel::net::wisp::Packet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod support;

use support::wisp::{GREETING, WispClient, download_server, greeting_server, http_get};
use support::{KernelProcess, Row, cpu_ns_of, print_table};

/// Bytes of the download's body.
const DOWNLOAD_BYTES: usize = 10 * 1000 * 1000;
/// Downloads per path, after one to warm up.
const DOWNLOAD_RUNS: usize = 9;
/// Stream opens per path, after a few to warm up.
const OPENS: usize = 300;
const OPENS_WARM_UP: usize = 20;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (download, greeter) = runtime.block_on(async {
        (
            download_server(DOWNLOAD_BYTES).await,
            greeting_server().await,
        )
    });
    // Room for every run's bytes on one machine, were they on one.
    let config = format!(
        "compute:\n  v86:\n    egress:\n      allow: [\"{download}\", \"{greeter}\"]\n      quota_bytes: 1000000000\n"
    );
    let kernel = KernelProcess::start(&config);
    let rows = runtime.block_on(async {
        let mut rows = Vec::new();
        let cpu_before = cpu_ns_of(kernel.pid());
        let relayed = rates(|| relay_download(kernel.addr, download)).await;
        // Every download of `rates`, the warm-up's too.
        let cpu_ms =
            (cpu_ns_of(kernel.pid()) - cpu_before) as f64 / 1e6 / (DOWNLOAD_RUNS + 1) as f64;
        let direct = rates(|| tcp_download(download)).await;
        rows.push(rate_row("relay (/wisp), 10 MB download, MB/s", &relayed));
        rows.push(rate_row("loopback TCP, same download, MB/s", &direct));
        rows.push((
            "kernel CPU time per 10 MB relayed, ms (mean of the downloads)".into(),
            format!("{cpu_ms:.1}"),
            "—".into(),
        ));
        rows.push((
            "relay ÷ loopback TCP (medians)".into(),
            format!("{:.2}", median(&relayed) / median(&direct)),
            "—".into(),
        ));
        let relayed = relay_opens(kernel.addr, greeter).await;
        let direct = tcp_opens(greeter).await;
        rows.push(latency_row(
            "relay stream open, CONNECT → first byte, µs",
            relayed,
        ));
        rows.push(latency_row("loopback TCP connect → first byte, µs", direct));
        rows
    });
    drop(kernel);
    print_table(&rows);
}

/// MB/s of each of `DOWNLOAD_RUNS` downloads, after one to warm up.
async fn rates<F, Fut>(mut download: F) -> Vec<f64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    download().await;
    let mut rates = Vec::with_capacity(DOWNLOAD_RUNS);
    for _ in 0..DOWNLOAD_RUNS {
        let took = download().await;
        rates.push(DOWNLOAD_BYTES as f64 / took.as_secs_f64() / 1e6);
    }
    rates
}

/// One download through the relay on a fresh machine: CONNECT to CLOSE.
async fn relay_download(kernel: SocketAddr, server: SocketAddr) -> Duration {
    let mut wisp = WispClient::connect(kernel, None).await;
    let start = Instant::now();
    wisp.open(1, "127.0.0.1", server.port()).await;
    wisp.data(1, &http_get(server)).await;
    let mut bytes = 0;
    loop {
        match wisp.recv().await {
            Packet::Data { stream: 1, payload } => bytes += payload.len(),
            Packet::Close { stream: 1, reason } => {
                assert_eq!(reason, 0x02, "the download ended early");
                break;
            }
            other => panic!("unexpected packet {other:?}"),
        }
    }
    let took = start.elapsed();
    assert!(bytes > DOWNLOAD_BYTES, "the whole response came");
    took
}

/// The same download straight over loopback TCP: connect to end of stream.
async fn tcp_download(server: SocketAddr) -> Duration {
    let start = Instant::now();
    let mut tcp = TcpStream::connect(server).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    tcp.write_all(&http_get(server)).await.unwrap();
    let mut buf = vec![0; 64 * 1024];
    let mut bytes = 0;
    loop {
        let n = tcp.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        bytes += n;
    }
    let took = start.elapsed();
    assert!(bytes > DOWNLOAD_BYTES, "the whole response came");
    took
}

/// CONNECT → first DATA byte for `OPENS` streams opened one after another on one machine (each
/// read to its CLOSE before the next opens).
async fn relay_opens(kernel: SocketAddr, greeter: SocketAddr) -> Vec<Duration> {
    let mut wisp = WispClient::connect(kernel, None).await;
    let mut times = Vec::with_capacity(OPENS);
    for n in 0..(OPENS_WARM_UP + OPENS) as u32 {
        let stream = n + 1;
        let start = Instant::now();
        wisp.open(stream, "127.0.0.1", greeter.port()).await;
        let first = match wisp.recv().await {
            Packet::Data { stream: s, payload } if s == stream => {
                let took = start.elapsed();
                assert_eq!(&payload[..], GREETING);
                took
            }
            other => panic!("expected the greeting, got {other:?}"),
        };
        match wisp.recv().await {
            Packet::Close { stream: s, .. } if s == stream => {}
            other => panic!("expected stream {stream} to close, got {other:?}"),
        }
        if n as usize >= OPENS_WARM_UP {
            times.push(first);
        }
    }
    times
}

/// TCP connect → first byte to the same greeter, `OPENS` times.
async fn tcp_opens(greeter: SocketAddr) -> Vec<Duration> {
    let mut times = Vec::with_capacity(OPENS);
    for n in 0..OPENS_WARM_UP + OPENS {
        let start = Instant::now();
        let mut tcp = TcpStream::connect(greeter).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let mut first = [0; 1];
        tcp.read_exact(&mut first).await.unwrap();
        let took = start.elapsed();
        if n >= OPENS_WARM_UP {
            times.push(took);
        }
    }
    times
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn rate_row(measure: &str, rates: &[f64]) -> Row {
    let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let max = rates.iter().copied().fold(0.0, f64::max);
    (
        format!("{measure} (median of {}; min – max)", rates.len()),
        format!("{:.0} ({min:.0} – {max:.0})", median(rates)),
        "—".into(),
    )
}

fn latency_row(measure: &str, mut times: Vec<Duration>) -> Row {
    times.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    (
        format!("{measure} (p50, p99 of {})", times.len()),
        format!("{:.0}, {:.0}", us(p(0.5)), us(p(0.99))),
        "—".into(),
    )
}
