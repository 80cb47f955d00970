//! Prerequisites: install what is missing, from the package registries only, and do nothing when all is there.
//!
//! Each check is a cheap probe (`--version`, a file's existence); an install runs only when the probe fails
//! or reports another version. Nothing here downloads from anywhere but crates, npm and apt: Trunk would
//! otherwise fetch wasm-bindgen and wasm-opt itself, which fails on machines that reach only registries.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::lockfile;
use crate::proc::{self, announce, cargo, cmd, probe, run};

/// Trunk's version: newer releases need a newer rustc than the project's toolchain.
pub const TRUNK_VERSION: &str = "0.21.14";
/// The browser Playwright drives; from the distribution, never downloaded by Playwright.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// NATS's server, the bus's peer in the benchmarks (Debian's package `nats-server`).
pub const NATS_SERVER: &str = "nats-server";
/// The wasm targets: the desktop's, and the sample WASI programs' (`guests/`).
const WASM_TARGETS: [&str; 2] = ["wasm32-unknown-unknown", "wasm32-wasip1"];
/// Oldest Node.js major Playwright supports.
const NODE_MIN_MAJOR: u32 = 20;

/// What building the desktop and the kernel needs: the wasm target, Trunk, wasm-bindgen-cli, wasm-opt.
pub fn for_build() -> Result<()> {
    rust_tools()?;
    apt_install(&missing_apt(false))
}

/// What `cargo xtask bench` needs on top of [`for_build`]: Debian's `nats-server`, the peer the
/// bus benchmark's echo and fan-out are compared with (without it the comparison is skipped).
pub fn for_bench() -> Result<()> {
    apt_install(&missing_nats())
}

/// What `cargo xtask test` needs on top of [`for_build`]: Node.js, Chromium, `nats-server` and the
/// end2end npm packages.
pub fn for_test() -> Result<()> {
    rust_tools()?;
    node()?;
    // One apt-get update for everything missing.
    apt_install(&missing_apt(true))?;
    npm_packages()
}

fn rust_tools() -> Result<()> {
    wasm_target()?;
    trunk()?;
    wasm_bindgen()?;
    wasm_split()
}

/// The Debian packages whose programs are missing; Chromium and `nats-server` only for tests
/// (`for_test`).
fn missing_apt(for_test: bool) -> Vec<AptPackage> {
    let mut apt = Vec::new();
    if !on_path("wasm-opt") {
        apt.push(AptPackage {
            name: "binaryen",
            why: "wasm-opt shrinks the desktop's wasm",
            required: false,
        });
    }
    if for_test && !Path::new(CHROMIUM).exists() {
        apt.push(AptPackage {
            name: "chromium",
            why: "Playwright drives it",
            required: true,
        });
    }
    if for_test {
        apt.extend(missing_nats());
    }
    apt
}

/// `nats-server` when it is not on `PATH` (an installed one, Debian's or not, is left alone).
fn missing_nats() -> Vec<AptPackage> {
    if on_path(NATS_SERVER) {
        return Vec::new();
    }
    vec![AptPackage {
        name: "nats-server",
        why: "the bus benchmark compares the kernel's echo and fan-out with it (and the cluster tests start it)",
        required: false,
    }]
}

