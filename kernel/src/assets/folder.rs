//! The desktop read from a folder when the kernel starts (config `desktop_dir`), in place of the
//! one embedded at build time: a desktop built after the kernel (`target/dist` of another
//! checkout, or a build being tried out) is served without relinking. The files become the same
//! [`Asset`] table the build script writes, with the same content types, `immutable` names and
//! `ETag`s ([`super::kind`]), their `.br`/`.gz` siblings as precompressed variants.
//!
//! Every file is read once, at start, and kept in memory for the kernel's life (the table is
//! `'static`, like the embedded one). Nothing here runs after start-up.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::{Asset, AssetTable, kind};

/// Why a desktop folder cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error(
        "cannot read the desktop folder {path}: {source}; point `desktop_dir` at a built desktop (such as target/dist) or remove it to serve the embedded one"
    )]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "the desktop folder {0} has no index.html: point `desktop_dir` at a built desktop (`cargo xtask build` writes target/dist)"
    )]
    NoIndex(PathBuf),
}

/// Reads every file under `dir` into an asset table sorted by path.
pub fn load(dir: &Path) -> Result<AssetTable, FolderError> {
    let mut files = BTreeMap::new();
    collect(dir, dir, &mut files)?;
    if !files.contains_key("/index.html") {
        return Err(FolderError::NoIndex(dir.to_owned()));
    }
    let variants: Vec<String> = files
        .keys()
        .filter(|url| {
            (url.ends_with(".br") || url.ends_with(".gz"))
                && files.contains_key(&url[..url.len() - 3])
        })
        .cloned()
        .collect();
    let mut compressed = BTreeMap::new();
    for url in variants {
        let bytes = files.remove(&url).expect("listed above");
        compressed.insert(url, bytes);
    }
    let mut table = Vec::with_capacity(files.len());
    for (url, body) in files {
        let name = url.rsplit('/').next().unwrap_or("");
        let mut variant = |ext: &str| compressed.remove(&format!("{url}.{ext}")).map(leak);
        table.push(Asset {
            brotli: variant("br"),
            gzip: variant("gz"),
            content_type: kind::content_type(name),
            immutable: kind::is_hashed(name),
            etag: Box::leak(kind::etag(&body).into_boxed_str()),
            body: leak(body),
            path: Box::leak(url.into_boxed_str()),
        });
    }
    Ok(Box::leak(table.into_boxed_slice()))
}

fn leak(bytes: Vec<u8>) -> &'static [u8] {
    Box::leak(bytes.into_boxed_slice())
}

/// Reads the files under `dir` (recursively) by their URL path: `/` and the path from `root`.
fn collect(
    root: &Path,
    dir: &Path,
    files: &mut BTreeMap<String, Vec<u8>>,
) -> Result<(), FolderError> {
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source| FolderError::Read { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(read_error(dir))? {
        let path = entry.map_err(read_error(dir))?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
            continue;
        }
        let relative = path.strip_prefix(root).expect("walked from root");
        let url = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let bytes = std::fs::read(&path).map_err(read_error(&path))?;
        files.insert(format!("/{url}"), bytes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            let dir = std::env::temp_dir().join(format!(
                "aether-desktop-folder-{:032x}",
                rand::random::<u128>()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_folder_becomes_a_sorted_table_with_compressed_siblings_attached() {
        let dir = TempDir::new();
        let root = dir.path();
        std::fs::create_dir_all(root.join("icons")).unwrap();
        std::fs::write(root.join("index.html"), "<!doctype html>").unwrap();
        std::fs::write(root.join("app-0123456789abcdef.js"), "js").unwrap();
        std::fs::write(root.join("app-0123456789abcdef.js.br"), "BR").unwrap();
        std::fs::write(root.join("manifest.webmanifest"), "{}").unwrap();
        std::fs::write(root.join("icons").join("icon-192.png"), "png").unwrap();

        let table = load(root).unwrap();
        let paths: Vec<&str> = table.iter().map(|a| a.path).collect();
        assert_eq!(
            paths,
            [
                "/app-0123456789abcdef.js",
                "/icons/icon-192.png",
                "/index.html",
                "/manifest.webmanifest"
            ]
        );
        let js = &table[0];
        assert_eq!(js.body, b"js");
        assert_eq!(js.brotli, Some(&b"BR"[..]));
        assert_eq!(js.gzip, None);
        assert!(js.immutable);
        assert_eq!(js.etag, kind::etag(b"js"));
        assert_eq!(table[3].content_type, "application/manifest+json");
        assert!(!table[2].immutable);
    }

    #[test]
    fn a_folder_without_index_html_or_that_cannot_be_read_is_refused() {
        let dir = TempDir::new();
        assert!(matches!(load(dir.path()), Err(FolderError::NoIndex(_))));
        let missing = dir.path().join("missing");
        let error = load(&missing).unwrap_err();
        assert!(matches!(error, FolderError::Read { .. }));
        assert!(error.to_string().contains("desktop_dir"), "{error}");
    }
}
