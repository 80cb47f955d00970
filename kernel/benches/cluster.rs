//! Events across a cluster (issue 19's figures): the round trip of an event between two clients
//! on **two kernels** of one cluster (A on kernel 1 publishes, B on kernel 2 answers with an event
//! A hears), next to the same two clients on **one kernel**, next to a **raw NATS** round trip
//! between two plain clients on the same `nats-server`, all in one run, rounds alternated. The
//! cross-kernel event crosses NATS twice (there and back), so what crossing adds is compared
//! with one NATS round trip (target: at most one).
//!
//! Run with `cargo xtask bench` (which installs Debian's `nats-server`), or
//! `cargo bench -p aether-kernel --bench cluster`.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use support::nats::{NatsClient, NatsServer};
use support::{KernelProcess, Row, Socket, connect_nodelay, print_table, subscribe};
use tokio_tungstenite::tungstenite::Message;

/// Round trips per round, and rounds.
const RUNS: u64 = 2_000;
const ROUNDS: u64 = 3;

fn main() {
    let nats = match NatsServer::start() {
        Ok(nats) => nats,
        Err(why) => {
            println!("cluster bench: not measured ({why})");
            return;
        }
    };
    let url = format!("nats://{}", nats.addr);
    let kernel = |id: &str| {
        KernelProcess::start(&format!(
            "cluster: {{nats_url: \"{url}\", kernel_id: {id}}}\n"
        ))
    };
    let (k1, k2) = (kernel("k1"), kernel("k2"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (single, cross, raw) = runtime.block_on(async {
        wait_joined(k1.addr).await;
        wait_joined(k2.addr).await;
        // The answering clients: one on each kernel, each answering only events named for it.
        tokio::spawn(answer(k1.addr, "near"));
        tokio::spawn(answer(k2.addr, "far"));
        let (mut asker, _) = connect_nodelay(k1.addr).await;
        subscribe(&mut asker, "task.done").await;
        let (raw_answerer, mut raw_asker) = raw_pair(nats.addr).await;
        tokio::spawn(raw_answer(raw_answerer));
        // Let every subscription settle (NATS's included) before measuring.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (mut single, mut cross, mut raw) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            for i in 0..RUNS {
                let n = round * RUNS * 2 + i;
                single.push(event_round_trip(&mut asker, "near", n).await);
                cross.push(event_round_trip(&mut asker, "far", n + RUNS).await);
                raw.push(raw_round_trip(&mut raw_asker, n).await);
            }
        }
        (single, cross, raw)
    });
    let (s50, s99) = percentiles(single);
    let (c50, c99) = percentiles(cross);
    let (n50, n99) = percentiles(raw);
    let row = |measure: &str, figure: String, target: &str| -> Row {
        (measure.to_owned(), figure, target.to_owned())
    };
    let p = |p50: f64, p99: f64| format!("p50 {p50:.0} µs, p99 {p99:.0} µs");
    print_table(&[
        row(
            "event round trip, two clients on one kernel (k1 → client → k1)",
            p(s50, s99),
            "—",
        ),
        row(
            "event round trip, two clients on two kernels of a cluster (k1 → NATS → k2 → client → k2 → NATS → k1)",
            p(c50, c99),
            "—",
        ),
        row(
            &format!(
                "raw NATS round trip, two plain clients on the same {}",
                nats.version
            ),
            p(n50, n99),
            "—",
        ),
        row(
            "what crossing kernels adds (cross − one kernel, p50) ÷ a raw NATS round trip (p50)",
            format!(
                "{:.2} NATS round trips ({:.0} µs)",
                (c50 - s50) / n50,
                c50 - s50
            ),
            "≤ 1.0",
        ),
    ]);
}

/// p50 and p99 in microseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.5).as_secs_f64() * 1e6, at(0.99).as_secs_f64() * 1e6)
}

/// Waits until the kernel at `addr` reports its cluster link up.
async fn wait_joined(addr: SocketAddr) {
    let (mut ws, _) = connect_nodelay(addr).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ask = r#"{"topic":"kernel.stats","payload":{"_request_id":"s"}}"#;
        ws.send(Message::text(ask)).await.unwrap();
        let report = loop {
            let frame = ws.next().await.unwrap().unwrap();
            let env: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
            if env["topic"] == "kernel.stats:resp" {
                break env["payload"]["cluster"].clone();
            }
        };
        if report["connected"] == true {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the kernel never joined: {report}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A client on the kernel at `addr` that answers each `task.event` named for `me` with a
/// `task.done` carrying the same `n`.
async fn answer(addr: SocketAddr, me: &'static str) {
    let (mut ws, _) = connect_nodelay(addr).await;
    subscribe(&mut ws, "task.event").await;
    let tag = format!(r#""who":"{me}""#);
    while let Some(Ok(frame)) = ws.next().await {
        let Ok(text) = frame.to_text() else { continue };
        if !text.contains(&tag) {
            continue;
        }
        let env: Value = serde_json::from_str(text).unwrap();
        let n = env["payload"]["n"].as_u64().unwrap();
        let done = format!(r#"{{"topic":"task.done","payload":{{"n":{n}}}}}"#);
        if ws.send(Message::text(done)).await.is_err() {
            return;
        }
    }
}

/// One event to `who` and its answer back.
async fn event_round_trip(ws: &mut Socket, who: &str, n: u64) -> Duration {
    let ask = format!(r#"{{"topic":"task.event","payload":{{"who":"{who}","n":{n}}}}}"#);
    let want = format!(r#""n":{n}}}"#);
    let start = Instant::now();
    ws.send(Message::text(ask)).await.unwrap();
    loop {
        let frame = ws.next().await.unwrap().unwrap();
        let text = frame.to_text().unwrap();
        if text.contains("\"task.done\"") && text.contains(&want) {
            return start.elapsed();
        }
    }
}

async fn raw_pair(addr: SocketAddr) -> (NatsClient, NatsClient) {
    let mut answerer = NatsClient::connect(addr).await;
    answerer.subscribe("bench.ask").await;
    let mut asker = NatsClient::connect(addr).await;
    asker.subscribe("bench.done").await;
    (answerer, asker)
}

async fn raw_answer(mut client: NatsClient) {
    loop {
        let msg = client.next().await;
        client.publish("bench.done", None, &msg.payload).await;
    }
}

async fn raw_round_trip(client: &mut NatsClient, n: u64) -> Duration {
    let payload = format!(r#"{{"n":{n}}}"#);
    let start = Instant::now();
    client.publish("bench.ask", None, payload.as_bytes()).await;
    loop {
        if client.next().await.payload == payload.as_bytes() {
            return start.elapsed();
        }
    }
}
