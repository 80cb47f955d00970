//! A runner kernel in its own process (`aether --role runner`), on a cluster's NATS: killed
//! when dropped, or on purpose (as a crash would) to see what its gateways do. The benches use
//! it too (`kernel/benches/support`), where `AETHER_BENCH_KERNEL` may name another build.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct RunnerProcess {
    child: Child,
    dir: PathBuf,
}

impl RunnerProcess {
    /// Starts runner `kernel_id` on the NATS at `nats_url`. It is up once a gateway hears it
    /// beat (`cluster.peers` in `kernel.stats`).
    pub fn start(nats_url: &str, kernel_id: &str) -> RunnerProcess {
        let dir = std::env::temp_dir().join(format!(
            "aether-runner-{kernel_id}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("aether.yaml");
        std::fs::write(
            &config,
            format!("cluster:\n  nats_url: {nats_url}\n  kernel_id: {kernel_id}\n"),
        )
        .unwrap();
        let binary = std::env::var_os("AETHER_BENCH_KERNEL")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_aether")));
        let child = Command::new(binary)
            .arg("--config")
            .arg(&config)
            .args(["--role", "runner", "--data-dir"])
            .arg(dir.join("data"))
            .env("AETHER_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("the kernel binary starts");
        RunnerProcess { child, dir }
    }

    /// Kills it at once (SIGKILL: no goodbye to anyone).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
