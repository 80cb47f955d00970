//! Building the product: the desktop with Trunk, Monaco, the samples and the x86 guest assembled in
//! `target/stage`, mirrored into `target/dist` with precompressed siblings, and the release kernel that
//! embeds that folder.
//!
//! The order matters and lives here: the kernel's build script embeds `target/dist` as it is when the kernel
//! compiles, so the desktop and its `.br`/`.gz` files must be complete first. Only files whose bytes changed
//! are rewritten there ([`crate::mirror`], [`crate::precompress`]), so rebuilding an unchanged tree neither
//! recompresses nor relinks the kernel. Each part is a timed step. Assumes the prerequisites of
//! [`crate::tools::for_build`]; never installs anything itself. The desktop's wasm is split after Trunk
//! ([`split`]): the apps' on-demand chunks are left out of the first load, and the step prints both sizes.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::precompress::{self, size};
use crate::proc::{self, announce, cargo, cmd, run};
use crate::steps::Steps;

mod split;

/// Where the kernel's build script reads the desktop from.
pub fn dist_dir() -> PathBuf {
    proc::root().join("target").join("dist")
}

/// Where Trunk.toml sends the built desktop and the placers add theirs, before [`mirror_stage`].
pub fn stage_dir() -> PathBuf {
    proc::root().join("target").join("stage")
}

/// Where compressed assets are kept by content between builds.
fn precompress_cache() -> PathBuf {
    proc::target_dir().join("precompressed")
}

/// The release kernel binary.
pub fn kernel_binary() -> PathBuf {
    proc::target_dir()
        .join("release")
        .join(format!("aether{}", std::env::consts::EXE_SUFFIX))
}

/// `trunk build --release`, the placers, the mirror into `target/dist` and its `.br`/`.gz` siblings.
pub fn desktop_release(steps: &mut Steps) -> Result<()> {
    // Trunk.toml builds offline (no tool downloads), which also keeps cargo from fetching crates.
    steps.run("crates (cargo fetch)", || {
        run(cargo().args(["fetch", "--quiet"]))
    })?;
    steps.run("desktop (trunk, release)", || {
        // Builds the wasm with the apps' split points (desktop/build.rs) for the next step.
        run(trunk()
            .args(["build", "--release"])
            .env("AETHER_DESKTOP_SPLIT", "1"))?;
        if !stage_dir().join("index.html").is_file() {
            bail!(
                "trunk finished but {} has no index.html: check `dist` in Trunk.toml",
                stage_dir().display()
            );
        }
        Ok(())
    })?;
    let parts = steps.run(
        "desktop wasm: first load and on-demand chunks",
        split::split_desktop,
    )?;
    steps.run("sample WASI programs", samples)?;
    steps.run("Monaco", crate::monaco::place)?;
    steps.run("x86 guest and v86", crate::guest_image::place)?;
    steps.run("assets into target/dist", mirror_stage)?;
    steps.run("precompress", precompress_dist)?;
    print_desktop_sizes(&parts)
}

/// Prints the desktop's first load and each on-demand chunk, raw and brotli, from `target/dist`
/// (`FIGURE` lines, like the specs' figures).
fn print_desktop_sizes(parts: &split::Parts) -> Result<()> {
    let dist = dist_dir();
    let sizes = |name: &str| -> Result<(u64, u64)> {
        let path = dist.join(name);
        let raw = std::fs::metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        // Files too small to compress are served as they are.
        let br = std::fs::metadata(precompress::sibling(&path, "br")).map_or(raw, |m| m.len());
        Ok((raw, br))
    };
    let (wasm, wasm_br) = sizes(&format!("{}_bg.wasm", parts.stem))?;
    let (js, js_br) = sizes(&format!("{}.js", parts.stem))?;
    let (loader, loader_br) = sizes(&parts.loader)?;
    println!(
        "FIGURE desktop first load: wasm {} raw, {} brotli; JS (bindings and chunk loader) {} raw, {} brotli",
        size(wasm),
        size(wasm_br),
        size(js + loader),
        size(js_br + loader_br)
    );
    let mut all_shared = std::collections::BTreeSet::new();
    for app in &parts.apps {
        let (own, own_br) = sizes(&app.own)?;
        let (mut shared, mut shared_br) = (0, 0);
        for file in &app.shared {
            let (raw, br) = sizes(file)?;
            shared += raw;
            shared_br += br;
            all_shared.insert(file.as_str());
        }
        println!(
            "FIGURE desktop on demand, {}: {} raw, {} brotli, and {} files it shares with other apps (fetched by the first of them to open), {} raw, {} brotli",
            app.app,
            size(own),
            size(own_br),
            app.shared.len(),
            size(shared),
            size(shared_br)
        );
    }
    let (mut shared, mut shared_br) = (0, 0);
    for file in &all_shared {
        let (raw, br) = sizes(file)?;
        shared += raw;
        shared_br += br;
    }
    println!(
        "FIGURE desktop on demand, shared between apps: {} files, {} raw, {} brotli",
        all_shared.len(),
        size(shared),
        size(shared_br)
    );
    Ok(())
}

/// Mirrors `target/stage` into `target/dist`, rewriting only files whose bytes changed.
pub fn mirror_stage() -> Result<()> {
    let s = crate::mirror::mirror(&stage_dir(), &dist_dir()).context("mirroring target/stage")?;
    println!(
        "    {} changed, {} unchanged, {} removed",
        s.copied, s.unchanged, s.removed
    );
    Ok(())
}

/// The sample WASI programs the desktop offers (Console, welcome folder), served at `/samples/`.
pub const SAMPLES: [&str; 2] = ["hello", "echo"];

/// Builds `guests/` for wasm32-wasip1 and copies the samples into `target/stage/samples`.
pub fn samples() -> Result<()> {
    run(cargo().args([
        "build",
        "--quiet",
        "--release",
        "--target",
        "wasm32-wasip1",
        "-p",
        "aether-guests",
    ]))?;
    let built = proc::target_dir().join("wasm32-wasip1").join("release");
    let out = stage_dir().join("samples");
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
    let s = precompress::precompress_dir(&dir, &precompress_cache())
        .context("precompressing the desktop")?;
    println!(
        "    {} compressed, {} unchanged (cached by content): {} -> br {}, gz {} in {}",
        s.compressed,
        s.cached,
        size(s.bytes_in),
        size(s.bytes_br),
        size(s.bytes_gz),
        proc::secs(started.elapsed())
    );
    Ok(())
}

/// `cargo build --release -p aether-kernel`; returns the binary's path.
pub fn kernel_release() -> Result<PathBuf> {
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
pub fn release(steps: &mut Steps) -> Result<PathBuf> {
    desktop_release(steps)?;
    steps.run("kernel (release, embeds target/dist)", kernel_release)
}

/// A `trunk` command that never reaches beyond the registries: no update check, tools from PATH.
pub fn trunk() -> std::process::Command {
    let mut trunk = cmd("trunk");
    trunk.env("TRUNK_SKIP_VERSION_CHECK", "true");
    trunk
}
