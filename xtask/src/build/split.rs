//! Splitting the desktop's wasm: the first load (the shell and the light apps) and one on-demand
//! chunk per heavy app, fetched when its first window opens.
//!
//! Trunk builds the release desktop in one piece; its cargo build (with `cfg(aether_split)` and
//! `--emit-relocs`, see `desktop/build.rs`) leaves the module in the cargo target dir. This step
//! splits that module at the apps' `wasm_split` points with `wasm-split-cli`, runs wasm-bindgen on
//! the main part itself (keeping the linker's exports, which the chunks import), and puts the
//! results in `target/stage` in place of Trunk's main module: every part under a content-hashed
//! name (served immutable, like Trunk's), `index.html` pointing at the new main module with its
//! `integrity` values brought up to date. It never touches anything else in the stage.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256, Sha384};

use super::stage_dir;
use crate::proc::{self, cmd, run};

/// The name the splitter gives the loader module; the main module imports it by this name.
const LINK_MODULE: &str = "__wasm_split.js";
/// The name the splitter's loader imports the main module's JS by.
const MAIN_MODULE: &str = "./main.js";

/// What one split produced, for the size report.
#[derive(Debug)]
pub struct Parts {
    /// The main module's name, without extension (`aether-desktop-<hash>`).
    pub stem: String,
    /// The loader script's file name in the stage.
    pub loader: String,
    /// Each app's chunks, by the app's split name.
    pub apps: Vec<AppChunks>,
}

/// The files one app's first window fetches.
#[derive(Debug)]
pub struct AppChunks {
    /// The split's name (`agent`): the first argument of its `on_demand!`.
    pub app: String,
    /// Its own code (`split_agent-<hash>.wasm`).
    pub own: String,
    /// Code it shares with other apps (`chunk_<n>-<hash>.wasm`), fetched once by the first.
    pub shared: Vec<String>,
}

