//! `cargo xtask bench` (or `cargo bench -p aether-kernel --bench agent`): figures for the agent,
//! printed as a Markdown table. Nothing here asserts on time.
//!
//! A kernel in this process on loopback, an instant scripted OpenAI-compatible provider and a
//! fake tab serving files from memory over a real WebSocket (the integration tests' helpers):
//!
//! - kernel time per tool call: from the call taken out of the model's answer to its result
//!   ready for the model, minus the tool's own work (here `read_file`: the relay to the tab and
//!   back), as the kernel audits it (`kernel_us`, `tool_us` of each `agent tool call` event,
//!   read by a tracing layer); p50 and p99 over 1,000 calls;
//! - a 20-turn scripted run end to end: `ai.agent.start` sent → `ai.agent.done` read, 19 turns
//!   of one `read_file` each and a last answer; median of 5.

#[path = "../tests/support/provider.rs"]
mod provider;
#[path = "../tests/support/mod.rs"]
mod support;
#[path = "../tests/support/tab.rs"]
mod tab;

use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aether_kernel::Config;
use aether_kernel::config::{BaseUrl, ToolAction, ToolPattern, ToolRule};
use provider::{FakeProvider, Turn};
use serde_json::json;
use tab::Tab;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};

const CALLS: usize = 1_000;
const CALLS_PER_TURN: usize = 50;
const RUNS: usize = 5;

/// `(kernel_us, tool_us)` of every audited tool call.
type Timings = Arc<Mutex<Vec<(u64, u64)>>>;

fn main() {
    let timings: Timings = Arc::default();
    let layer = CallTimings(Arc::clone(&timings));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .expect("the bench's subscriber");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let end_to_end = runtime.block_on(async {
        let provider = FakeProvider::start().await;
        provider.instant();
        let kernel = support::start(config(&provider)).await;
        let mut tab = Tab::open(kernel.addr, "s-bench").await;
        tab.put("/hello.wat", "(module)\n".repeat(20));
        let read = || json!({"path": "/hello.wat"});
        // Per call: long turns of reads.
        for _ in 0..CALLS / CALLS_PER_TURN {
            let calls = (0..CALLS_PER_TURN)
                .map(|_| ("read_file".to_owned(), read()))
                .collect();
            provider.script([Turn {
                calls,
                ..Turn::say("")
            }]);
            provider.script([Turn::say("done")]);
            run(&mut tab).await;
        }
        // End to end: 20 turns.
        let mut times = Vec::new();
        for _ in 0..RUNS {
            provider.script((0..19).map(|_| Turn::call("read_file", read())));
            provider.script([Turn::say("done")]);
            let start = Instant::now();
            run(&mut tab).await;
            times.push(start.elapsed());
        }
        times.sort();
        times[RUNS / 2]
    });
    let mut calls = timings.lock().unwrap().clone();
    calls.truncate(CALLS);
    let kernel = percentiles(calls.iter().map(|c| c.0).collect());
    let tool = percentiles(calls.iter().map(|c| c.1).collect());
    println!();
    println!("| measure | figure | target |");
    println!("|---|---|---|");
    println!(
        "| agent: kernel time per tool call, minus the tool's own work ({} `read_file` calls, instant scripted provider) | p50 {} µs, p99 {} µs | ≤ 50 µs p50 |",
        calls.len(),
        kernel.0,
        kernel.1
    );
    println!(
        "| agent: the tool's own work (`read_file` relayed to the tab and back), for scale | p50 {} µs, p99 {} µs | — |",
        tool.0, tool.1
    );
    println!(
        "| agent: a 20-turn scripted run end to end (start → done, median of {RUNS}) | {:.1} ms | — |",
        end_to_end.as_secs_f64() * 1e3
    );
}

fn config(provider: &FakeProvider) -> Config {
    let mut config = Config::default();
    config.ai.provider.base_url = Some(BaseUrl::parse(&provider.base_url()).unwrap());
    config.ai.provider.model = Some("scripted".into());
    config.ai.agent.policy = vec![ToolRule {
        tool: ToolPattern::parse("*").unwrap(),
        action: ToolAction::Allow,
    }];
    config.ai.agent.max_tool_calls = NonZeroU64::new(10_000).unwrap();
    config.ai.agent.max_tokens = NonZeroU64::new(u64::MAX / 2).unwrap();
    config
}

/// Starts a run and reads it to `ai.agent.done`.
async fn run(tab: &mut Tab) {
    let id = tab
        .request("ai.agent.start", json!({"goal": "bench"}))
        .await;
    loop {
        let env = tab.recv().await;
        if env.request_id() != Some(id.as_str()) {
            continue;
        }
        match env.topic.as_str() {
            "ai.agent.done" => return,
            "ai.error" => panic!("the run failed: {:?}", env.payload),
            _ => {}
        }
    }
}

/// p50 and p99.
fn percentiles(mut values: Vec<u64>) -> (u64, u64) {
    if values.is_empty() {
        return (0, 0);
    }
    values.sort_unstable();
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99))
}

/// Keeps `kernel_us` and `tool_us` of every `agent tool call` event.
struct CallTimings(Timings);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CallTimings {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        if fields.message == "agent tool call"
            && let (Some(kernel), Some(tool)) = (fields.kernel_us, fields.tool_us)
        {
            self.0.lock().unwrap().push((kernel, tool));
        }
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    kernel_us: Option<u64>,
    tool_us: Option<u64>,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "kernel_us" => self.kernel_us = Some(value),
            "tool_us" => self.tool_us = Some(value),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}
