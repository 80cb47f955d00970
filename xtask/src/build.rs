//! Building the product: the desktop with Trunk into `target/dist`, its precompressed siblings, and the
//! release kernel that embeds that folder.
//!
//! The order matters and lives here: the kernel's build script embeds `target/dist` as it is when the kernel
//! compiles, so the desktop and its `.br`/`.gz` files must be complete first. Assumes the prerequisites of
//! [`crate::tools::for_build`]; never installs anything itself.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::precompress::{self, size};
use crate::proc::{self, announce, cargo, cmd, run};

/// Where Trunk.toml sends the built desktop and where the kernel's build script reads it from.
pub fn dist_dir() -> PathBuf {
    proc::root().join("target").join("dist")
}

/// The release kernel binary.
pub fn kernel_binary() -> PathBuf {
    proc::target_dir()
        .join("release")
        .join(format!("aether{}", std::env::consts::EXE_SUFFIX))
}

/// `trunk build --release` at the root, then `.br`/`.gz` siblings for the compressible files.
pub fn desktop_release() -> Result<()> {
    // Trunk.toml builds offline (no tool downloads), which also keeps cargo from fetching crates.
    announce("fetching crates for the desktop (Trunk builds offline)");
    run(cargo().arg("fetch"))?;
    announce("building the desktop (release) with trunk into target/dist");
    run(trunk().args(["build", "--release"]))?;
    if !dist_dir().join("index.html").is_file() {
        bail!(
            "trunk finished but {} has no index.html: check `dist` in Trunk.toml",
            dist_dir().display()
        );
    }
    samples()?;
    crate::monaco::place()?;
    crate::guest_image::place()?;
    precompress_dist()
}

/// The sample WASI programs the desktop offers (Console, welcome folder), served at `/samples/`.
pub const SAMPLES: [&str; 2] = ["hello", "echo"];

/// Builds `guests/` for wasm32-wasip1 and copies the samples into `target/dist/samples`.
pub fn samples() -> Result<()> {
    announce("building the sample WASI programs (guests/) for wasm32-wasip1");
    run(cargo().args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip1",
        "-p",
        "aether-guests",
    ]))?;
    let built = proc::target_dir().join("wasm32-wasip1").join("release");
    let out = dist_dir().join("samples");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for name in SAMPLES {
        let file = format!("{name}.wasm");
        std::fs::copy(built.join(&file), out.join(&file))
            .with_context(|| format!("copying the sample {file} into {}", out.display()))?;
    }
    Ok(())
}

/// Precompresses `target/dist`, printing each file and the totals.
pub fn precompress_dist() -> Result<()> {
    let dir = dist_dir();
    announce(&format!(
        "precompressing {} (brotli q{}/q{} and gzip -9 beside each {} file over {})",
        dir.strip_prefix(proc::root()).unwrap_or(&dir).display(),
        precompress::brotli_quality(0),
        precompress::brotli_quality(u64::MAX),
        precompress::EXTENSIONS.join("/"),
        size(precompress::MIN_BYTES)
    ));
    let started = Instant::now();
    let s = precompress::precompress_dir(&dir).context("precompressing the desktop")?;
    println!(
        "    {} compressed, {} up to date: {} -> br {}, gz {} in {}",
        s.compressed,
        s.up_to_date,
        size(s.bytes_in),
        size(s.bytes_br),
        size(s.bytes_gz),
        proc::secs(started.elapsed())
    );
    Ok(())
}

/// `cargo build --release -p aether-kernel`; returns the binary's path.
pub fn kernel_release() -> Result<PathBuf> {
    announce("building the kernel (release), embedding target/dist");
    run(cargo().args(["build", "--release", "-p", "aether-kernel"]))?;
    let bin = kernel_binary();
    if !bin.is_file() {
        bail!(
            "cargo built aether-kernel but {} is missing: is its [[bin]] still named `aether`?",
            bin.display()
        );
    }
    Ok(bin)
}

/// The full release: desktop, precompression, kernel.
pub fn release() -> Result<PathBuf> {
    desktop_release()?;
    kernel_release()
}

/// A `trunk` command that never reaches beyond the registries: no update check, tools from PATH.
pub fn trunk() -> std::process::Command {
    let mut trunk = cmd("trunk");
    trunk.env("TRUNK_SKIP_VERSION_CHECK", "true");
    trunk
}
