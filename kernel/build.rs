//! Embeds the built desktop (Trunk's output, `target/dist` by default, or `AETHER_DIST_DIR`)
//! into the kernel: writes `embedded_assets.rs` with one `Asset` per file, its `.br`/`.gz`
//! siblings (made by `cargo xtask` after the Trunk build) attached as precompressed variants.
//!
//! When the desktop has not been built the table is empty and the kernel says how to build it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

#[path = "src/assets/kind.rs"]
mod kind;

fn main() {
    println!("cargo:rerun-if-env-changed=AETHER_DIST_DIR");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist = env::var_os("AETHER_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../target/dist"));
    // Watching a missing path would rerun this script on every build; an empty folder is cheap.
    fs::create_dir_all(&dist).expect("create the dist folder");
    println!("cargo:rerun-if-changed={}", dist.display());

    let mut files = BTreeMap::new();
    collect(&dist, &dist, &mut files);

    let mut code = String::from("static EMBEDDED_ASSETS: &[Asset] = &[\n");
    for (url, path) in &files {
        if url.ends_with(".br") || url.ends_with(".gz") {
            continue;
        }
        let variant = |ext: &str| {
            files
                .get(&format!("{url}.{ext}"))
                .map(|p| format!("Some(include_bytes!({:?}))", p.display().to_string()))
                .unwrap_or_else(|| "None".to_owned())
        };
        let body = fs::read(path).expect("read an asset");
        let name = url.rsplit('/').next().unwrap_or("");
        writeln!(
            code,
            "    Asset {{ path: {url:?}, body: include_bytes!({:?}), brotli: {}, gzip: {}, content_type: {:?}, immutable: {}, etag: {:?} }},",
            path.display().to_string(),
            variant("br"),
            variant("gz"),
            kind::content_type(name),
            kind::is_hashed(name),
            kind::etag(&body),
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("embedded_assets.rs");
    fs::write(out, code).expect("write embedded_assets.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<String, PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            files.insert(format!("/{rel}"), fs::canonicalize(&path).unwrap());
        }
    }
}
