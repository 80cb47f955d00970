//! The tools tree as the desktop's 9p server reads it: every regular file's bytes once, named by
//! content, in `target/stage/v86/tools/t-<16 hex of its SHA-256>.bin`, and an index,
//! `tools-<16 hex>.json`, listing each path:
//!
//! ```json
//! {"entries": [
//! {"p":"usr","k":"d","m":493},
//! {"p":"usr/bin/git","k":"f","m":493,"s":4012345,"b":"/v86/tools/t-0123456789abcdef.bin"},
//! {"p":"usr/bin/python3","k":"l","t":"python3.11"}
//! ]}
//! ```
//!
//! `p` is the path without a leading slash, in tree order (a folder before what it holds, names
//! sorted); `k` is `d`, `f` or `l`; `m` the permission bits (folders and files); `s` the size and
//! `b` the blob's URL (files); `t` the link's target as the package has it. Hard links are files
//! of their own with the same blob. The blobs' names fit the kernel's `stem-<16 hex>.ext` rule for
//! immutable files. Writing the index reads the tree only; [`place_blobs`] writes only in the
//! `tools/` folder it is given and removes the blobs of earlier builds from it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::hex_sha256;

/// The folder of `target/stage/v86` (and URL path under `/v86/`) the blobs go in.
pub const BLOB_DIR: &str = "tools";
/// The start of a blob's name: `t-<16 hex>.bin`.
pub const BLOB_PREFIX: &str = "t-";

/// What a path of the tree is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir { mode: u32 },
    File { mode: u32, size: u64, blob: String },
    Link { target: String },
}

/// One path of the tree (relative, `/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub kind: Kind,
}

/// `t-<16 hex>.bin` for these bytes.
pub fn blob_name(bytes: &[u8]) -> String {
    format!("{BLOB_PREFIX}{}.bin", &hex_sha256(bytes)[..16])
}

/// Whether a file name is a blob's (the precompression treats those apart).
pub fn is_blob_name(name: &str) -> bool {
    name.strip_prefix(BLOB_PREFIX)
        .and_then(|n| n.strip_suffix(".bin"))
        .is_some_and(|hash| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Every path under `tree`, in tree order, files hashed.
pub fn scan(tree: &Path) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    walk(tree, tree, &mut entries)?;
    Ok(entries)
}

fn walk(root: &Path, dir: &Path, entries: &mut Vec<Entry>) -> Result<()> {
    let mut children = fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .collect::<std::io::Result<Vec<_>>>()?;
    children.sort_by_key(|e| e.file_name());
    for child in children {
        let path = child.path();
        let rel = path.strip_prefix(root).expect("walked from the root");
        let Some(rel) = rel.to_str() else {
            bail!("{} is not UTF-8: the index cannot name it", path.display());
        };
        let meta = path.symlink_metadata()?;
        let mode = meta.permissions().mode() & 0o7777;
        let kind = if meta.file_type().is_symlink() {
            let target = fs::read_link(&path)?;
            let Some(target) = target.to_str() else {
                bail!(
                    "the link {} points to a name that is not UTF-8",
                    path.display()
                );
            };
            Kind::Link {
                target: target.to_owned(),
            }
        } else if meta.is_dir() {
            Kind::Dir { mode }
        } else if meta.is_file() {
            let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            Kind::File {
                mode,
                size: bytes.len() as u64,
                blob: blob_name(&bytes),
            }
        } else {
            bail!("{} is neither a folder, a file nor a link", path.display());
        };
        entries.push(Entry {
            path: rel.to_owned(),
            kind,
        });
        if meta.is_dir() {
            walk(root, &path, entries)?;
        }
    }
    Ok(())
}

/// The index's text: one entry a line, blob URLs under `/v86/tools/`.
pub fn index_json(entries: &[Entry]) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let mut out = String::from("{\"entries\": [\n");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        let p = q(&e.path);
        let _ = match &e.kind {
            Kind::Dir { mode } => write!(out, "{{\"p\":{p},\"k\":\"d\",\"m\":{mode}}}"),
            Kind::File { mode, size, blob } => write!(
                out,
                "{{\"p\":{p},\"k\":\"f\",\"m\":{mode},\"s\":{size},\"b\":{}}}",
                q(&format!("/v86/{BLOB_DIR}/{blob}"))
            ),
            Kind::Link { target } => write!(out, "{{\"p\":{p},\"k\":\"l\",\"t\":{}}}", q(target)),
        };
    }
    out.push_str("\n]}\n");
    out
}

