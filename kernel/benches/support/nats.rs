//! The peer the bus is compared with: Debian's `nats-server` in its own process on a free
//! loopback port, and a plain NATS client written against the text protocol (CONNECT, SUB, PUB,
//! MSG, PING/PONG) over one TCP stream with Nagle off — as plain as the WebSocket client the
//! benchmarks use on the kernel's side (one stream, no task of its own, no reconnects, no
//! headers), so the two round trips differ by their servers, not by their clients.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// `nats-server` on a free loopback port; killed when dropped.
pub struct NatsServer {
    child: Child,
    pub addr: SocketAddr,
    /// What `nats-server --version` said (`nats-server: v2.9.10`).
    pub version: String,
}

impl NatsServer {
    /// Starts `nats-server` from `PATH` (or `/usr/sbin`, where Debian puts it), or says why not.
    pub fn start() -> Result<NatsServer, String> {
        let bin = binary().ok_or(
            "nats-server is not installed (cargo xtask bench installs it: apt-get install nats-server)",
        )?;
        let version = Command::new(&bin)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(&bin)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let server = NatsServer {
            child,
            addr,
            version,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            if Instant::now() > deadline {
                return Err("nats-server did not start listening within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }
}

impl NatsServer {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `nats-server` program: on `PATH`, else Debian's `/usr/sbin/nats-server`.
fn binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("nats-server"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let debian = PathBuf::from("/usr/sbin/nats-server");
        debian.is_file().then_some(debian)
    })
}

/// One message a [`NatsClient`] received.
pub struct Msg {
    pub subject: String,
    pub reply: Option<String>,
    pub payload: Vec<u8>,
}

/// A plain NATS client: one TCP stream, the text protocol, nothing in the background.
pub struct NatsClient {
    reader: BufReader<OwnedReadHalf>,
    writer: BufWriter<OwnedWriteHalf>,
    line: String,
    next_sid: u64,
}

impl NatsClient {
    /// Connects, reads the server's `INFO`, sends `CONNECT` (no verbose `+OK`s, no echo of its
    /// own messages) and waits for the `PONG` that proves the server took it.
    pub async fn connect(addr: SocketAddr) -> NatsClient {
        let stream = TcpStream::connect(addr)
            .await
            .expect("connect to nats-server");
        stream.set_nodelay(true).unwrap();
        let (read, write) = stream.into_split();
        let mut client = NatsClient {
            reader: BufReader::with_capacity(64 * 1024, read),
            writer: BufWriter::with_capacity(64 * 1024, write),
            line: String::new(),
            next_sid: 1,
        };
        client.read_line().await;
        assert!(client.line.starts_with("INFO "), "not a NATS server");
        client
            .writer
            .write_all(
                br#"CONNECT {"verbose":false,"pedantic":false,"echo":false,"lang":"rust","version":"bench","protocol":1}"#,
            )
            .await
            .unwrap();
        client.writer.write_all(b"\r\n").await.unwrap();
        client.sync().await;
        client
    }

    /// Subscribes to `subject` (the server has it once this returns).
    pub async fn subscribe(&mut self, subject: &str) {
        let sid = self.next_sid;
        self.next_sid += 1;
        self.writer
            .write_all(format!("SUB {subject} {sid}\r\n").as_bytes())
            .await
            .unwrap();
        self.sync().await;
    }

    /// Sends `PING` and reads up to its `PONG`: everything sent before is processed.
    pub async fn sync(&mut self) {
        self.writer.write_all(b"PING\r\n").await.unwrap();
        self.writer.flush().await.unwrap();
        loop {
            self.read_line().await;
            match self.line.as_str() {
                "PONG" => return,
                "PING" => self.pong().await,
                line if line.starts_with("-ERR") => panic!("nats-server said {line}"),
                _ => {}
            }
        }
    }

    /// Buffers a `PUB` of `payload` on `subject` (with a reply subject when given); see
    /// [`NatsClient::flush`].
    pub async fn feed(&mut self, subject: &str, reply: Option<&str>, payload: &[u8]) {
        let head = match reply {
            Some(reply) => format!("PUB {subject} {reply} {}\r\n", payload.len()),
            None => format!("PUB {subject} {}\r\n", payload.len()),
        };
        self.writer.write_all(head.as_bytes()).await.unwrap();
        self.writer.write_all(payload).await.unwrap();
        self.writer.write_all(b"\r\n").await.unwrap();
    }

    /// Writes what was fed.
    pub async fn flush(&mut self) {
        self.writer.flush().await.unwrap();
    }

    /// Publishes one message now.
    pub async fn publish(&mut self, subject: &str, reply: Option<&str>, payload: &[u8]) {
        self.feed(subject, reply, payload).await;
        self.flush().await;
    }

    /// The next message (answering the server's `PING`s on the way).
    pub async fn next(&mut self) -> Msg {
        loop {
            self.read_line().await;
            if self.line == "PING" {
                self.pong().await;
                continue;
            }
            let Some(rest) = self.line.strip_prefix("MSG ") else {
                assert!(
                    !self.line.starts_with("-ERR"),
                    "nats-server said {}",
                    self.line
                );
                continue;
            };
            // MSG <subject> <sid> [reply-to] <#bytes>
            let words: Vec<&str> = rest.split(' ').collect();
            let (subject, reply, len) = match words.as_slice() {
                [subject, _sid, len] => (*subject, None, len),
                [subject, _sid, reply, len] => (*subject, Some(*reply), len),
                _ => panic!("a MSG line the client does not know: {}", self.line),
            };
            let len: usize = len.parse().expect("MSG length");
            let subject = subject.to_owned();
            let reply = reply.map(str::to_owned);
            let mut payload = vec![0; len + 2];
            self.reader.read_exact(&mut payload).await.unwrap();
            payload.truncate(len);
            return Msg {
                subject,
                reply,
                payload,
            };
        }
    }

    async fn pong(&mut self) {
        self.writer.write_all(b"PONG\r\n").await.unwrap();
        self.writer.flush().await.unwrap();
    }

    /// One protocol line into `self.line`, without its `\r\n`.
    async fn read_line(&mut self) {
        self.line.clear();
        let n = self.reader.read_line(&mut self.line).await.unwrap();
        assert!(n > 0, "nats-server closed the connection");
        let end = self.line.trim_end_matches(['\r', '\n']).len();
        self.line.truncate(end);
    }
}
