//! A runner kernel in its own process (`aether --role runner`) on a cluster's NATS: it serves no
//! HTTP, only the cluster's WASM spawns. It is up once a gateway hears it beat (`cluster.peers`
//! in `kernel.stats`). Killed, and its files removed, when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct RunnerProcess {
    child: Child,
    dir: PathBuf,
}

impl RunnerProcess {
    /// Starts runner `kernel_id` on the NATS at `nats_url` (`nats://host:port`), with its config
    /// and data in a temporary folder. `AETHER_BENCH_KERNEL` names another build to run, as for
    /// [`super::KernelProcess`].
    pub fn start(nats_url: &str, kernel_id: &str) -> RunnerProcess {
        let dir = std::env::temp_dir().join(format!(
            "aether-bench-runner-{kernel_id}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("aether.yaml");
        std::fs::write(
            &config,
            format!("cluster: {{nats_url: \"{nats_url}\", kernel_id: {kernel_id}}}\n"),
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
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the kernel binary as a runner");
        RunnerProcess { child, dir }
    }

    /// The runner's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
