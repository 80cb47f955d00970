//! Export and import of a whole VFS as a `.zip` (the `zip` crate, deflate in pure Rust).
//!
//! Export writes every folder (as `name/`, so empty folders survive) and every file, bytes
//! exact. Import reads any zip: each name becomes a normalized absolute path; a name that breaks
//! the path rules, or an archive that would unpack past [`MAX_IMPORT_BYTES`], is refused whole.
//! Modification times are not carried (imported entries get the time of the import). This
//! module is pure: no store, no browser.

use std::io::{Cursor, Read, Write};

use aether_shared::vfs::{EntryKind, normalize};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::error::VfsError;
use super::ops::{NewEntry, StoredEntry};

/// The most an import may unpack to, in bytes (guards against zip bombs).
pub const MAX_IMPORT_BYTES: u64 = 1 << 30;

/// The name the browser downloads an export as.
pub const EXPORT_FILE_NAME: &str = "aether-files.zip";

/// Zips `entries` (folders with `None`, files with their bytes).
pub fn export(entries: &[StoredEntry]) -> Result<Vec<u8>, VfsError> {
    let failed = |e: &dyn std::fmt::Display| VfsError::Store(format!("cannot build the zip: {e}"));
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(false);
    for (entry, content) in entries {
        let name = entry.path.trim_start_matches('/');
        match entry.kind {
            EntryKind::Dir => zip
                .add_directory(format!("{name}/"), options)
                .map_err(|e| failed(&e))?,
            EntryKind::File => {
                let bytes = content.as_deref().unwrap_or_default();
                let options = options.large_file(bytes.len() as u64 >= u32::MAX as u64);
                zip.start_file(name, options).map_err(|e| failed(&e))?;
                zip.write_all(bytes).map_err(|e| failed(&e))?;
            }
        }
    }
    Ok(zip.finish().map_err(|e| failed(&e))?.into_inner())
}

/// Unzips `bytes` into (path, `None` for a folder or `Some(bytes)` for a file), in archive order.
pub fn import(bytes: &[u8]) -> Result<Vec<NewEntry>, VfsError> {
    let bad = |why: String| VfsError::BadArchive(why);
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad(e.to_string()))?;
    let mut total: u64 = 0;
    let mut out = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(|e| bad(e.to_string()))?;
        let name = file.name().to_owned();
        let path = normalize(&format!("/{name}"))
            .map_err(|e| bad(format!("the entry `{name}` has a bad path: {e}")))?;
        if file.is_dir() {
            out.push((path, None));
            continue;
        }
        total = total.saturating_add(file.size());
        if total > MAX_IMPORT_BYTES {
            return Err(bad(format!(
                "it unpacks to more than {MAX_IMPORT_BYTES} bytes"
            )));
        }
        let mut content = Vec::with_capacity(file.size() as usize);
        file.read_to_end(&mut content)
            .map_err(|e| bad(format!("the entry `{name}` is damaged: {e}")))?;
        out.push((path, Some(content)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::vfs::Entry;

    fn entry(path: &str, kind: EntryKind, size: u64) -> Entry {
        Entry {
            name: path.rsplit('/').next().unwrap().to_owned(),
            path: path.to_owned(),
            kind,
            size,
            mtime: 1,
        }
    }

    #[test]
    fn export_then_import_restores_the_tree_bytes_exact() {
        let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let tree = vec![
            (entry("/empty", EntryKind::Dir, 0), None),
            (entry("/src", EntryKind::Dir, 0), None),
            (
                entry("/src/main.wat", EntryKind::File, 6),
                Some(b"(module)".to_vec()),
            ),
            (
                entry("/src/blob.bin", EntryKind::File, 70_000),
                Some(binary.clone()),
            ),
            (entry("/ünï cödé.txt", EntryKind::File, 0), Some(Vec::new())),
        ];
        let zip = export(&tree).unwrap();
        let back = import(&zip).unwrap();
        let expected: Vec<(String, Option<Vec<u8>>)> =
            tree.into_iter().map(|(e, c)| (e.path, c)).collect();
        assert_eq!(back, expected);
    }

    #[test]
    fn archives_with_paths_outside_the_root_are_refused() {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("../evil", SimpleFileOptions::default())
            .unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let err = import(&bytes).unwrap_err();
        assert!(matches!(err, VfsError::BadArchive(_)), "{err}");
        assert!(import(b"not a zip").is_err());
    }
}
