//! The peers the benchmarks are compared with, installed from their package registries: wasmtime's
//! Python package (PyPI) in a virtual environment under `target/bench-venv`, for the runner
//! benchmark's "hello spawn → exit over the bus vs wasmtime-py in-process" ratio.
//!
//! The environment is made once and reused while it holds the pinned version. The runner
//! benchmark finds its interpreter in [`PYTHON_ENV`] and runs `xtask/bench/wasmtime_py_hello.py`
//! itself, in the same run as its own measurement. Nothing here measures anything.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::proc::{announce, cmd, probe, run, target_dir};
use crate::tools;

/// The wasmtime-py release compared with: the same wasmtime version as the kernel's (48).
pub const WASMTIME_PY_VERSION: &str = "48.0.0";
/// The environment variable naming the interpreter to the runner benchmark.
pub const PYTHON_ENV: &str = "AETHER_BENCH_PYTHON";

/// The virtual environment holding wasmtime-py.
fn venv_dir() -> PathBuf {
    target_dir().join("bench-venv")
}

/// The interpreter of a virtual environment with wasmtime-py [`WASMTIME_PY_VERSION`], made (and
/// the package installed with pip from PyPI) when missing or holding another version.
pub fn wasmtime_py() -> Result<PathBuf> {
    let venv = venv_dir();
    let python = venv.join("bin").join("python");
    if installed_version(&python).as_deref() == Some(WASMTIME_PY_VERSION) {
        return Ok(python);
    }
    announce(&format!(
        "installing wasmtime-py {WASMTIME_PY_VERSION} from PyPI into {} (the runner benchmark's peer)",
        venv.display()
    ));
    if !python.is_file() {
        make_venv(&venv)?;
    }
    run(cmd(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("wasmtime=={WASMTIME_PY_VERSION}"),
    ]))
    .context("installing wasmtime-py from PyPI")?;
    match installed_version(&python) {
        Some(v) if v == WASMTIME_PY_VERSION => Ok(python),
        other => bail!(
            "wasmtime-py {WASMTIME_PY_VERSION} is not importable from {} after installing it (found {other:?}); delete that folder and retry",
            venv.display()
        ),
    }
}

/// `python3 -m venv`, installing Debian's `python3-venv` first when the module is missing.
fn make_venv(venv: &std::path::Path) -> Result<()> {
    let make = || {
        run(cmd("python3")
            .arg("-m")
            .arg("venv")
            .arg("--clear")
            .arg(venv))
    };
    if make().is_ok() {
        return Ok(());
    }
    tools::apt_install(&[tools::AptPackage {
        name: "python3-venv",
        why: "the runner benchmark installs wasmtime-py in a virtual environment",
        required: true,
    }])?;
    make().context("python3 -m venv failed even with python3-venv installed")
}

/// The wasmtime-py version `python` imports, if it has one.
fn installed_version(python: &std::path::Path) -> Option<String> {
    if !python.is_file() {
        return None;
    }
    probe(cmd(python).args([
        "-c",
        "import importlib.metadata as m, wasmtime; print(m.version('wasmtime'))",
    ]))
}
