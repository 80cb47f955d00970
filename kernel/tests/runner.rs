//! The WASM runner against a real kernel and real wasmtime, over a real WebSocket, with real
//! WASI guests built from `guests/`: output streams while programs run, stdin, kill, every limit,
//! isolation between clients, and bad modules.

mod support;

use std::num::NonZeroU32;

use aether_kernel::Config;
use aether_shared::Envelope;
use serde_json::{Value, json};
use support::{Client, base64, guest, payload, spawn, start};

/// Everything one program sent, in order, up to its `vm.exit` or `vm.error`.
struct Run {
    pid: u64,
    stdout: String,
    stderr: String,
    stdout_chunks: usize,
    end: Envelope,
}

async fn finish(client: &mut Client, pid: u64) -> Run {
    let mut run = Run {
        pid,
        stdout: String::new(),
        stderr: String::new(),
        stdout_chunks: 0,
        end: client.hello.clone(),
    };
    let mut next_seq = 0;
    loop {
        let env = client.recv().await;
        let body = payload(&env);
        if body["pid"].as_u64() != Some(pid) && body["details"]["pid"].as_u64() != Some(pid) {
            continue;
        }
        match env.topic.as_str() {
            "vm.stdout" | "vm.stderr" => {
                assert_eq!(body["seq"], next_seq, "chunks arrive in order without gaps");
                next_seq += 1;
                let data = body["data"].as_str().unwrap();
                if env.topic.as_str() == "vm.stdout" {
                    run.stdout.push_str(data);
                    run.stdout_chunks += 1;
                } else {
                    run.stderr.push_str(data);
                }
            }
            "vm.exit" | "vm.error" => {
                run.end = env;
                return run;
            }
            other => panic!("unexpected {other}"),
        }
    }
}

async fn run(client: &mut Client, body: Value) -> Run {
    let pid = spawn(client, body).await;
    finish(client, pid).await
}

fn wasm(name: &str) -> Value {
    json!({"base64": base64(&guest(name))})
}

fn assert_exit(run: &Run, code: i64) {
    assert_eq!(
        run.end.topic.as_str(),
        "vm.exit",
        "{:?} {}",
        payload(&run.end),
        run.stderr
    );
    assert_eq!(payload(&run.end)["code"], code);
}

fn assert_error(run: &Run, code: &str, limit: Option<&str>) {
    let body = payload(&run.end);
    assert_eq!(run.end.topic.as_str(), "vm.error", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["details"]["pid"], run.pid);
    if let Some(limit) = limit {
        assert_eq!(body["details"]["limit"], limit, "{body}");
    }
}

#[tokio::test]
async fn hello_prints_and_exits_zero_with_stats() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let run = run(
        &mut client,
        json!({"backend": "wasm", "module": wasm("hello")}),
    )
    .await;
    assert_exit(&run, 0);
    assert_eq!(run.stdout, "Hello from WebAssembly!\n");
    let stats = &payload(&run.end)["stats"];
    assert!(stats["fuel_used"].as_u64().unwrap() > 0);
    assert!(stats["peak_memory_bytes"].as_u64().unwrap() > 0);
    assert_eq!(stats["output_bytes"], 24);
    assert_eq!(run.end.to.as_deref(), Some(client.id.as_str()));
}

#[tokio::test]
async fn a_wat_module_runs_and_the_legacy_alias_answers_on_vm() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "hi from wat\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 12))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
    let id = client
        .request("wasm.run", json!({"module": {"wat": wat}}))
        .await;
    let ack = client.recv().await;
    assert_eq!(ack.topic.as_str(), "vm.spawn:ack");
    assert_eq!(ack.request_id(), Some(id.as_str()));
    let run = finish(&mut client, payload(&ack)["pid"].as_u64().unwrap()).await;
    assert_exit(&run, 0);
    assert_eq!(run.stdout, "hi from wat\n");
}

#[tokio::test]
async fn output_arrives_in_chunks_while_the_program_runs() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let run = run(&mut client, json!({"module": wasm("slow")})).await;
    assert_exit(&run, 0);
    assert_eq!(run.stdout, "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n");
    assert!(
        run.stdout_chunks >= 3,
        "only {} chunk(s): output was not streamed",
        run.stdout_chunks
    );
}

