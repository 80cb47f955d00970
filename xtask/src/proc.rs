//! Child processes: where they run, what PATH they see, and how they are announced.
//!
//! Every command runs at the workspace root with the cargo bin dir prepended to PATH (tools installed by
//! `cargo install` must be found by Trunk and by us), is printed before it runs, and a failure names the
//! command. This module never decides *what* to run.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

/// The workspace root (the folder holding the top `Cargo.toml`).
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask lives one level below the workspace root")
            .to_path_buf()
    })
}

/// Cargo's target dir: `CARGO_TARGET_DIR` when set, else `target/` at the root.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// Where `cargo install` puts binaries: `$CARGO_HOME/bin`, else `~/.cargo/bin`.
pub fn cargo_bin_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home).join("bin");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| OsString::from("."));
    PathBuf::from(home).join(".cargo").join("bin")
}

/// PATH for children: the cargo bin dir first, then the inherited PATH.
fn child_path() -> &'static OsStr {
    static PATH: OnceLock<OsString> = OnceLock::new();
    PATH.get_or_init(|| {
        let mut dirs = vec![cargo_bin_dir()];
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        std::env::join_paths(dirs).unwrap_or_else(|_| std::env::var_os("PATH").unwrap_or_default())
    })
}

/// A command for `program`, run at the workspace root with the child PATH.
pub fn cmd(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(root()).env("PATH", child_path());
    cmd
}

/// `cargo`: the one running us (`$CARGO`) so toolchain overrides hold, else the one on PATH.
pub fn cargo() -> Command {
    cmd(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

/// Prints a step header: `==> what`.
pub fn announce(what: &str) {
    println!("==> {what}");
}

/// The command line as a person would type it (relative to the root where possible).
pub fn display(cmd: &Command) -> String {
    let relative = |word: &OsStr| {
        let word = word.to_string_lossy();
        match Path::new(word.as_ref()).strip_prefix(root()) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
            _ => word.into_owned(),
        }
    };
    let mut parts = vec![relative(cmd.get_program())];
    if parts[0].ends_with("/cargo") {
        parts[0] = "cargo".into();
    }
    for arg in cmd.get_args() {
        let arg = relative(arg);
        if arg.contains(' ') {
            parts.push(format!("'{arg}'"));
        } else {
            parts.push(arg);
        }
    }
    parts.join(" ")
}

/// Runs `cmd` with inherited stdio after printing it; fails naming the command unless it exits 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    let line = display(cmd);
    println!("    $ {line}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{line}` (is it installed and on PATH?)"))?;
    if !status.success() {
        bail!("`{line}` failed with {status}");
    }
    Ok(())
}

/// Like [`run`], but also hands every line the child writes to stdout to `on_line` (after echoing it).
pub fn run_tee(cmd: &mut Command, mut on_line: impl FnMut(&str)) -> Result<()> {
    let line = display(cmd);
    println!("    $ {line}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{line}` (is it installed and on PATH?)"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    for out in BufReader::new(stdout).lines() {
        let out = out.with_context(|| format!("reading the output of `{line}`"))?;
        println!("{out}");
        on_line(&out);
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("`{line}` failed with {status}");
    }
    Ok(())
}

/// Starts `cmd` in the background after printing it.
pub fn spawn(cmd: &mut Command) -> Result<Child> {
    let line = display(cmd);
    println!("    $ {line} &");
    cmd.spawn()
        .with_context(|| format!("could not start `{line}` (is it installed and on PATH?)"))
}

/// The trimmed stdout of `cmd` if it starts and exits 0; `None` otherwise. For probes such as `--version`.
pub fn probe(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Whether this process runs as root (and so may use apt-get itself).
pub fn is_root() -> bool {
    probe(cmd("id").arg("-u")).as_deref() == Some("0")
}

/// Seconds with one decimal, for step timings.
pub fn secs(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{s:.1}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn display_shows_paths_relative_to_the_root() {
        let mut c = cmd("trunk");
        c.arg("build").arg(root().join("target/dist"));
        assert_eq!(display(&c), "trunk build target/dist");
        let kernel = cmd(root().join("target/release/aether"));
        assert_eq!(display(&kernel), "target/release/aether");
    }

    #[test]
    fn durations_read_as_seconds_or_minutes() {
        assert_eq!(secs(Duration::from_millis(2340)), "2.3s");
        assert_eq!(secs(Duration::from_secs(125)), "2m05s");
    }

    #[test]
    fn children_find_cargo_installed_tools_first() {
        let path = child_path();
        let first = std::env::split_paths(path).next().unwrap();
        assert_eq!(first, cargo_bin_dir());
    }
}
