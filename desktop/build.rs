//! Build script: makes the release wasm splittable into apps' on-demand chunks.
//!
//! For a release build to `wasm32` asked for by `AETHER_DESKTOP_SPLIT=1` (set by `cargo xtask`
//! around `trunk build --release`, which then splits the result) it turns on `cfg(aether_split)`,
//! which puts each heavy app's entry behind a split point (`apps/on_demand.rs`), and links with
//! `--emit-relocs`, which the splitter (`wasm-split-cli`) needs to follow every function and data
//! reference. Other builds (`trunk serve`, a bare `trunk build`, tests, clippy) get neither:
//! their apps load with the page, as one module, which needs no splitting to run. It never
//! touches files.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(aether_split)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=AETHER_DESKTOP_SPLIT");
    let asked = std::env::var("AETHER_DESKTOP_SPLIT").is_ok_and(|v| v == "1");
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32");
    // `PROFILE` is "release" for `wasm-release` (it inherits `release`), "debug" for dev builds.
    let release = std::env::var("PROFILE").is_ok_and(|profile| profile == "release");
    if asked && wasm && release {
        println!("cargo::rustc-cfg=aether_split");
        println!("cargo::rustc-link-arg-bins=--emit-relocs");
    }
}
