//! The `hello` guest the runner benchmarks spawn: built for `wasm32-wasip1` from the workspace's
//! `aether-guests`, and the ways a spawn names it (its bytes as base64, its SHA-256).

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;

/// The `hello` guest's bytes, built (release, `wasm32-wasip1`) if needed.
pub fn hello_wasm() -> Vec<u8> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            "wasm32-wasip1",
            "-p",
            "aether-guests",
            "--bin",
            "hello",
        ])
        .status()
        .expect("run cargo");
    assert!(
        status.success(),
        "building the hello guest failed (rustup target add wasm32-wasip1)"
    );
    std::fs::read(target_dir().join("wasm32-wasip1/release/hello.wasm")).unwrap()
}

/// A spawn's `module` carrying the whole of `wasm` as base64 (JSON).
pub fn module_by_base64(wasm: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(wasm);
    format!(r#"{{"base64":"{b64}"}}"#)
}

/// A spawn's `module` naming `wasm` by its SHA-256 (JSON): found only once the same client's
/// principal has sent the bytes to the kernel that runs it.
pub fn module_by_sha256(wasm: &[u8]) -> String {
    use sha2::Digest as _;
    let hex: String = sha2::Sha256::digest(wasm)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(r#"{{"sha256":"{hex}"}}"#)
}

/// Cargo's target dir: `CARGO_TARGET_DIR` when set, else `target/` at the root.
pub fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}
