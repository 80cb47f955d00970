//! Mirroring the assembled desktop into `target/dist`, touching only files whose bytes changed.
//!
//! Trunk empties its output folder on every build and the placers copy Monaco, the samples and the guest
//! afresh, so every file there gets a new mtime even when nothing changed. The kernel's build script and
//! rustc's `include_bytes!` tracking go by mtime: served from that folder, an unchanged tree would still
//! relink the kernel. Mirrored here, a file keeps its mtime until its content differs, and the kernel
//! rebuilds only when what it embeds changed. The `.br`/`.gz` siblings [`crate::precompress`] writes
//! beside a mirrored file are kept while that file is.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// What [`mirror`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub copied: usize,
    pub unchanged: usize,
    pub removed: usize,
}

/// Makes `to` hold exactly the files of `from` (plus the precompressed siblings of those files), writing
/// only the files whose content differs and removing the rest.
pub fn mirror(from: &Path, to: &Path) -> Result<Summary> {
    let mut sources = Vec::new();
    walk(from, Path::new(""), &mut sources)?;
    let wanted: BTreeSet<&PathBuf> = sources.iter().collect();

    let mut summary = Summary::default();
    for rel in &sources {
        let (src, dst) = (from.join(rel), to.join(rel));
        if same_content(&src, &dst)? {
            summary.unchanged += 1;
            continue;
        }
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::copy(&src, &dst)
            .with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
        summary.copied += 1;
    }

    let mut present = Vec::new();
    if to.is_dir() {
        walk(to, Path::new(""), &mut present)?;
    }
    for rel in present {
        if wanted.contains(&rel) || is_sibling_of_wanted(&rel, &wanted) {
            continue;
        }
        let path = to.join(&rel);
        fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        summary.removed += 1;
    }
    remove_empty_dirs(to)?;
    Ok(summary)
}

/// `a.js.br` or `a.js.gz` beside a wanted `a.js` (a wanted `.gz` asset is wanted in its own right).
fn is_sibling_of_wanted(rel: &Path, wanted: &BTreeSet<&PathBuf>) -> bool {
    let is_sibling = rel
        .extension()
        .is_some_and(|ext| ext == "br" || ext == "gz");
    is_sibling && wanted.contains(&rel.with_extension(""))
}

/// Whether `b` exists with exactly the bytes of `a` (sizes first, so most changes cost no read).
fn same_content(a: &Path, b: &Path) -> Result<bool> {
    let Ok(b_meta) = fs::metadata(b) else {
        return Ok(false);
    };
    let a_meta = fs::metadata(a).with_context(|| format!("reading {}", a.display()))?;
    if !b_meta.is_file() || a_meta.len() != b_meta.len() {
        return Ok(false);
    }
    let a_bytes = fs::read(a).with_context(|| format!("reading {}", a.display()))?;
    let b_bytes = fs::read(b).with_context(|| format!("reading {}", b.display()))?;
    Ok(a_bytes == b_bytes)
}

/// The files under `dir`, as paths relative to it.
fn walk(dir: &Path, rel: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let here = dir.join(rel);
    for entry in fs::read_dir(&here).with_context(|| format!("listing {}", here.display()))? {
        let entry = entry?;
        let rel = rel.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(dir, &rel, files)?;
        } else if kind.is_file() {
            files.push(rel);
        }
    }
    Ok(())
}

/// Removes folders under `dir` (not `dir` itself) left without files.
fn remove_empty_dirs(dir: &Path) -> Result<bool> {
    let mut empty = true;
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() && remove_empty_dirs(&entry.path())? {
            fs::remove_dir(entry.path())
                .with_context(|| format!("removing {}", entry.path().display()))?;
        } else {
            empty = false;
        }
    }
    Ok(empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-mirror-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn mtime(path: &Path) -> SystemTime {
        fs::metadata(path).unwrap().modified().unwrap()
    }

    #[test]
    fn unchanged_files_keep_their_mtime_and_changed_ones_are_rewritten() {
        let (from, to) = (scratch("from-a"), scratch("to-a"));
        fs::create_dir_all(from.join("monaco/vs")).unwrap();
        fs::write(from.join("index.html"), "<html>").unwrap();
        fs::write(from.join("monaco/vs/loader.js"), "define()").unwrap();
        fs::write(from.join("app.js"), "one").unwrap();
        let first = mirror(&from, &to).unwrap();
        assert_eq!((first.copied, first.unchanged, first.removed), (3, 0, 0));

        // Older than anything written next, so a rewrite would show.
        let old = SystemTime::now() - Duration::from_secs(3600);
        for rel in ["index.html", "monaco/vs/loader.js", "app.js"] {
            fs::File::options()
                .write(true)
                .open(to.join(rel))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        // Rewritten with the same bytes (as Trunk does), and one file changed at the same size.
        fs::write(from.join("index.html"), "<html>").unwrap();
        fs::write(from.join("app.js"), "two").unwrap();
        let second = mirror(&from, &to).unwrap();
        assert_eq!((second.copied, second.unchanged, second.removed), (1, 2, 0));
        assert_eq!(mtime(&to.join("index.html")), old);
        assert_eq!(mtime(&to.join("monaco/vs/loader.js")), old);
        assert_eq!(fs::read_to_string(to.join("app.js")).unwrap(), "two");
    }

    #[test]
    fn stale_files_go_and_siblings_of_kept_files_stay() {
        let (from, to) = (scratch("from-b"), scratch("to-b"));
        fs::create_dir_all(from.join("v86")).unwrap();
        fs::write(from.join("app-1111.js"), "new").unwrap();
        fs::write(from.join("disk.img.gz"), "asset").unwrap();
        fs::create_dir_all(to.join("old")).unwrap();
        fs::write(to.join("app-0000.js"), "old").unwrap();
        fs::write(to.join("app-0000.js.br"), "old").unwrap();
        fs::write(to.join("app-1111.js.br"), "kept").unwrap();
        fs::write(to.join("app-1111.js.gz"), "kept").unwrap();
        fs::write(to.join("old/gone.txt"), "x").unwrap();

        let summary = mirror(&from, &to).unwrap();
        assert_eq!((summary.copied, summary.removed), (2, 3));
        assert!(to.join("app-1111.js.br").exists() && to.join("app-1111.js.gz").exists());
        assert!(to.join("disk.img.gz").exists());
        assert!(!to.join("app-0000.js").exists() && !to.join("app-0000.js.br").exists());
        assert!(!to.join("old").exists(), "emptied folders are removed");
    }

    #[test]
    fn empty_and_one_byte_files_are_mirrored() {
        let (from, to) = (scratch("from-c"), scratch("to-c"));
        fs::write(from.join("empty"), "").unwrap();
        fs::write(from.join("one"), "1").unwrap();
        mirror(&from, &to).unwrap();
        assert_eq!(fs::read(to.join("empty")).unwrap(), b"");
        assert_eq!(fs::read(to.join("one")).unwrap(), b"1");
        assert_eq!(mirror(&from, &to).unwrap().unchanged, 2);
    }
}
