//! `cargo xtask bench` (or `cargo bench -p aether-kernel --bench peers`): the bus against a peer
//! in the same run, Debian's `nats-server`, each figure a ratio of two measurements taken side
//! by side on the same machine. Nothing here asserts on time.
//!
//! - two-client echo: client A sends an addressed request to client B through the server, B
//!   answers A through the server, A times the round trip. On the kernel: a `compute:stdin`
//!   envelope `to` B's client id and B's `compute:stdin:ack` `to` A's (the relay of SPEC §3:
//!   stamped, admitted by the guardrails, held to the access rules, queued); on NATS: a `PUB` on
//!   B's subject with A's inbox as its reply subject, and B's `PUB` to that inbox. The same JSON
//!   body both ways. Rounds alternate (kernel, NATS, kernel, …) and each prints p50, p99 and the
//!   kernel ÷ NATS ratio of that round;
//! - fan-out: one publisher, N subscribers (10 and 100) of one topic (subject), deliveries/s of
//!   each server, alternating rounds.
//!
//! `-- echo` or `-- fan-out` runs one part only (to profile it; `AETHER_BENCH_ECHO_ROUND` sets
//! the round trips of an echo round); other arguments are ignored.
//!
//! The clients are equally plain on both sides: one stream each, written and read directly by
//! the task that times it, Nagle off (`support::connect_nodelay`, `support::nats::NatsClient`).
//! The echo's clients share one thread (a current-thread runtime), so the client side costs the
//! same on every round and the servers get the other core.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

mod support;

use support::nats::{NatsClient, NatsServer};
use support::{KernelProcess, Row, connect_nodelay, print_table, read_texts, subscribe};

/// Round trips per echo round, and echo rounds per server.
const ECHO_ROUND: usize = 5_000;
const ECHO_ROUNDS: usize = 3;
/// Round trips before the first round, to warm both servers and the connections.
const ECHO_WARM_UP: usize = 1_000;
/// Fan-out rounds per server and subscriber count.
const FAN_OUT_ROUNDS: usize = 3;

/// What A sends B (the NATS message body; on the kernel the envelope's payload).
const REQUEST_BODY: &str = r#"{"_request_id":"r-1","pid":1,"data":"hello, echo"}"#;
/// What B answers A.
const ANSWER_BODY: &str = r#"{"_request_id":"r-1","pid":1}"#;
/// One event of the fan-out.
const EVENT_BODY: &str = r#"{"run_id":"r","node":"n1","state":"ok"}"#;

/// Queues deep enough that the fan-out burst measures delivery, not the slow-client policy
/// (NATS's own bound is 64 MB per client), and room for the subscribers' connections.
const CONFIG: &str =
    "limits:\n  outbound_queue_len: 32768\n  max_connections_per_principal: 10000\n";