fn wasm_target() -> Result<()> {
    let installed =
        probe(cmd("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    for target in WASM_TARGETS {
        if installed.lines().any(|t| t.trim() == target) {
            continue;
        }
        announce(&format!("installing the Rust target {target} with rustup"));
        run(cmd("rustup").args(["target", "add", target]))?;
    }
    Ok(())
}

fn trunk() -> Result<()> {
    cargo_install("trunk", "trunk", TRUNK_VERSION)
}

/// The crate whose `wasm-split-cli` splits the desktop's wasm into its first load and the apps'
/// on-demand chunks; the version that reads what `wasm_split_helpers` in Cargo.lock writes.
const WASM_SPLIT_CRATE: &str = "wasm_split_cli_support";
const WASM_SPLIT_VERSION: &str = "0.2.4";

/// Installs `wasm-split-cli` unless `cargo install --list` has this version (it has no `--version`).
fn wasm_split() -> Result<()> {
    let installed = probe(cargo().args(["install", "--list"])).unwrap_or_default();
    let want = format!("{WASM_SPLIT_CRATE} v{WASM_SPLIT_VERSION}:");
    let runs = probe(cmd("wasm-split-cli").arg("--help")).is_some();
    if runs && installed.lines().any(|l| l.trim() == want) {
        return Ok(());
    }
    announce(&format!(
        "installing {WASM_SPLIT_CRATE} {WASM_SPLIT_VERSION} (wasm-split-cli) with cargo install"
    ));
    run(cargo().args([
        "install",
        "--locked",
        WASM_SPLIT_CRATE,
        "--version",
        WASM_SPLIT_VERSION,
        "--features",
        "build-binary",
    ]))
}

fn wasm_bindgen() -> Result<()> {
    let lock = fs::read_to_string(proc::root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let version = lockfile::single_version(&lock, "wasm-bindgen")?;
    cargo_install("wasm-bindgen-cli", "wasm-bindgen", &version)
}

/// Installs crate `krate` at exactly `version` unless `bin --version` already reports it.
fn cargo_install(krate: &str, bin: &str, version: &str) -> Result<()> {
    let found = probe(cmd(bin).arg("--version"));
    if found.as_deref().and_then(version_word) == Some(version) {
        return Ok(());
    }
    let why = match &found {
        Some(other) => format!("found `{other}`, need {version}"),
        None => "not installed".to_string(),
    };
    announce(&format!(
        "installing {krate} {version} with cargo install ({why}; takes a few minutes)"
    ));
    if run(cargo().args(["install", "--locked", krate, "--version", version])).is_err() {
        // A crate's own lockfile can pin a dependency version the registry no longer serves
        // (wasm-bindgen-cli 0.2.130 pins a webpki-roots that is gone): resolve afresh instead.
        announce(&format!(
            "installing {krate} {version} without its lockfile (the locked install failed)"
        ));
        run(cargo().args(["install", krate, "--version", version]))?;
    }
    match probe(cmd(bin).arg("--version")) {
        Some(now) if version_word(&now) == Some(version) => Ok(()),
        now => bail!(
            "`{bin} --version` says {now:?} after installing {krate} {version}: \
             put {} first on PATH",
            proc::cargo_bin_dir().display()
        ),
    }
}

/// `trunk 0.21.14` → `0.21.14`; `wasm-bindgen 0.2.130 (abc)` → `0.2.130`.
pub fn version_word(version_output: &str) -> Option<&str> {
    version_output
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
}

fn node() -> Result<()> {
    const HOW: &str =
        "install Node.js 20+ and npm from your distribution: apt-get install nodejs npm";
    let Some(version) = probe(cmd("node").arg("--version")) else {
        bail!("node not found: {HOW}");
    };
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    if major.is_none_or(|m| m < NODE_MIN_MAJOR) {
        bail!("node {version} is too old for Playwright: {HOW}");
    }
    if probe(cmd("npm").arg("--version")).is_none() {
        bail!("npm not found: {HOW}");
    }
    Ok(())
}

/// `npm ci` in end2end/ when its packages are missing or older than its lock file.
fn npm_packages() -> Result<()> {
    npm_ci_in(
        "end2end",
        "the end2end npm packages (browsers come from the distribution)",
    )
}

/// `npm ci` in vendor/ (Monaco, v86, xterm.js) when its packages are missing or older than its lock.
pub fn vendor_packages() -> Result<()> {
    npm_ci_in("vendor", "the browser libraries (vendor/)")
}

/// `npm ci` in `folder` when `node_modules` is missing or older than `package-lock.json`. Never
/// downloads a browser.
fn npm_ci_in(folder: &str, what: &str) -> Result<()> {
    let dir = proc::root().join(folder);
    let lock = dir.join("package-lock.json");
    // npm writes this copy of the lock file on every install: its age is the install's age.
    let installed = dir.join("node_modules").join(".package-lock.json");
    if !needs_npm_ci(&lock, &installed)? {
        return Ok(());
    }
    announce(&format!("installing {what} with npm ci"));
    run(cmd("npm")
        .arg("ci")
        .current_dir(&dir)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"))
}

/// Whether the packages recorded at `installed` are missing or older than `lock`.
fn needs_npm_ci(lock: &Path, installed: &Path) -> Result<bool> {
    let lock_time = fs::metadata(lock)
        .and_then(|m| m.modified())
        .with_context(|| {
            format!(
                "{} is missing: run `npm install` in its folder",
                lock.display()
            )
        })?;
    Ok(match fs::metadata(installed).and_then(|m| m.modified()) {
        Ok(installed_time) => installed_time < lock_time,
        Err(_) => true,
    })
}

/// A Debian package to install when its probe failed.
pub struct AptPackage {
    pub name: &'static str,
    pub why: &'static str,
    /// When false, failing to install it is a warning: the build goes on without it.
    pub required: bool,
}

/// Installs `packages` with one `apt-get update && apt-get install -y`, as root; otherwise says what to run.
pub fn apt_install(packages: &[AptPackage]) -> Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = packages.iter().map(|p| p.name).collect();
    let line = format!("apt-get update && apt-get install -y {}", names.join(" "));
    let required = packages.iter().any(|p| p.required);
    let whys: Vec<String> = packages
        .iter()
        .map(|p| format!("{}: {}", p.name, p.why))
        .collect();

    let outcome = if proc::is_root() {
        announce(&format!(
            "installing {} with apt-get ({})",
            names.join(" "),
            whys.join("; ")
        ));
        run(cmd("apt-get")
            .arg("update")
            .env("DEBIAN_FRONTEND", "noninteractive"))
        .and_then(|()| {
            run(cmd("apt-get")
                .args(["install", "-y"])
                .args(&names)
                .env("DEBIAN_FRONTEND", "noninteractive"))
        })
    } else {
        Err(anyhow::anyhow!("not root, so not installing"))
    };
    match outcome {
        Ok(()) => Ok(()),
        Err(e) if required => {
            Err(e.context(format!("{} missing: run as root: {line}", names.join(" "))))
        }
        Err(e) => {
            println!(
                "    warning: {} not installed ({e:#}); to add it run as root: {line}",
                names.join(" ")
            );
            Ok(())
        }
    }
}

fn on_path(bin: &str) -> bool {
    probe(cmd(bin).arg("--version")).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn version_word_reads_tool_version_lines() {
        assert_eq!(version_word("trunk 0.21.14"), Some("0.21.14"));
        assert_eq!(
            version_word("wasm-bindgen 0.2.130 (1a2b3c)"),
            Some("0.2.130")
        );
        assert_eq!(version_word("wasm-opt version 108"), Some("108"));
        assert_eq!(version_word("garbage"), None);
    }

    #[test]
    fn npm_ci_runs_when_node_modules_is_missing_or_older_than_the_lock() {
        let dir = std::env::temp_dir().join(format!("xtask-npm-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let lock = dir.join("package-lock.json");
        let installed = dir.join("installed.json");
        fs::write(&lock, "{}").unwrap();
        assert!(needs_npm_ci(&lock, &installed).unwrap(), "missing");

        fs::write(&installed, "{}").unwrap();
        let now = SystemTime::now();
        fs::File::options()
            .write(true)
            .open(&lock)
            .unwrap()
            .set_modified(now)
            .unwrap();
        let older = fs::File::options().write(true).open(&installed).unwrap();
        older.set_modified(now - Duration::from_secs(60)).unwrap();
        assert!(needs_npm_ci(&lock, &installed).unwrap(), "older");

        older.set_modified(now + Duration::from_secs(60)).unwrap();
        assert!(!needs_npm_ci(&lock, &installed).unwrap(), "fresh");

        assert!(needs_npm_ci(&dir.join("nope.json"), &installed).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