#[tokio::test]
async fn stdin_is_fed_while_the_program_runs() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let pid = spawn(&mut client, json!({"module": wasm("echo")})).await;
    client
        .request("vm.stdin", json!({"pid": pid, "data": "first\n"}))
        .await;
    client
        .request(
            "vm.stdin",
            json!({"pid": pid, "data": "second\n", "eof": true}),
        )
        .await;
    let run = finish(&mut client, pid).await;
    assert_exit(&run, 0);
    assert_eq!(run.stdout, "first\nsecond\n");
    assert_eq!(run.stderr, "echo: 2 line(s)\n");

    let given = self::run(
        &mut client,
        json!({"module": wasm("echo"), "stdin": "only\n"}),
    )
    .await;
    assert_eq!(given.stdout, "only\n");
}

#[tokio::test]
async fn args_and_env_reach_the_program() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let run = run(
        &mut client,
        json!({"module": wasm("args"), "args": ["a b", "c"], "env": {"GREETING": "hi"}}),
    )
    .await;
    assert_exit(&run, 2);
    assert!(
        run.stdout.contains("arg[1]=a b\narg[2]=c\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("env GREETING=hi\n"), "{}", run.stdout);
    assert_eq!(
        run.stdout.matches("env ").count(),
        1,
        "no host environment leaks in"
    );
}

#[tokio::test]
async fn a_killed_program_ends_with_cancelled() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let pid = spawn(&mut client, json!({"module": wasm("spin")})).await;
    let id = client.request("vm.kill", json!({"pid": pid})).await;
    let mut saw_ack = false;
    let run = loop {
        let env = client.recv().await;
        if env.request_id() == Some(id.as_str()) {
            assert_eq!(env.topic.as_str(), "vm.kill:ack");
            saw_ack = true;
        } else if env.topic.as_str() == "vm.error" {
            break Run {
                pid,
                stdout: String::new(),
                stderr: String::new(),
                stdout_chunks: 0,
                end: env,
            };
        }
    };
    assert!(saw_ack);
    assert_error(&run, "cancelled", None);
}

#[tokio::test]
async fn every_limit_breach_has_its_code_and_the_runner_stays_healthy() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let cases = [
        (
            "spin",
            json!({"wall_timeout_ms": 300}),
            "timeout",
            "wall_timeout_ms",
        ),
        (
            "echo",
            json!({"idle_timeout_ms": 300}),
            "timeout",
            "idle_timeout_ms",
        ),
        (
            "spin",
            json!({"max_fuel": 10_000_000}),
            "resource_exceeded",
            "max_fuel",
        ),
        (
            "membomb",
            json!({"max_memory_bytes": 64 * 1024 * 1024}),
            "resource_exceeded",
            "max_memory_bytes",
        ),
        (
            "flood",
            json!({"max_output_bytes": 100_000}),
            "resource_exceeded",
            "max_output_bytes",
        ),
    ];
    for (program, limits, code, limit) in cases {
        let run = run(
            &mut client,
            json!({"module": wasm(program), "limits": limits}),
        )
        .await;
        assert_error(&run, code, Some(limit));
        if limit == "max_output_bytes" {
            assert!(run.stdout.len() <= 100_000, "output past the cap was sent");
        }
        // The next program still runs.
        assert_exit(
            &self::run(&mut client, json!({"module": wasm("hello")})).await,
            0,
        );
    }
}

#[tokio::test]
async fn a_request_cannot_loosen_a_configured_limit() {
    let mut config = Config::default();
    config.compute.wall_timeout_ms = std::num::NonZeroU64::new(300).unwrap();
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let run = run(
        &mut client,
        json!({"module": wasm("spin"), "limits": {"wall_timeout_ms": 3_600_000}}),
    )
    .await;
    assert_error(&run, "timeout", Some("wall_timeout_ms"));
    assert_eq!(payload(&run.end)["details"]["value"], 300);
}

#[tokio::test]
async fn another_client_can_neither_see_nor_kill_your_program() {
    let kernel = start(Config::default()).await;
    let mut owner = Client::connect(kernel.addr).await;
    let mut other = Client::connect(kernel.addr).await;
    let pid = spawn(&mut owner, json!({"module": wasm("spin")})).await;
    other.request("vm.list", json!({})).await;
    assert_eq!(payload(&other.recv().await)["programs"], json!([]));
    other.request("vm.kill", json!({"pid": pid})).await;
    assert_eq!(payload(&other.recv().await)["code"], "not_found");
    owner.request("vm.list", json!({})).await;
    let list = payload(&owner.recv().await);
    assert_eq!(list["programs"][0]["pid"], pid);
    owner.request("vm.kill", json!({"pid": pid})).await;
    let run = finish(&mut owner, pid).await;
    assert_error(&run, "cancelled", None);
}