/// Splits the module Trunk's cargo build left and replaces Trunk's main module in the stage (and
/// in `index.html`) with the split one.
pub fn split_desktop() -> Result<Parts> {
    let stage = stage_dir();
    let trunk_stem = trunk_stem(&stage)?;
    let input = proc::target_dir()
        .join("wasm32-unknown-unknown")
        .join("wasm-release")
        .join("aether-desktop.wasm");
    let work = proc::target_dir().join("tmp").join("desktop-split");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("emptying {}", work.display()))?;
    }
    let (split, bound) = (work.join("split"), work.join("bindgen"));
    run(cmd("wasm-split-cli").arg(&input).arg(&split))?;
    run(cmd("wasm-bindgen")
        .arg(split.join("main.wasm"))
        .args([
            "--target",
            "web",
            "--keep-lld-exports",
            "--no-typescript",
            "--remove-name-section",
            "--remove-producers-section",
            "--out-name",
            "main",
            "--out-dir",
        ])
        .arg(&bound))?;

    // The main module, named by its content like every other part.
    let wasm = fs::read(bound.join("main_bg.wasm")).context("reading wasm-bindgen's output")?;
    let stem = format!("aether-desktop-{}", short_hash(&wasm));

    // The chunks, named by content; the loader fetches them relative to itself.
    let mut loader = read_text(&split.join(LINK_MODULE))?;
    let needs = chunks_by_app(&loader)?;
    let mut hashed_names = std::collections::BTreeMap::new();
    for path in files_with_extension(&split, "wasm")? {
        let name = file_name(&path);
        if name == "main.wasm" {
            continue;
        }
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let chunk = name.trim_end_matches(".wasm").to_string();
        let hashed = format!("{chunk}-{}.wasm", short_hash(&bytes));
        let quoted = format!("\"./{name}\"");
        if !loader.contains(&quoted) {
            bail!(
                "the splitter's {LINK_MODULE} does not load {name}: has wasm-split-cli changed its output?"
            );
        }
        loader = loader.replace(&quoted, &format!("\"./{hashed}\""));
        write(&stage.join(&hashed), &bytes)?;
        hashed_names.insert(chunk, hashed);
    }
    let hashed = |chunk: &str| {
        hashed_names.get(chunk).cloned().with_context(|| {
            format!("{LINK_MODULE} loads {chunk}.wasm, which the splitter did not write")
        })
    };
    let apps = needs
        .into_iter()
        .map(|(app, shared)| {
            Ok(AppChunks {
                own: hashed(&format!("split_{app}"))?,
                shared: shared.iter().map(|c| hashed(c)).collect::<Result<_>>()?,
                app,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let from_main = format!("from \"{MAIN_MODULE}\"");
    if !loader.contains(&from_main) {
        bail!(
            "the splitter's {LINK_MODULE} does not import {MAIN_MODULE}: has wasm-split-cli changed its output?"
        );
    }
    let loader = loader.replace(&from_main, &format!("from \"./{stem}.js\""));
    let loader_name = format!("desktop-split-{}.js", short_hash(loader.as_bytes()));
    write(&stage.join(&loader_name), loader.as_bytes())?;

    // The main module under Trunk's names, importing the loader by its hashed name.
    let glue = read_text(&bound.join("main.js"))?;
    // Only the JS `import … from` changes: the import object's keys are the module names inside
    // the wasm, which stay `./__wasm_split.js`.
    let import = format!("from \"./{LINK_MODULE}\"");
    if !glue.contains(&import) {
        bail!(
            "wasm-bindgen's main.js does not import {LINK_MODULE}: was the desktop built without cfg(aether_split)?"
        );
    }
    let glue = glue
        .replace(&import, &format!("from \"./{loader_name}\""))
        .replace("'main_bg.wasm'", &format!("'{stem}_bg.wasm'"));
    write(&stage.join(format!("{stem}.js")), glue.as_bytes())?;
    write(&stage.join(format!("{stem}_bg.wasm")), &wasm)?;
    for unsplit in [format!("{trunk_stem}.js"), format!("{trunk_stem}_bg.wasm")] {
        let path = stage.join(unsplit);
        fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    }
    let page = stage.join("index.html");
    let html = read_text(&page)?.replace(&format!("/{trunk_stem}"), &format!("/{stem}"));
    write(&page, html.as_bytes())?;
    update_integrity(
        &page,
        &[
            (format!("/{stem}.js"), glue.as_bytes()),
            (format!("/{stem}_bg.wasm"), &wasm),
        ],
    )?;
    Ok(Parts {
        stem,
        loader: loader_name,
        apps,
    })
}

/// `(app, shared chunks)` for each app's loader in the splitter's `__wasm_split.js`, whose lines
/// read `export const __wasm_split_load_<app> = wrapAsyncCb(makeLoad(…, [__chunk_3, …]));`.
fn chunks_by_app(loader: &str) -> Result<Vec<(String, Vec<String>)>> {
    const EXPORT: &str = "export const __wasm_split_load_";
    let mut apps = Vec::new();
    let mut rest = loader;
    while let Some(at) = rest.find(EXPORT) {
        rest = &rest[at + EXPORT.len()..];
        let app: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let deps = rest
            .find(", [")
            .map(|i| &rest[i + 3..])
            .and_then(|d| d.find(']').map(|end| &d[..end]))
            .with_context(|| format!("no chunk list for {app} in {LINK_MODULE}: has wasm-split-cli changed its output?"))?;
        let shared = deps
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| d.trim_start_matches("__").to_string())
            .collect();
        apps.push((app, shared));
    }
    apps.sort();
    Ok(apps)
}

/// `aether-desktop-<hash>`: the stem of the JS module Trunk wrote into the stage.
fn trunk_stem(stage: &Path) -> Result<String> {
    let mut stems: Vec<String> = files_with_extension(stage, "js")?
        .iter()
        .map(|p| file_name(p).trim_end_matches(".js").to_string())
        .filter(|s| s.starts_with("aether-desktop-"))
        .collect();
    match (stems.pop(), stems.is_empty()) {
        (Some(stem), true) => Ok(stem),
        (None, _) => bail!(
            "no aether-desktop-*.js in {}: did trunk build run?",
            stage.display()
        ),
        (Some(_), false) => bail!("several aether-desktop-*.js in {}", stage.display()),
    }
}

/// Rewrites the `integrity` of each `<link>` naming one of `files` (url, new bytes) in `page`.
fn update_integrity(page: &Path, files: &[(String, &[u8])]) -> Result<()> {
    let mut html = read_text(page)?;
    for (url, bytes) in files {
        let href = format!("href=\"{url}\"");
        let Some(at) = html.find(&href) else {
            continue;
        };
        let end = html[at..].find('>').map_or(html.len(), |i| at + i);
        let Some(start) = html[at..end]
            .find("integrity=\"")
            .map(|i| at + i + "integrity=\"".len())
        else {
            continue;
        };
        let close = html[start..]
            .find('"')
            .map(|i| start + i)
            .context("an unterminated integrity attribute in index.html")?;
        let sri = format!("sha384-{}", base64(&Sha384::digest(bytes)));
        html.replace_range(start..close, &sri);
    }
    write(page, html.as_bytes())
}

/// 16 hex digits of the SHA-256 of `bytes`: the kernel serves such names as immutable.
fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Standard base64 with padding (the form `integrity` takes).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn files_with_extension(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == ext) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn each_apps_shared_chunks_are_read_from_the_loader() {
        let loader = r#"const __chunk_7 = makeLoad(() => {}, []);
export const __wasm_split_load_terminal = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split_terminal.wasm", import.meta.url));
}
, [__chunk_11, __chunk_7]));
export const __wasm_split_load_notes = wrapAsyncCb(makeLoad(() => {
}
, []));
"#;
        let apps = chunks_by_app(loader).unwrap();
        assert_eq!(
            apps,
            [
                ("notes".to_string(), vec![]),
                (
                    "terminal".to_string(),
                    vec!["chunk_11".to_string(), "chunk_7".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn short_hashes_are_what_the_kernel_serves_as_immutable() {
        let hash = short_hash(b"chunk");
        assert_eq!(hash.len(), 16);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
