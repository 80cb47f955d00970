//! Crossing kernels in a cluster (issue 19's figures), on a real `nats-server` this bench starts,
//! all in one run, each kind of round trip taken in turn at every step:
//!
//! - **Events**: the round trip of an event between two clients on **two kernels** of one
//!   cluster (A on kernel 1 publishes, B on kernel 2 answers with an event A hears), next to the
//!   same two clients on **one kernel**. The cross-kernel event crosses NATS twice (there and
//!   back).
//! - **Spawns**: the `hello` guest's `vm.spawn` (module by sha256) → `vm.exit` through a
//!   **remote runner** (a gateway that runs no WASM, roles `[gateway]`, and a runner process,
//!   `aether --role runner`), next to the same spawn on a **lone kernel** (no cluster). The remote
//!   spawn crosses NATS in five messages: the spawn request to the runners' queue group, the
//!   runner's "taken" reply, then the ack, the stdout and the exit back as letters; on its
//!   critical path that is one way out and one way back.
//! - **Raw NATS**: a round trip between two plain clients on the same `nats-server`.
//! - **Fan-out**: one publisher on kernel 1 and [`FAN_OUT_SUBSCRIBERS`] subscribers on kernel 1
//!   (one kernel) or on kernel 2 (across NATS), deliveries per second of a burst of
//!   [`FAN_OUT_EVENTS`] events, rounds alternated.
//!
//! What crossing adds (cross − alone, p50) is expressed in raw NATS round trips (target: at most
//! one). The two cluster kernels are gateways only, so that the runner process alone takes the
//! spawns; kernel 1 is also the gateway the remote spawns enter.
//!
//! Run with `cargo xtask bench` (which installs Debian's `nats-server`), or
//! `cargo bench -p aether-kernel --bench cluster`.

mod support;

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use support::nats::{NatsClient, NatsServer};
use support::runner::RunnerProcess;
use support::{
    KernelProcess, Row, Socket, connect_nodelay, guest, print_table, read_texts, subscribe,
};
use tokio_tungstenite::tungstenite::Message;

/// Steps, each taking one of every kind of round trip in turn.
const STEPS: u64 = 6_000;
/// The runner process's kernel id.
const RUNNER: &str = "runner-1";
/// Subscribers of the fan-out.
const FAN_OUT_SUBSCRIBERS: usize = 10;
/// Events in one fan-out burst (within the cluster link's queue of 8,192).
const FAN_OUT_EVENTS: usize = 5_000;
/// Fan-out rounds of each kind.
const FAN_OUT_ROUNDS: usize = 3;
/// Queues deep enough that a fan-out burst measures delivery, not the slow-client policy.
const LIMITS: &str = "limits: {outbound_queue_len: 32768, max_connections_per_principal: 10000}\n";

/// The kernels under measure, and the NATS server they share.
struct Setup {
    nats: SocketAddr,
    /// Kernel 1: a gateway, where the asking client and the remote spawns enter.
    k1: SocketAddr,
    /// Kernel 2: a gateway, where the far answering client is.
    k2: SocketAddr,
    /// A kernel with no cluster, where the local spawns run.
    lone: SocketAddr,
}

/// Every round trip measured, by kind.
#[derive(Default)]
struct Samples {
    event_one_kernel: Vec<Duration>,
    event_two_kernels: Vec<Duration>,
    raw_nats: Vec<Duration>,
    spawn_local: Vec<Duration>,
    spawn_remote: Vec<Duration>,
    /// Deliveries per second, subscribers on the publisher's kernel.
    fan_out_one_kernel: Vec<f64>,
    /// Deliveries per second, subscribers on another kernel.
    fan_out_two_kernels: Vec<f64>,
}