#[tokio::test]
async fn concurrent_programs_past_the_cap_are_refused() {
    let mut config = Config::default();
    config.compute.max_concurrent_per_client = NonZeroU32::new(1).unwrap();
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let pid = spawn(&mut client, json!({"module": wasm("spin")})).await;
    client
        .request("vm.spawn", json!({"module": wasm("hello")}))
        .await;
    let refused = client.recv().await;
    assert_eq!(refused.topic.as_str(), "vm.error");
    assert_eq!(
        payload(&refused)["details"]["limit"],
        "max_concurrent_per_client"
    );
    client.request("vm.kill", json!({"pid": pid})).await;
    finish(&mut client, pid).await;
}

#[tokio::test]
async fn bad_modules_get_bad_request_with_the_compilers_message() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let garbage = run(
        &mut client,
        json!({"module": {"base64": base64(b"\0asm garbage!")}}),
    )
    .await;
    assert_error(&garbage, "bad_request", None);
    let bad_wat = run(
        &mut client,
        json!({"module": {"wat": "(module\n  (func (export \"_start\") (i32.add)))"}}),
    )
    .await;
    assert_error(&bad_wat, "bad_request", None);
    let message = payload(&bad_wat.end)["error"].as_str().unwrap().to_owned();
    assert!(
        message.contains("type mismatch") || message.contains("i32.add"),
        "{message}"
    );
    let no_start = run(&mut client, json!({"module": {"wat": "(module)"}})).await;
    assert_error(&no_start, "bad_request", None);
    assert!(
        payload(&no_start.end)["error"]
            .as_str()
            .unwrap()
            .contains("_start")
    );
    let text = run(&mut client, json!({"module": {"wat": "(module (func"}})).await;
    assert_error(&text, "bad_request", None);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_module_sent_once_runs_again_by_its_sha256_alone() {
    let hello = guest("hello");
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let first = run(&mut client, json!({"module": wasm("hello")})).await;
    assert_exit(&first, 0);
    let sha256 = sha256_hex(&hello);
    assert_eq!(payload(&first.end)["stats"]["module_sha256"], sha256);
    let again = run(&mut client, json!({"module": {"sha256": sha256}})).await;
    assert_exit(&again, 0);
    assert_eq!(again.stdout, "Hello from WebAssembly!\n");
    // Either case of hex; and a WAT module is known by the sha256 of the wasm it compiles to.
    let upper = run(
        &mut client,
        json!({"module": {"sha256": sha256.to_uppercase()}}),
    )
    .await;
    assert_exit(&upper, 0);
    let wat = r#"(module (memory (export "memory") 1) (func (export "_start")))"#;
    let from_wat = run(&mut client, json!({"module": {"wat": wat}})).await;
    assert_exit(&from_wat, 0);
    let wat_sha = sha256_hex(&wat::parse_str(wat).unwrap());
    assert_eq!(payload(&from_wat.end)["stats"]["module_sha256"], wat_sha);
    assert_exit(
        &run(&mut client, json!({"module": {"sha256": wat_sha}})).await,
        0,
    );
}

#[tokio::test]
async fn a_sha256_runs_only_what_the_same_principal_sent_and_a_bad_one_is_refused() {
    let sha256 = sha256_hex(&guest("hello"));
    let config = Config {
        client_token: Some("let-me-in-0123456789".into()),
        admin_token: Some("root-token-0123456789".into()),
        ..Config::default()
    };
    let kernel = start(config).await;
    let as_token = |token: &str| support::Dial {
        bearer: Some(token.into()),
        ..support::Dial::default()
    };
    let mut holder = Client::connect_as(kernel.addr, &as_token("let-me-in-0123456789")).await;
    let mut admin = Client::connect_as(kernel.addr, &as_token("root-token-0123456789")).await;
    let never_sent = run(&mut holder, json!({"module": {"sha256": sha256}})).await;
    assert_error(&never_sent, "not_found", None);
    let message = payload(&never_sent.end)["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains(&sha256) && message.contains("base64"),
        "{message}"
    );
    assert_exit(&run(&mut holder, json!({"module": wasm("hello")})).await, 0);
    assert_exit(
        &run(&mut holder, json!({"module": {"sha256": sha256}})).await,
        0,
    );
    // Another principal knows the hash but never sent the bytes: nothing is lent.
    let other = run(&mut admin, json!({"module": {"sha256": sha256}})).await;
    assert_error(&other, "not_found", None);
    for bad in ["", "abc", &"z".repeat(64), &"0".repeat(65)] {
        let refused = run(&mut holder, json!({"module": {"sha256": bad}})).await;
        assert_error(&refused, "bad_request", None);
    }
    // The runner is still there for everyone.
    assert_exit(&run(&mut admin, json!({"module": wasm("hello")})).await, 0);
}

