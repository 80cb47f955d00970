//! Monaco in the served assets: the AMD build of the pinned `monaco-editor` (vendor/package.json)
//! copied into `target/stage/monaco/vs`, so the kernel embeds it and the Editor app loads it
//! lazily from its own origin (never from a CDN).
//!
//! Only what the editor loads is copied: `min/vs` without the translations (`nls/lang`, the
//! editor runs in English), without the duplicate per-language entry points (`language/`: the
//! bundle loads its hashed chunks instead) and without type declarations. Installs the vendor
//! packages with `npm ci` when they are missing or older than the lock file. Never touches other
//! files in `target/stage`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::build::stage_dir;
use crate::precompress::size;
use crate::proc::{self, announce};

/// Where the desktop finds Monaco: `/<MOUNT>/vs/loader.js`.
pub const MOUNT: &str = "monaco";

/// Folders and suffixes of `min/vs` the editor never loads.
const SKIPPED_DIRS: &[&str] = &["nls", "language"];
const SKIPPED_SUFFIXES: &[&str] = &[".d.ts", ".map"];

/// Installs the vendor packages if needed and copies Monaco into `target/stage/monaco/vs`.
pub fn place() -> Result<()> {
    crate::tools::vendor_packages()?;
    let from = proc::root()
        .join("vendor")
        .join("node_modules")
        .join("monaco-editor")
        .join("min")
        .join("vs");
    if !from.join("loader.js").is_file() || !from.join("editor").join("editor.main.js").is_file() {
        bail!(
            "{} has no loader.js or editor/editor.main.js: is monaco-editor still the AMD build pinned in vendor/package.json?",
            from.display()
        );
    }
    let to = stage_dir().join(MOUNT).join("vs");
    if to.exists() {
        fs::remove_dir_all(&to).with_context(|| format!("clearing {}", to.display()))?;
    }
    let bytes = copy_tree(&from, &to, true)?;
    announce(&format!(
        "placed Monaco (min/vs, English only) in target/stage/{MOUNT}/vs: {}",
        size(bytes)
    ));
    Ok(())
}

/// Copies `from` into `to`, skipping what [`is_skipped`] says; returns the bytes copied.
fn copy_tree(from: &Path, to: &Path, top: bool) -> Result<u64> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut bytes = 0;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if is_skipped(&name, entry.file_type()?.is_dir(), top) {
            continue;
        }
        if path.is_dir() {
            bytes += copy_tree(&path, &to.join(&name), false)?;
        } else {
            bytes += fs::copy(&path, to.join(&name))
                .with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(bytes)
}

/// Whether a file or folder of `min/vs` stays out of the served assets.
fn is_skipped(name: &str, is_dir: bool, top: bool) -> bool {
    if is_dir {
        return top && SKIPPED_DIRS.contains(&name);
    }
    SKIPPED_SUFFIXES.iter().any(|s| name.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translations_language_entry_points_and_typings_are_skipped() {
        assert!(is_skipped("nls", true, true));
        assert!(is_skipped("language", true, true));
        assert!(!is_skipped("editor", true, true));
        assert!(
            !is_skipped("language", true, false),
            "only the top-level folder"
        );
        assert!(is_skipped("editor.main.d.ts", false, false));
        assert!(!is_skipped("loader.js", false, true));
        assert!(!is_skipped("editor.main.css", false, false));
    }
}
