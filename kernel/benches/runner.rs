//! `cargo xtask bench` (or `cargo bench -p aether-kernel --bench runner`): figures for the WASM
//! runner against the real `aether` binary over loopback, printed as a Markdown table.
//!
//! - `vm.spawn` → `vm.spawn:ack`, p50/p99;
//! - hello spawn → `vm.exit`, p50/p99, warm (cached module) and cold (a new module each time);
//! - hello runs per second with both cores busy (one client per core, back to back);
//! - `vm.kill` → `vm.error` of a guest asleep in `poll_oneoff` (a host call), p50/p99;
//! - the warm hello over the bus against its peer, wasmtime-py running the same module bytes
//!   in-process (`xtask/bench/wasmtime_py_hello.py`: a new store, WASI with stdout captured,
//!   instantiation through a linker, `_start`), measured in alternating rounds of this run and
//!   printed as a ratio of p50s. The interpreter comes from `AETHER_BENCH_PYTHON` (set by
//!   `cargo xtask bench`, which installs wasmtime-py from PyPI), else `target/bench-venv`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

mod support;

use support::guest::target_dir;
use support::{KernelProcess, Socket, connect, guest, print_table};

/// Warm spawns (and peer runs) per round, and rounds, of the comparison with wasmtime-py.
const PEER_RUNS: u64 = 1_000;
const PEER_ROUNDS: u64 = 3;

fn main() {
    let hello = guest::hello_wasm();
    let hello_file = export(&hello);
    let peer = Peer::find();
    let kernel = KernelProcess::start("");
    // One thread: the measuring client adds no hop between threads of its own (the peer runs
    // in-process and has none either); the kernel is another process.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (rows, comparison) = runtime.block_on(async {
        let mut ws = connect(kernel.addr).await;
        let by_text = module_by_text(&hello);
        let by_hash = format!(r#"{{"sha256":"{}"}}"#, sha256_hex(&hello));
        // Warm the cache once (and send the bytes, which lets this client name them by hash).
        spawn_to_exit(&mut ws, &by_text, 0).await;
        let mut ack = Vec::new();
        let mut warm = Vec::new();
        let mut warm_hash = Vec::new();
        let mut pings = Vec::new();
        let mut peer_p50s = Vec::new();
        let mut peer_p99s = Vec::new();
        for round in 0..PEER_ROUNDS {
            for i in 0..PEER_RUNS {
                let (a, e) = spawn_to_exit(&mut ws, &by_text, round * PEER_RUNS + i).await;
                ack.push(a);
                warm.push(e);
            }
            for i in 0..PEER_RUNS {
                let n = (PEER_ROUNDS + round) * PEER_RUNS + i;
                warm_hash.push(spawn_to_exit(&mut ws, &by_hash, n).await.1);
                pings.push(ping(&mut ws, n).await);
            }
            if let Some(peer) = &peer {
                let (p50, p99) = peer.measure(&hello_file, &hello);
                peer_p50s.push(p50);
                peer_p99s.push(p99);
            }
        }
        let mut cold = Vec::new();
        for i in 0..20 {
            let unique = module_by_text(&with_custom_section(&hello, i));
            cold.push(spawn_to_exit(&mut ws, &unique, i).await.1);
        }
        let throughput = runs_per_second(kernel.addr, &by_hash, 2, Duration::from_secs(3)).await;
        let mut kills = Vec::new();
        for i in 0..30 {
            kills.push(kill_sleeper(&mut ws, i).await);
        }
        let comparison = [
            compare(
                "module as base64",
                &mut warm.clone(),
                &peer_p50s,
                &peer_p99s,
                peer.is_some(),
            ),
            compare(
                "module by sha256",
                &mut warm_hash.clone(),
                &peer_p50s,
                &peer_p99s,
                peer.is_some(),
            ),
        ]
        .join("\n");
        let rows = vec![
            row("vm.spawn → vm.spawn:ack", &mut ack, "p50 ≤ 100 µs"),
            row(
                "hello spawn → vm.exit, warm cache, module as base64 (86 KB)",
                &mut warm,
                "—",
            ),
            row(
                "hello spawn → vm.exit, warm cache, module by sha256",
                &mut warm_hash,
                "p50 ≤ 100 µs",
            ),
            row(
                "kernel.ping round trip on the same socket (the floor under a spawn)",
                &mut pings,
                "—",
            ),
            row("hello spawn → vm.exit, cold (compile)", &mut cold, "—"),
            (
                "hello runs per second by sha256, 2 clients back to back".to_string(),
                format!("{throughput:.0} runs/s"),
                "—".to_string(),
            ),
            row(
                "vm.kill → vm.error, guest asleep in poll_oneoff",
                &mut kills,
                "≤ 100 ms",
            ),
        ];
        (rows, comparison)
    });
    print_table(&rows);
    println!();
    println!("{comparison}");
}

