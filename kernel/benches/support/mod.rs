//! Shared by the benchmarks: the real `aether` binary on a free loopback port (its config and
//! data in temporary files), a WebSocket client that presents the kernel's own origin,
//! [`nats`]: the NATS server and client the peers benchmark compares the bus with, [`runner`]: a
//! runner kernel of a cluster in its own process, [`guest`]: the `hello` guest a spawn runs, and
//! [`wisp`]: a Wisp client of `/wisp` and the loopback servers it reaches (the relay benchmark).

#![allow(dead_code)]

pub mod guest;
pub mod nats;
#[path = "../../tests/support/runner.rs"]
pub mod runner;
pub mod wisp;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async, connect_async_with_config,
};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The real kernel binary on a free loopback port.
pub struct KernelProcess {
    child: Child,
    pub addr: SocketAddr,
    files: Vec<PathBuf>,
}

impl KernelProcess {
    /// Starts the kernel with `config_yaml` as its config file.
    pub fn start(config_yaml: &str) -> KernelProcess {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let config = std::env::temp_dir().join(format!("aether-bench-{port}.yaml"));
        let data = std::env::temp_dir().join(format!("aether-bench-{port}-data"));
        std::fs::write(&config, config_yaml).unwrap();
        // `AETHER_BENCH_KERNEL` names another build of the kernel to measure (an A/B of a change).
        let binary = std::env::var_os("AETHER_BENCH_KERNEL")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_aether")));
        let child = Command::new(binary)
            .args(["--listen", &addr.to_string()])
            .arg("--config")
            .arg(&config)
            .env("AETHER_DATA_DIR", &data)
            .env("AETHER_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the kernel binary");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "the kernel did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        KernelProcess {
            child,
            addr,
            files: vec![config, data],
        }
    }

    /// The kernel's resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib_of(self.child.id())
    }

    /// The kernel's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// The resident memory of process `pid`, in KiB (0 once it is gone).
pub fn rss_kib_of(pid: u32) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time process `pid` has used so far, in nanoseconds: the run time of each of its threads
/// (`/proc/<pid>/task/*/schedstat`), so a figure can say what a server spent per message.
pub fn cpu_ns_of(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

impl Drop for KernelProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for path in &self.files {
            let _ = std::fs::remove_file(path).or_else(|_| std::fs::remove_dir_all(path));
        }
    }
}

/// Connects like [`connect`] and returns the client id the hello gave too.
pub async fn connect_with_id(addr: SocketAddr) -> (Socket, String) {
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", format!("http://{addr}").parse().unwrap());
    let (mut ws, _) = connect_async(request).await.unwrap();
    let hello = ws.next().await.unwrap().unwrap();
    let hello: serde_json::Value = serde_json::from_str(hello.to_text().unwrap()).unwrap();
    let id = hello["payload"]["client_id"].as_str().unwrap().to_owned();
    (ws, id)
}

/// Connects like [`connect_with_id`] with Nagle's algorithm off, as browsers and NATS clients
/// connect (the peers benchmark's client).
pub async fn connect_nodelay(addr: SocketAddr) -> (Socket, String) {
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", format!("http://{addr}").parse().unwrap());
    let (mut ws, _) = connect_async_with_config(request, None, true)
        .await
        .unwrap();
    let hello = ws.next().await.unwrap().unwrap();
    let hello: serde_json::Value = serde_json::from_str(hello.to_text().unwrap()).unwrap();
    let id = hello["payload"]["client_id"].as_str().unwrap().to_owned();
    (ws, id)
}

/// Connects to `/ws` with the kernel's own origin and reads the `kernel.hello`.
pub async fn connect(addr: SocketAddr) -> Socket {
    connect_with_id(addr).await.0
}

/// Subscribes `ws` to `pattern` and waits for the ack.
pub async fn subscribe(ws: &mut Socket, pattern: &str) {
    use futures_util::SinkExt as _;
    let sub = format!(
        r#"{{"topic":"bus.subscribe","payload":{{"_request_id":"sub","patterns":["{pattern}"]}}}}"#
    );
    ws.send(tokio_tungstenite::tungstenite::Message::text(sub))
        .await
        .unwrap();
    loop {
        let frame = ws.next().await.unwrap().unwrap();
        if frame.to_text().unwrap().contains("bus.subscribe:ack") {
            return;
        }
    }
}

/// Reads until `messages` text frames have come.
pub async fn read_texts(ws: &mut Socket, messages: usize) {
    let mut n = 0;
    while n < messages {
        if let tokio_tungstenite::tungstenite::Message::Text(_) = ws.next().await.unwrap().unwrap()
        {
            n += 1;
        }
    }
}

/// A row of a benchmark's table: the measure, its figure, its target.
pub type Row = (String, String, String);

/// Prints `rows` as the Markdown table the README's Benchmarks section takes.
pub fn print_table(rows: &[Row]) {
    println!();
    println!("| measure | figure | target |");
    println!("|---|---|---|");
    for (measure, figure, target) in rows {
        println!("| {measure} | {figure} | {target} |");
    }
}
