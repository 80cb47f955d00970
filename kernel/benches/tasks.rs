//! `cargo xtask bench` (or `cargo bench -p aether-kernel --bench tasks`): figures for the task
//! engine, printed as a Markdown table. Nothing here asserts on time.
//!
//! - engine overhead per node: a 1,000-node chain of `kernel.ping` nodes, run by the real
//!   `aether` binary and watched over a WebSocket (every `task.event` read), minus what one
//!   `kernel.ping` costs the kernel when dispatched in-process;
//! - a 100-wide fan-out (one root, 100 pings after it, one join): time from `task.run` to
//!   `task.done`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aether_kernel::bus::ClientHandle;
use aether_kernel::guard::Principal;
use aether_kernel::{Config, Kernel};
use aether_shared::{Envelope, Topic};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

mod support;

use support::{KernelProcess, Socket, connect};

const CONFIG: &str = "task:\n  max_nodes: 2000\n  max_parallel: 128\n";
const RUNS: usize = 5;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let ping = runtime.block_on(in_process_ping(20_000));
    let kernel = KernelProcess::start(CONFIG);
    let (chain, fan) = runtime.block_on(async {
        let mut ws = connect(kernel.addr).await;
        let chain = median_run(&mut ws, chain_of(1_000)).await;
        let fan = median_run(&mut ws, fan_out(100)).await;
        (chain, fan)
    });
    drop(kernel);

    let per_node = chain.as_secs_f64() * 1e6 / 1_000.0;
    let ping_us = ping.as_secs_f64() * 1e6;
    println!();
    println!("| measure | figure | target |");
    println!("|---|---|---|");
    println!(
        "| task engine, 1,000-node chain of kernel.ping (median of {RUNS}) | {:.1} ms total, {per_node:.1} µs per node | — |",
        ms(chain)
    );
    println!("| kernel.ping dispatched in-process (the node's own work) | {ping_us:.1} µs | — |");
    println!(
        "| engine overhead per node (chain per node − ping) | {:.1} µs | ≤ 50 µs |",
        per_node - ping_us
    );
    println!(
        "| task engine, 100-wide fan-out (102 nodes, median of {RUNS}) | {:.1} ms total | — |",
        ms(fan)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ping_node(id: String, after: Vec<String>) -> Value {
    json!({"id": id, "topic": "kernel.ping", "after": after})
}

fn chain_of(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let after = if i == 0 {
                vec![]
            } else {
                vec![format!("n{}", i - 1)]
            };
            ping_node(format!("n{i}"), after)
        })
        .collect()
}

fn fan_out(width: usize) -> Vec<Value> {
    let mut nodes = vec![ping_node("root".into(), vec![])];
    let middle: Vec<String> = (0..width).map(|i| format!("m{i}")).collect();
    for id in &middle {
        nodes.push(ping_node(id.clone(), vec!["root".into()]));
    }
    nodes.push(ping_node("join".into(), middle));
    nodes
}

async fn request(ws: &mut Socket, topic: &str, payload: Value, answer: &str) -> Value {
    let msg = json!({"topic": topic, "payload": payload}).to_string();
    ws.send(Message::text(msg)).await.unwrap();
    loop {
        let frame = ws.next().await.unwrap().unwrap();
        let env = Envelope::from_json(frame.to_text().unwrap()).unwrap();
        if env.topic.as_str() == answer {
            return Value::Object(env.payload.unwrap_or_default());
        }
        assert!(!env.topic.is_error(), "{topic} refused: {:?}", env.payload);
    }
}

/// Defines the task once, runs it `RUNS` times and returns the median time from `task.run` to
/// `task.done`, every `task.event` read on the way.
async fn median_run(ws: &mut Socket, nodes: Vec<Value>) -> Duration {
    let defined = request(
        ws,
        "task.define",
        json!({"name": "bench", "nodes": nodes}),
        "task.define:ack",
    )
    .await;
    let task_id = defined["task_id"].clone();
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        request(ws, "task.run", json!({"task_id": task_id}), "task.done").await;
        times.push(start.elapsed());
    }
    times.sort();
    times[RUNS / 2]
}

/// What one `kernel.ping` costs the kernel: dispatch, reply, serialization and queueing, with
/// no socket in between.
async fn in_process_ping(n: usize) -> Duration {
    let kernel = Kernel::with_assets(Config::default(), CancellationToken::new(), &[]);
    let (handle, mut rx) = ClientHandle::new("c-bench".into(), Principal::Local, n + 16);
    let client = Arc::new(handle);
    kernel.bus.attach(Arc::clone(&client));
    let topic = Topic::from_static("kernel.ping");
    let start = Instant::now();
    for i in 0..n {
        let mut env =
            Envelope::new(topic.clone()).with_payload(&json!({"_request_id": format!("node-{i}")}));
        env.from = Some(client.id().to_owned());
        kernel.services.dispatch(&client, env);
        rx.recv().await.unwrap();
    }
    start.elapsed() / n as u32
}
