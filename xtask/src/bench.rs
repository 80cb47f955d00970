//! `cargo xtask bench`: the bus, peers, cluster, runner, task-engine and agent benchmarks, with their tables passed through untouched.
//!
//! The kernel's build script embeds `target/dist`; when the desktop was never built, build it first so the
//! benchmark measures the same binary a person runs. The runner benchmark compares itself with wasmtime-py in
//! the same run: its environment is installed from PyPI first (see `bench_peers`); when that fails, the
//! benchmark says the comparison was not measured. The peers benchmark compares the bus with Debian's
//! `nats-server` (installed with apt-get when missing) and says the same when it cannot start one.

use anyhow::Result;

use crate::proc::{announce, cargo, run};
use crate::steps::Steps;
use crate::{bench_peers, build, tools};

pub fn bench(extra: &[String]) -> Result<()> {
    if !build::dist_dir().join("index.html").is_file() {
        let mut steps = Steps::new("bench");
        steps.run("prerequisites", tools::for_build)?;
        build::desktop_release(&mut steps)?;
    }
    tools::for_bench()?;
    let python = bench_peers::wasmtime_py()
        .inspect_err(|e| println!("    warning: wasmtime-py unavailable ({e:#}); the runner benchmark will not compare with it"))
        .ok();
    for (name, what) in [
        ("bus", "the bus and the hub"),
        ("peers", "the bus against nats-server"),
        ("cluster", "events across two kernels on nats-server"),
        ("runner", "the WASM runner"),
        ("tasks", "the task engine"),
        ("agent", "the agent"),
    ] {
        announce(&format!("benchmarking {what} (kernel/benches/{name}.rs)"));
        let mut bench = cargo();
        bench.args(["bench", "-p", "aether-kernel", "--bench", name]);
        if let Some(python) = &python {
            bench.env(bench_peers::PYTHON_ENV, python);
        }
        if !extra.is_empty() {
            bench.arg("--").args(extra);
        }
        run(&mut bench)?;
    }
    Ok(())
}