/// The comparison line: the warm hello over the bus, wasmtime-py in-process, the ratio of p50s.
/// The peer's figures are the medians of its rounds' p50s and p99s.
fn compare(
    how: &str,
    bus: &mut [Duration],
    peer_p50s: &[f64],
    peer_p99s: &[f64],
    found: bool,
) -> String {
    bus.sort();
    let p = |q: f64| bus[((bus.len() as f64 * q) as usize).min(bus.len() - 1)].as_secs_f64() * 1e6;
    let (x, y) = (p(0.5), p(0.99));
    let over_bus = format!("hello spawn → exit over the bus, {how}: p50 {x:.0} µs, p99 {y:.0} µs");
    if !found {
        return format!(
            "{over_bus}; wasmtime-py in-process: not measured (no interpreter with wasmtime-py: run `cargo xtask bench`, or set {PYTHON_ENV})"
        );
    }
    let (a, b) = (median(peer_p50s), median(peer_p99s));
    format!(
        "{over_bus}; wasmtime-py in-process: p50 {a:.0} µs, p99 {b:.0} µs; ratio {:.2} (target ≤ 1.0)",
        x / a
    )
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// The variable naming the interpreter that has wasmtime-py.
const PYTHON_ENV: &str = "AETHER_BENCH_PYTHON";

/// wasmtime-py running the hello module in-process, through `xtask/bench/wasmtime_py_hello.py`.
struct Peer {
    python: PathBuf,
    script: PathBuf,
}

impl Peer {
    /// The interpreter from [`PYTHON_ENV`], else the one `cargo xtask bench` installs.
    fn find() -> Option<Peer> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = std::env::var_os(PYTHON_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir().join("bench-venv/bin/python"));
        python.is_file().then(|| Peer {
            python,
            script: root.join("xtask/bench/wasmtime_py_hello.py"),
        })
    }

    /// One round of [`PEER_RUNS`] runs of the module in `file`: (p50, p99) in µs. The script
    /// reports the SHA-256 of the bytes it ran, which must be `wasm`'s.
    fn measure(&self, file: &Path, wasm: &[u8]) -> (f64, f64) {
        let out = Command::new(&self.python)
            .arg(&self.script)
            .arg(file)
            .arg(PEER_RUNS.to_string())
            .output()
            .expect("run the wasmtime-py peer");
        assert!(
            out.status.success(),
            "the wasmtime-py peer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let figures: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            figures["module_sha256"].as_str(),
            Some(sha256_hex(wasm).as_str()),
            "the peer ran other bytes than the bus did"
        );
        (
            figures["p50_us"].as_f64().unwrap(),
            figures["p99_us"].as_f64().unwrap(),
        )
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes the module the benchmark spawns to `target/bench/hello.wasm`, for the peer to run.
fn export(wasm: &[u8]) -> PathBuf {
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hello.wasm");
    std::fs::write(&file, wasm).unwrap();
    file
}

fn row(measure: &str, samples: &mut [Duration], target: &str) -> (String, String, String) {
    samples.sort();
    let p = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (
        measure.to_string(),
        format!(
            "p50 {:.0} µs, p99 {:.0} µs",
            p(0.5).as_secs_f64() * 1e6,
            p(0.99).as_secs_f64() * 1e6
        ),
        target.to_string(),
    )
}

/// A spawn's `module` carrying the whole of `wasm` as base64.
fn module_by_text(wasm: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(wasm);
    format!(r#"{{"base64":"{b64}"}}"#)
}

/// Spawns `module` (a spawn's `module` as JSON) and waits for its exit; returns (time to ack,
/// time to exit).
async fn spawn_to_exit(ws: &mut Socket, module: &str, i: u64) -> (Duration, Duration) {
    let msg =
        format!(r#"{{"topic":"vm.spawn","payload":{{"_request_id":"b-{i}","module":{module}}}}}"#);
    let start = Instant::now();
    ws.send(Message::text(msg)).await.unwrap();
    let mut ack = None;
    loop {
        let frame = ws.next().await.unwrap().unwrap();
        let text = frame.to_text().unwrap();
        if text.contains("\"vm.spawn:ack\"") {
            ack = Some(start.elapsed());
        } else if text.contains("\"vm.exit\"") {
            return (ack.expect("ack before exit"), start.elapsed());
        } else if text.contains("\"vm.error\"") {
            panic!("the bench program failed: {text}");
        }
    }
}

/// One `kernel.ping` round trip.
async fn ping(ws: &mut Socket, i: u64) -> Duration {
    let msg = format!(r#"{{"topic":"kernel.ping","payload":{{"_request_id":"p-{i}"}}}}"#);
    let start = Instant::now();
    ws.send(Message::text(msg)).await.unwrap();
    loop {
        let frame = ws.next().await.unwrap().unwrap();
        if frame.to_text().unwrap().contains("\"kernel.ping:resp\"") {
            return start.elapsed();
        }
    }
}

/// A WASI command asleep for 60 s in one `poll_oneoff` (a monotonic clock subscription).
const SLEEPER: &str = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 60000000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#;

/// Spawns the sleeper, lets it fall asleep, kills it; returns the time from kill to its end.
async fn kill_sleeper(ws: &mut Socket, i: u64) -> Duration {
    let wat = serde_json::to_string(SLEEPER).unwrap();
    let msg = format!(
        r#"{{"topic":"vm.spawn","payload":{{"_request_id":"k-{i}","module":{{"wat":{wat}}}}}}}"#
    );
    ws.send(Message::text(msg)).await.unwrap();
    let pid = loop {
        let frame = ws.next().await.unwrap().unwrap();
        let text = frame.to_text().unwrap();
        if text.contains("\"vm.spawn:ack\"") {
            let ack: serde_json::Value = serde_json::from_str(text).unwrap();
            break ack["payload"]["pid"].as_u64().unwrap();
        }
        assert!(!text.contains("\"vm.error\""), "the sleeper failed: {text}");
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let kill =
        format!(r#"{{"topic":"vm.kill","payload":{{"_request_id":"kill-{i}","pid":{pid}}}}}"#);
    let start = Instant::now();
    ws.send(Message::text(kill)).await.unwrap();
    loop {
        let frame = ws.next().await.unwrap().unwrap();
        let text = frame.to_text().unwrap();
        if text.contains("\"vm.error\"") {
            return start.elapsed();
        }
        assert!(
            !text.contains("\"vm.exit\""),
            "the sleeper was not killed: {text}"
        );
    }
}

async fn runs_per_second(
    addr: SocketAddr,
    module: &str,
    clients: usize,
    for_how_long: Duration,
) -> f64 {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let module = module.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut ws = connect(addr).await;
            let mut n = 0u64;
            while start.elapsed() < for_how_long {
                spawn_to_exit(&mut ws, &module, c as u64 * 1_000_000 + n).await;
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// The module with a custom section appended: same program, new hash, so it is compiled anew.
fn with_custom_section(wasm: &[u8], n: u64) -> Vec<u8> {
    let name = b"aether-bench";
    let payload = n.to_le_bytes();
    let size = 1 + name.len() + payload.len();
    let mut out = wasm.to_vec();
    out.push(0); // custom section id
    out.push(size as u8); // size < 128: one LEB128 byte
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(&payload);
    out
}
