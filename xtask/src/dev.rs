//! `cargo xtask dev`: `trunk serve` on 8081 (rebuilds and reloads the desktop on save) beside a debug kernel
//! on 8080 that carries the bus.
//!
//! The desktop is built with `AETHER_WS_URL` pointing at the kernel, so Trunk proxies nothing. When either
//! process exits the other is stopped; Ctrl-C reaches both (same process group).

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ExitStatus};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::proc::{self, announce, cargo, run, spawn};
use crate::{build, tools};

/// The kernel's address in development.
const KERNEL: &str = "127.0.0.1:8080";
/// The port `trunk serve` listens on.
const TRUNK_PORT: &str = "8081";
/// How long the debug kernel may take to accept connections.
const KERNEL_START_TIMEOUT: Duration = Duration::from_secs(30);

pub fn dev(kernel_args: &[String]) -> Result<()> {
    tools::for_build()?;
    announce("building the kernel (debug)");
    run(cargo().args(["build", "-p", "aether-kernel"]))?;
    let kernel_bin = proc::target_dir()
        .join("debug")
        .join(format!("aether{}", std::env::consts::EXE_SUFFIX));

    // The page comes from Trunk's port, so the kernel must accept WebSocket upgrades from that origin.
    let origins = dev_origins(std::env::var("AETHER_ALLOWED_ORIGINS").ok().as_deref());
    announce(&format!(
        "starting the kernel on {KERNEL}, accepting pages from {origins}"
    ));
    let mut kernel = spawn(
        proc::cmd(&kernel_bin)
            .args(["--listen", KERNEL])
            .args(kernel_args)
            .env("AETHER_ALLOWED_ORIGINS", &origins),
    )?;
    if let Err(e) = wait_for_port(KERNEL, &mut kernel) {
        let _ = kernel.kill();
        return Err(e);
    }

    announce(&format!(
        "serving the desktop with trunk on http://127.0.0.1:{TRUNK_PORT} (reloads on save)"
    ));
    let ws_url = format!("ws://{KERNEL}/ws");
    let trunk = spawn(
        build::trunk()
            .args(["serve", "--address", "127.0.0.1", "--port", TRUNK_PORT])
            .env("AETHER_WS_URL", &ws_url),
    );
    let mut trunk = match trunk {
        Ok(child) => child,
        Err(e) => {
            let _ = kernel.kill();
            return Err(e);
        }
    };
    println!("Aether (dev) is running at http://127.0.0.1:{TRUNK_PORT}, bus at {ws_url}");

    let (name, status) = wait_for_first_exit(&mut kernel, &mut trunk)?;
    let _ = kernel.kill();
    let _ = trunk.kill();
    let _ = kernel.wait();
    let _ = trunk.wait();
    if !status.success() {
        bail!("{name} exited with {status}");
    }
    Ok(())
}

/// Trunk's origins, after any the user already allows.
fn dev_origins(existing: Option<&str>) -> String {
    let trunk = format!("http://127.0.0.1:{TRUNK_PORT},http://localhost:{TRUNK_PORT}");
    match existing.map(str::trim) {
        Some(list) if !list.is_empty() => format!("{list},{trunk}"),
        _ => trunk,
    }
}

/// Waits until `addr` accepts TCP connections, failing if `child` exits first.
fn wait_for_port(addr: &str, child: &mut Child) -> Result<()> {
    let addr: SocketAddr = addr.parse()?;
    let started = Instant::now();
    while started.elapsed() < KERNEL_START_TIMEOUT {
        if let Some(status) = child.try_wait()? {
            bail!("the kernel exited with {status} before listening on {addr}");
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        sleep(Duration::from_millis(100));
    }
    bail!("the kernel did not listen on {addr} within {KERNEL_START_TIMEOUT:?}")
}

fn wait_for_first_exit(
    kernel: &mut Child,
    trunk: &mut Child,
) -> Result<(&'static str, ExitStatus)> {
    loop {
        if let Some(status) = kernel.try_wait()? {
            return Ok(("the kernel", status));
        }
        if let Some(status) = trunk.try_wait()? {
            return Ok(("trunk serve", status));
        }
        sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_origins_are_added_to_the_users_own() {
        assert_eq!(
            dev_origins(None),
            "http://127.0.0.1:8081,http://localhost:8081"
        );
        assert_eq!(
            dev_origins(Some("https://a.example")),
            "https://a.example,http://127.0.0.1:8081,http://localhost:8081"
        );
    }
}