fn main() {
    let nats = match NatsServer::start() {
        Ok(nats) => nats,
        Err(why) => {
            println!("cluster bench: not measured ({why})");
            return;
        }
    };
    let hello = guest::hello_wasm();
    let url = format!("nats://{}", nats.addr);
    let gateway = |id: &str| {
        KernelProcess::start(&format!(
            "{LIMITS}cluster: {{nats_url: \"{url}\", kernel_id: {id}, roles: [gateway]}}\n"
        ))
    };
    let (k1, k2) = (gateway("k1"), gateway("k2"));
    let _runner = RunnerProcess::start(&url, RUNNER);
    let lone = KernelProcess::start(LIMITS);
    let setup = Setup {
        nats: nats.addr,
        k1: k1.addr,
        k2: k2.addr,
        lone: lone.addr,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let samples = runtime.block_on(measure(&setup, &hello));
    print_table(&rows(samples, &nats.version));
}

/// Readies the clients on every kernel, then takes [`STEPS`] steps, each one event
/// round trip on one kernel and across two, one raw NATS round trip, one local and one remote
/// spawn.
async fn measure(setup: &Setup, hello: &[u8]) -> Samples {
    wait_cluster(setup.k1, "joined", |c| c["connected"] == true).await;
    wait_cluster(setup.k2, "joined", |c| c["connected"] == true).await;
    wait_cluster(setup.k1, "heard the runner", |c| {
        c["peers"]
            .as_array()
            .is_some_and(|peers| peers.iter().any(|p| p == RUNNER))
    })
    .await;
    // The answering clients: one on each kernel, each answering only events named for it.
    tokio::spawn(answer(setup.k1, "near"));
    tokio::spawn(answer(setup.k2, "far"));
    let (mut asker, _) = connect_nodelay(setup.k1).await;
    subscribe(&mut asker, "task.done").await;
    let (raw_answerer, mut raw_asker) = raw_pair(setup.nats).await;
    tokio::spawn(raw_answer(raw_answerer));
    let mut local = spawner(setup.lone, hello).await;
    let mut remote = spawner(setup.k1, hello).await;
    let by_hash = guest::module_by_sha256(hello);
    // Let every subscription settle (NATS's included) before measuring.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut s = Samples::default();
    for n in (0..STEPS).map(|step| step * 2) {
        s.event_one_kernel
            .push(event_round_trip(&mut asker, "near", n).await);
        s.event_two_kernels
            .push(event_round_trip(&mut asker, "far", n + 1).await);
        s.raw_nats.push(raw_round_trip(&mut raw_asker, n).await);
        s.spawn_local
            .push(spawn_to_exit(&mut local, &by_hash, n).await);
        s.spawn_remote
            .push(spawn_to_exit(&mut remote, &by_hash, n).await);
    }
    for _ in 0..FAN_OUT_ROUNDS {
        s.fan_out_one_kernel.push(fan_out(setup.k1, setup.k1).await);
        s.fan_out_two_kernels
            .push(fan_out(setup.k1, setup.k2).await);
    }
    s
}

/// Deliveries per second of [`FAN_OUT_EVENTS`] events from one publisher on the kernel at
/// `publisher_at` to [`FAN_OUT_SUBSCRIBERS`] clients of the kernel at `subscribers_at`.
async fn fan_out(publisher_at: SocketAddr, subscribers_at: SocketAddr) -> f64 {
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(FAN_OUT_SUBSCRIBERS);
    let mut readers = Vec::new();
    for _ in 0..FAN_OUT_SUBSCRIBERS {
        let ready = ready_tx.clone();
        readers.push(tokio::spawn(async move {
            let (mut ws, _) = connect_nodelay(subscribers_at).await;
            subscribe(&mut ws, "ai.done").await;
            ready.send(()).await.unwrap();
            read_texts(&mut ws, FAN_OUT_EVENTS).await;
            let _ = ws.close(None).await;
        }));
    }
    for _ in 0..FAN_OUT_SUBSCRIBERS {
        ready_rx.recv().await.unwrap();
    }
    // A subscription made on kernel 2 is known there at once; NATS's own is older.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (mut publisher, _) = connect_nodelay(publisher_at).await;
    let event = r#"{"topic":"ai.done","payload":{"_request_id":"fan","usage":null}}"#;
    let start = Instant::now();
    for _ in 0..FAN_OUT_EVENTS {
        publisher.feed(Message::text(event)).await.unwrap();
    }
    publisher.flush().await.unwrap();
    for reader in readers {
        reader.await.unwrap();
    }
    let rate = (FAN_OUT_SUBSCRIBERS * FAN_OUT_EVENTS) as f64 / start.elapsed().as_secs_f64();
    let _ = publisher.close(None).await;
    rate
}

/// p50 and p99, in microseconds.
#[derive(Clone, Copy)]
struct Figure {
    p50: f64,
    p99: f64,
}

impl Figure {
    fn of(mut samples: Vec<Duration>) -> Figure {
        samples.sort();
        let at = |q: f64| {
            let i = ((samples.len() as f64 * q) as usize).min(samples.len() - 1);
            samples[i].as_secs_f64() * 1e6
        };
        Figure {
            p50: at(0.5),
            p99: at(0.99),
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p50 {:.0} µs, p99 {:.0} µs", self.p50, self.p99)
    }
}

/// The table: each kind's figure, and what crossing kernels adds in raw NATS round trips.
fn rows(s: Samples, nats_version: &str) -> Vec<Row> {
    let one = Figure::of(s.event_one_kernel);
    let two = Figure::of(s.event_two_kernels);
    let raw = Figure::of(s.raw_nats);
    let local = Figure::of(s.spawn_local);
    let remote = Figure::of(s.spawn_remote);
    let median = |mut rates: Vec<f64>| {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    };
    let fan_one = median(s.fan_out_one_kernel);
    let fan_two = median(s.fan_out_two_kernels);
    let row = |measure: &str, figure: String, target: &str| -> Row {
        (measure.to_owned(), figure, target.to_owned())
    };
    let adds = |cross: Figure, alone: Figure| {
        let extra = cross.p50 - alone.p50;
        format!("{:.2} NATS round trips ({extra:.0} µs)", extra / raw.p50)
    };
    vec![
        row(
            "event round trip, two clients on one kernel (k1 → client → k1)",
            one.to_string(),
            "—",
        ),
        row(
            "event round trip, two clients on two kernels of a cluster (k1 → NATS → k2 → client → k2 → NATS → k1)",
            two.to_string(),
            "—",
        ),
        row(
            &format!("raw NATS round trip, two plain clients on the same {nats_version}"),
            raw.to_string(),
            "—",
        ),
        row(
            "what crossing kernels adds to an event (two kernels − one kernel, p50) ÷ a raw NATS round trip (p50)",
            adds(two, one),
            "≤ 1.0",
        ),
        row(
            "hello spawn → vm.exit by sha256, local: a lone kernel (no cluster) runs it",
            local.to_string(),
            "—",
        ),
        row(
            "hello spawn → vm.exit by sha256, remote: a gateway (roles [gateway]) sends it over NATS to a runner process",
            remote.to_string(),
            "—",
        ),
        row(
            "remote spawn ÷ local spawn",
            format!(
                "p50 ×{:.2}, p99 ×{:.2}",
                remote.p50 / local.p50,
                remote.p99 / local.p99
            ),
            "—",
        ),
        row(
            "what the remote runner adds to a spawn (remote − local, p50) ÷ a raw NATS round trip (p50); it crosses NATS in 5 messages (spawn request, taken reply, ack, stdout, exit), one way out and one back on its critical path",
            adds(remote, local),
            "≤ 1.0",
        ),
        row(
            &format!(
                "fan-out, one publisher and {FAN_OUT_SUBSCRIBERS} subscribers on one kernel ({FAN_OUT_EVENTS} events, median of {FAN_OUT_ROUNDS})"
            ),
            format!("{fan_one:.0} deliveries/s"),
            "—",
        ),
        row(
            &format!(
                "fan-out, the {FAN_OUT_SUBSCRIBERS} subscribers on another kernel of the cluster (each event crosses NATS once)"
            ),
            format!(
                "{fan_two:.0} deliveries/s (×{:.2} of one kernel)",
                fan_two / fan_one
            ),
            "—",
        ),
    ]
}

/// Waits until the cluster report in `kernel.stats` of the kernel at `addr` satisfies `ready`.
async fn wait_cluster(addr: SocketAddr, what: &str, ready: impl Fn(&Value) -> bool) {
    let (mut ws, _) = connect_nodelay(addr).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let report = cluster_report(&mut ws).await;
        if ready(&report) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the kernel at {addr} never {what}: {report}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `cluster` part of a `kernel.stats` answer.
async fn cluster_report(ws: &mut Socket) -> Value {
    let ask = r#"{"topic":"kernel.stats","payload":{"_request_id":"s"}}"#;
    ws.send(Message::text(ask)).await.unwrap();
    loop {
        let frame = ws.next().await.unwrap().unwrap();
        let env: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
        if env["topic"] == "kernel.stats:resp" {
            return env["payload"]["cluster"].clone();
        }
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

/// A client of the kernel at `addr` that has sent the hello guest's bytes once (so the kernel
/// that runs its spawns, the runner for a gateway, knows them by hash and has them compiled)
/// and has run it by hash a few times.
async fn spawner(addr: SocketAddr, hello: &[u8]) -> Socket {
    // Request ids past the measured ones'.
    let first = STEPS * 2;
    let (mut ws, _) = connect_nodelay(addr).await;
    spawn_to_exit(&mut ws, &guest::module_by_base64(hello), first).await;
    let by_hash = guest::module_by_sha256(hello);
    for n in 1..20 {
        spawn_to_exit(&mut ws, &by_hash, first + n).await;
    }
    ws
}

/// Spawns `module` (a spawn's `module` as JSON) and waits for its `vm.exit`.
async fn spawn_to_exit(ws: &mut Socket, module: &str, n: u64) -> Duration {
    let spawn =
        format!(r#"{{"topic":"vm.spawn","payload":{{"_request_id":"b-{n}","module":{module}}}}}"#);
    let start = Instant::now();
    ws.send(Message::text(spawn)).await.unwrap();
    loop {
        let frame = ws.next().await.unwrap().unwrap();
        let text = frame.to_text().unwrap();
        if text.contains("\"vm.exit\"") {
            return start.elapsed();
        }
        assert!(
            !text.contains("\"vm.error\""),
            "the hello guest failed: {text}"
        );
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