#[tokio::test]
async fn a_module_is_read_from_the_requesters_vfs_session() {
    let kernel = start(Config::default()).await;
    let mut tab = Client::connect(kernel.addr).await;
    tab.request("vfs:register", json!({"sessionId": "s-runner"}))
        .await;
    assert_eq!(tab.recv().await.topic.as_str(), "vfs:register:ack");
    let id = tab
        .request("vm.spawn", json!({"module": {"path": "/bin/hello.wasm"}}))
        .await;
    let ack = tab.recv().await;
    assert_eq!(ack.request_id(), Some(id.as_str()));
    let pid = payload(&ack)["pid"].as_u64().unwrap();
    // The kernel asks this tab's session for the file…
    let read = tab.recv().await;
    assert_eq!(read.topic.as_str(), "vfs:read");
    assert_eq!(read.from.as_deref(), Some("kernel"));
    assert_eq!(payload(&read)["path"], "/bin/hello.wasm");
    let hello = guest("hello");
    let reply = read.reply(
        read.topic.resp(),
        &json!({"content": base64(&hello), "encoding": "base64", "size": hello.len(), "mtime": 0}),
    );
    tab.send(serde_json::to_value(reply.to("kernel")).unwrap())
        .await;
    // …and runs it.
    let run = finish(&mut tab, pid).await;
    assert_exit(&run, 0);
    assert_eq!(run.stdout, "Hello from WebAssembly!\n");
}

#[tokio::test]
async fn a_module_larger_than_a_chunk_is_read_in_chunks_and_a_change_between_them_is_refused() {
    let kernel = start(Config::default()).await;
    let mut tab = Client::connect(kernel.addr).await;
    tab.request("vfs:register", json!({"sessionId": "s-chunks"}))
        .await;
    assert_eq!(tab.recv().await.topic.as_str(), "vfs:register:ack");
    let hello = guest("hello");
    let half = hello.len() / 2;
    let pid = spawn_from(&mut tab, "/bin/hello.wasm").await;
    // The kernel asks for chunks; this tab answers at most half the file at a time.
    let first = tab.recv().await;
    assert_eq!(payload(&first)["offset"], 0);
    assert!(payload(&first)["length"].as_u64().unwrap() > 0);
    answer_chunk(&mut tab, &first, &hello[..half], 0, hello.len(), 5, false).await;
    let second = tab.recv().await;
    assert_eq!(second.topic.as_str(), "vfs:read");
    assert_eq!(payload(&second)["offset"], half);
    answer_chunk(
        &mut tab,
        &second,
        &hello[half..],
        half,
        hello.len(),
        5,
        true,
    )
    .await;
    let run = finish(&mut tab, pid).await;
    assert_exit(&run, 0);
    assert_eq!(run.stdout, "Hello from WebAssembly!\n");

    // A file whose mtime moves between chunks is refused with `conflict`, not half-loaded.
    let pid = spawn_from(&mut tab, "/bin/hello.wasm").await;
    let first = tab.recv().await;
    answer_chunk(&mut tab, &first, &hello[..half], 0, hello.len(), 5, false).await;
    let second = tab.recv().await;
    answer_chunk(
        &mut tab,
        &second,
        &hello[half..],
        half,
        hello.len(),
        6,
        true,
    )
    .await;
    let run = finish(&mut tab, pid).await;
    assert_error(&run, "conflict", None);
}

/// Spawns `path` from the tab's own session; returns the pid.
async fn spawn_from(tab: &mut Client, path: &str) -> u64 {
    tab.request("vm.spawn", json!({"module": {"path": path}}))
        .await;
    let ack = tab.recv().await;
    assert_eq!(ack.topic.as_str(), "vm.spawn:ack");
    payload(&ack)["pid"].as_u64().unwrap()
}

/// Answers a relayed `vfs:read` with one chunk.
async fn answer_chunk(
    tab: &mut Client,
    read: &Envelope,
    bytes: &[u8],
    offset: usize,
    size: usize,
    mtime: u64,
    eof: bool,
) {
    let reply = read.reply(
        read.topic.resp(),
        &json!({"content": base64(bytes), "encoding": "base64", "size": size, "mtime": mtime, "offset": offset, "eof": eof}),
    );
    tab.send(serde_json::to_value(reply.to("kernel")).unwrap())
        .await;
}