fn main() {
    let nats = match NatsServer::start() {
        Ok(nats) => nats,
        Err(why) => {
            println!("nats-server unavailable ({why}): the peer comparisons were not measured");
            return;
        }
    };
    let kernel = KernelProcess::start(CONFIG);
    println!(
        "peer: {} on {}; kernel pid {}",
        nats.version,
        nats.addr,
        kernel.pid()
    );
    let on_kernel = Server {
        addr: kernel.addr,
        pid: kernel.pid(),
    };
    let on_nats = Server {
        addr: nats.addr,
        pid: nats.pid(),
    };
    let args: Vec<String> = std::env::args().collect();
    let only = |part: &str| {
        let parts = ["echo", "fan-out"];
        let chosen: Vec<&String> = args
            .iter()
            .filter(|a| parts.contains(&a.as_str()))
            .collect();
        chosen.is_empty() || chosen.iter().any(|a| *a == part)
    };

    let mut rows = Vec::new();
    if only("echo") {
        let echo_runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rows.push(echo_runtime.block_on(echo_rounds(on_kernel, on_nats)));
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let fan_outs: &[(usize, usize)] = if only("fan-out") {
        &[(10, 20_000), (100, 2_000)]
    } else {
        &[]
    };
    for &(subscribers, messages) in fan_outs {
        rows.push(runtime.block_on(fan_out_rounds(on_kernel, on_nats, subscribers, messages)));
    }
    drop(kernel);
    drop(nats);

    print_table(&rows);
}

/// A server under measurement: where it listens, and its process (for its CPU time).
#[derive(Clone, Copy)]
struct Server {
    addr: SocketAddr,
    pid: u32,
}

impl Server {
    /// CPU time the server has used so far, in nanoseconds.
    fn cpu_ns(&self) -> u64 {
        support::cpu_ns_of(self.pid)
    }
}

/// One echo round's percentiles, and the server's CPU time per round trip.
#[derive(Clone, Copy)]
struct Percentiles {
    p50: Duration,
    p99: Duration,
    cpu: Duration,
}

impl Percentiles {
    fn of(mut samples: Vec<Duration>, cpu_ns: u64) -> Percentiles {
        samples.sort();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        Percentiles {
            p50: at(0.50),
            p99: at(0.99),
            cpu: Duration::from_nanos(cpu_ns / samples.len() as u64),
        }
    }
}

async fn echo_rounds(kernel: Server, nats: Server) -> Row {
    let mut on_kernel = KernelEcho::connect(kernel.addr).await;
    let mut on_nats = NatsEcho::connect(nats.addr).await;
    on_kernel.round(ECHO_WARM_UP).await;
    on_nats.round(ECHO_WARM_UP).await;
    let mut kernel_rounds = Vec::new();
    let mut nats_rounds = Vec::new();
    let per_round = std::env::var("AETHER_BENCH_ECHO_ROUND")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(ECHO_ROUND);
    for round in 1..=ECHO_ROUNDS {
        let cpu = kernel.cpu_ns();
        let samples = on_kernel.round(per_round).await;
        let k = Percentiles::of(samples, kernel.cpu_ns() - cpu);
        let cpu = nats.cpu_ns();
        let samples = on_nats.round(per_round).await;
        let n = Percentiles::of(samples, nats.cpu_ns() - cpu);
        println!(
            "echo round {round}: kernel p50 {:.1} µs p99 {:.1} µs (CPU {:.1} µs) | nats-server p50 {:.1} µs p99 {:.1} µs (CPU {:.1} µs) | kernel ÷ nats p50 {:.2} p99 {:.2}",
            micros(k.p50),
            micros(k.p99),
            micros(k.cpu),
            micros(n.p50),
            micros(n.p99),
            micros(n.cpu),
            ratio(k.p50, n.p50),
            ratio(k.p99, n.p99),
        );
        kernel_rounds.push(k);
        nats_rounds.push(n);
    }
    on_kernel.close().await;
    let p50s: Vec<f64> = kernel_rounds
        .iter()
        .zip(&nats_rounds)
        .map(|(k, n)| ratio(k.p50, n.p50))
        .collect();
    let p99s: Vec<f64> = kernel_rounds
        .iter()
        .zip(&nats_rounds)
        .map(|(k, n)| ratio(k.p99, n.p99))
        .collect();
    let us = |rounds: &[Percentiles], f: fn(&Percentiles) -> Duration| {
        range(&rounds.iter().map(|p| micros(f(p))).collect::<Vec<_>>(), 0)
    };
    let cpu = |rounds: &[Percentiles]| {
        range(&rounds.iter().map(|p| micros(p.cpu)).collect::<Vec<_>>(), 1)
    };
    (
        format!(
            "two-client echo (A → B → A, addressed) through the kernel ÷ through nats-server, one run, {ECHO_ROUNDS} alternating rounds of {per_round}"
        ),
        format!(
            "p50 {}, p99 {} (kernel p50 {} µs, p99 {} µs, CPU {} µs per round trip; nats-server p50 {} µs, p99 {} µs, CPU {} µs)",
            range(&p50s, 2),
            range(&p99s, 2),
            us(&kernel_rounds, |p| p.p50),
            us(&kernel_rounds, |p| p.p99),
            cpu(&kernel_rounds),
            us(&nats_rounds, |p| p.p50),
            us(&nats_rounds, |p| p.p99),
            cpu(&nats_rounds),
        ),
        "≤ 1.0 (p50 and p99)".into(),
    )
}

/// A and B on the kernel: A's half is here, B answers from a task on the same thread.
struct KernelEcho {
    a: support::Socket,
    request: String,
    b: tokio::task::JoinHandle<()>,
}

impl KernelEcho {
    async fn connect(addr: SocketAddr) -> KernelEcho {
        let (a, a_id) = connect_nodelay(addr).await;
        let (mut b, b_id) = connect_nodelay(addr).await;
        let request =
            format!(r#"{{"topic":"compute:stdin","to":"{b_id}","payload":{REQUEST_BODY}}}"#);
        let answer =
            format!(r#"{{"topic":"compute:stdin:ack","to":"{a_id}","payload":{ANSWER_BODY}}}"#);
        let from_a = format!(r#""from":"{a_id}""#);
        let b = tokio::spawn(async move {
            let mut checked = false;
            while let Some(Ok(frame)) = b.next().await {
                let Message::Text(text) = frame else { continue };
                if !checked {
                    // The relay is real: B hears A's request, stamped with A's id.
                    assert!(text.contains(&from_a), "B got {text}");
                    checked = true;
                }
                b.send(Message::text(answer.as_str())).await.unwrap();
            }
        });
        KernelEcho { a, request, b }
    }

    async fn round(&mut self, n: usize) -> Vec<Duration> {
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            let start = Instant::now();
            self.a
                .send(Message::text(self.request.as_str()))
                .await
                .unwrap();
            loop {
                let Message::Text(text) = self.a.next().await.unwrap().unwrap() else {
                    continue;
                };
                assert!(text.contains("compute:stdin:ack"), "A got {text}");
                break;
            }
            samples.push(start.elapsed());
        }
        samples
    }

    async fn close(mut self) {
        let _ = self.a.close(None).await;
        self.b.abort();
    }
}

/// A and B on nats-server: B answers every request on its reply subject.
struct NatsEcho {
    a: NatsClient,
    _b: tokio::task::JoinHandle<()>,
}

const B_SUBJECT: &str = "echo.b";
const A_INBOX: &str = "inbox.a";

impl NatsEcho {
    async fn connect(addr: SocketAddr) -> NatsEcho {
        let mut a = NatsClient::connect(addr).await;
        a.subscribe(A_INBOX).await;
        let mut b = NatsClient::connect(addr).await;
        b.subscribe(B_SUBJECT).await;
        let b = tokio::spawn(async move {
            loop {
                let msg = b.next().await;
                let reply = msg.reply.expect("a request carries its reply subject");
                b.publish(&reply, None, ANSWER_BODY.as_bytes()).await;
            }
        });
        NatsEcho { a, _b: b }
    }

    async fn round(&mut self, n: usize) -> Vec<Duration> {
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            let start = Instant::now();
            self.a
                .publish(B_SUBJECT, Some(A_INBOX), REQUEST_BODY.as_bytes())
                .await;
            let msg = self.a.next().await;
            assert_eq!(msg.subject, A_INBOX);
            samples.push(start.elapsed());
        }
        samples
    }
}

/// One fan-out round: deliveries/s, and the server's CPU nanoseconds per delivery.
struct FanOut {
    rate: f64,
    cpu_ns: f64,
}

async fn fan_out_rounds(kernel: Server, nats: Server, subscribers: usize, messages: usize) -> Row {
    let mut on_kernel = Vec::new();
    let mut on_nats = Vec::new();
    let mut kernel_cpu = Vec::new();
    let mut nats_cpu = Vec::new();
    for round in 1..=FAN_OUT_ROUNDS {
        let FanOut {
            rate: k,
            cpu_ns: kc,
        } = kernel_fan_out(kernel, subscribers, messages).await;
        let FanOut {
            rate: n,
            cpu_ns: nc,
        } = nats_fan_out(nats, subscribers, messages).await;
        println!(
            "fan-out to {subscribers}, round {round}: kernel {k:.0} deliveries/s (CPU {kc:.0} ns each) | nats-server {n:.0} deliveries/s (CPU {nc:.0} ns each) | kernel ÷ nats {:.2}",
            k / n
        );
        on_kernel.push(k);
        on_nats.push(n);
        kernel_cpu.push(kc);
        nats_cpu.push(nc);
    }
    let ratios: Vec<f64> = on_kernel.iter().zip(&on_nats).map(|(k, n)| k / n).collect();
    let thousands = |v: &[f64]| range(&v.iter().map(|x| x / 1000.0).collect::<Vec<_>>(), 0);
    (
        format!(
            "fan-out to {subscribers} subscribers ({messages} events, one publisher), kernel vs nats-server, {FAN_OUT_ROUNDS} alternating rounds"
        ),
        format!(
            "kernel {}k deliveries/s, nats-server {}k deliveries/s (kernel ÷ nats {}; server CPU per delivery: kernel {} ns, nats-server {} ns)",
            thousands(&on_kernel),
            thousands(&on_nats),
            range(&ratios, 2),
            range(&kernel_cpu, 0),
            range(&nats_cpu, 0),
        ),
        "reported".into(),
    )
}

/// Deliveries per second from one publisher to `subscribers` WebSocket clients of `task.event`.
async fn kernel_fan_out(server: Server, subscribers: usize, messages: usize) -> FanOut {
    let addr = server.addr;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(subscribers);
    let mut readers = Vec::new();
    for _ in 0..subscribers {
        let ready = ready_tx.clone();
        readers.push(tokio::spawn(async move {
            let (mut ws, _) = connect_nodelay(addr).await;
            subscribe(&mut ws, "task.event").await;
            ready.send(()).await.unwrap();
            read_texts(&mut ws, messages).await;
            let _ = ws.close(None).await;
        }));
    }
    for _ in 0..subscribers {
        ready_rx.recv().await.unwrap();
    }
    let (mut publisher, _) = connect_nodelay(addr).await;
    let event = format!(r#"{{"topic":"task.event","payload":{EVENT_BODY}}}"#);
    let cpu = server.cpu_ns();
    let start = Instant::now();
    for _ in 0..messages {
        publisher.feed(Message::text(event.as_str())).await.unwrap();
    }
    publisher.flush().await.unwrap();
    for r in readers {
        r.await.unwrap();
    }
    let deliveries = (subscribers * messages) as f64;
    let measured = FanOut {
        rate: deliveries / start.elapsed().as_secs_f64(),
        cpu_ns: (server.cpu_ns() - cpu) as f64 / deliveries,
    };
    let _ = publisher.close(None).await;
    measured
}

/// Deliveries per second from one publisher to `subscribers` NATS clients of one subject.
async fn nats_fan_out(server: Server, subscribers: usize, messages: usize) -> FanOut {
    let addr = server.addr;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(subscribers);
    let mut readers = Vec::new();
    for _ in 0..subscribers {
        let ready = ready_tx.clone();
        readers.push(tokio::spawn(async move {
            let mut client = NatsClient::connect(addr).await;
            client.subscribe("task.event").await;
            ready.send(()).await.unwrap();
            for _ in 0..messages {
                client.next().await;
            }
        }));
    }
    for _ in 0..subscribers {
        ready_rx.recv().await.unwrap();
    }
    let mut publisher = NatsClient::connect(addr).await;
    let cpu = server.cpu_ns();
    let start = Instant::now();
    for _ in 0..messages {
        publisher
            .feed("task.event", None, EVENT_BODY.as_bytes())
            .await;
    }
    publisher.flush().await;
    for r in readers {
        r.await.unwrap();
    }
    let deliveries = (subscribers * messages) as f64;
    FanOut {
        rate: deliveries / start.elapsed().as_secs_f64(),
        cpu_ns: (server.cpu_ns() - cpu) as f64 / deliveries,
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// `lo–hi` of `values` with `decimals` places (one value when they agree).
fn range(values: &[f64], decimals: usize) -> String {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = (format!("{lo:.decimals$}"), format!("{hi:.decimals$}"));
    if lo == hi { lo } else { format!("{lo}–{hi}") }
}
