//! `cargo xtask bench`: the bus benchmark, with its table passed through untouched.
//!
//! The kernel's build script embeds `target/dist`; when the desktop was never built, build it first so the
//! benchmark measures the same binary a person runs.

use anyhow::Result;

use crate::proc::{announce, cargo, run};
use crate::{build, tools};

pub fn bench(extra: &[String]) -> Result<()> {
    if !build::dist_dir().join("index.html").is_file() {
        tools::for_build()?;
        build::desktop_release()?;
    }
    announce("running the bus benchmark (kernel/benches/bus.rs)");
    let mut bench = cargo();
    bench.args(["bench", "-p", "aether-kernel", "--bench", "bus"]);
    if !extra.is_empty() {
        bench.arg("--").args(extra);
    }
    run(&mut bench)
}