/// What the tree holds: files, distinct blobs and their bytes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub files: usize,
    pub blobs: usize,
    pub file_bytes: u64,
    pub blob_bytes: u64,
}

/// Copies each distinct blob of `entries` (read from `tree`) into `blobs`, skipping those already
/// there (their names are their content), and removes every other file in `blobs`.
pub fn place_blobs(tree: &Path, entries: &[Entry], blobs: &Path) -> Result<Totals> {
    fs::create_dir_all(blobs).with_context(|| format!("creating {}", blobs.display()))?;
    let mut wanted: BTreeMap<&str, (PathBuf, u64)> = BTreeMap::new();
    let mut totals = Totals::default();
    for e in entries {
        if let Kind::File { size, blob, .. } = &e.kind {
            totals.files += 1;
            totals.file_bytes += size;
            wanted.insert(blob, (tree.join(&e.path), *size));
        }
    }
    for (blob, (source, size)) in &wanted {
        totals.blobs += 1;
        totals.blob_bytes += size;
        let to = blobs.join(blob);
        if fs::metadata(&to).is_ok_and(|m| m.len() == *size) {
            continue;
        }
        fs::copy(source, &to)
            .with_context(|| format!("copying {} to {}", source.display(), to.display()))?;
    }
    for old in fs::read_dir(blobs)? {
        let old = old?;
        let name = old.file_name();
        if !wanted.contains_key(&*name.to_string_lossy()) {
            fs::remove_file(old.path())
                .with_context(|| format!("removing {}", old.path().display()))?;
        }
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn blob_names_are_hashed_for_the_kernel() {
        let name = blob_name(b"git");
        assert!(is_blob_name(&name), "{name}");
        assert_eq!(name.len(), "t-0123456789abcdef.bin".len());
        assert!(!is_blob_name("t-0123.bin"));
        assert!(!is_blob_name("bzimage-0123456789abcdef.bin"));
    }

    #[test]
    fn the_index_lists_folders_files_and_links_in_tree_order() {
        let dir = std::env::temp_dir().join(format!("xtask-tools-index-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let tree = dir.join("tree");
        fs::create_dir_all(tree.join("usr/bin")).unwrap();
        fs::create_dir_all(tree.join("usr-x")).unwrap();
        fs::write(tree.join("usr/bin/python3.11"), "py").unwrap();
        fs::write(tree.join("usr/bin/pydoc"), "py").unwrap();
        fs::set_permissions(
            tree.join("usr/bin/python3.11"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        fs::set_permissions(
            tree.join("usr/bin/pydoc"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        fs::set_permissions(tree.join("usr"), fs::Permissions::from_mode(0o755)).unwrap();
        symlink("python3.11", tree.join("usr/bin/python3")).unwrap();

        let entries = scan(&tree).unwrap();
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "usr",
                "usr/bin",
                "usr/bin/pydoc",
                "usr/bin/python3",
                "usr/bin/python3.11",
                "usr-x"
            ]
        );
        let blob = blob_name(b"py");
        let json = index_json(&entries);
        assert!(json.starts_with("{\"entries\": [\n{\"p\":\"usr\",\"k\":\"d\",\"m\":493},\n"));
        assert!(json.contains(&format!(
            "{{\"p\":\"usr/bin/python3.11\",\"k\":\"f\",\"m\":493,\"s\":2,\"b\":\"/v86/tools/{blob}\"}}"
        )));
        assert!(json.contains("{\"p\":\"usr/bin/python3\",\"k\":\"l\",\"t\":\"python3.11\"}"));
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["entries"].as_array().unwrap().len(), 6);
        assert_eq!(parsed["entries"][2]["m"], 0o644);

        // Two files with the same bytes share one blob; blobs of an earlier build go.
        let blobs = dir.join("blobs");
        fs::create_dir_all(&blobs).unwrap();
        fs::write(blobs.join("t-00000000000000aa.bin"), "old").unwrap();
        let totals = place_blobs(&tree, &entries, &blobs).unwrap();
        assert_eq!(
            totals,
            Totals {
                files: 2,
                blobs: 1,
                file_bytes: 4,
                blob_bytes: 2
            }
        );
        let names: Vec<_> = fs::read_dir(&blobs)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, std::slice::from_ref(&blob));
        assert_eq!(fs::read(blobs.join(&blob)).unwrap(), b"py");
        fs::remove_dir_all(&dir).unwrap();
    }
}
