//! The guest's tools tree, made from the `dpkg -x` of every package [`super::tools_deps`] chose:
//! one tree as a merged-`/usr` system has it, lean, with what the packages' maintainer scripts
//! would have made.
//!
//! - `/bin`, `/sbin` and `/lib` move into `usr/bin`, `usr/sbin`, `usr/lib` ([`merged`]; bookworm's
//!   packages still ship files there). Of a path shipped in both, the `/usr` one is kept.
//! - Documentation, manual pages, translations, shell completions, lintian overrides, gitweb and
//!   the certificates' sources and `update-ca-certificates` (whose bundle is made here; the guest
//!   sees the tree read-only) are dropped ([`is_dropped`]): the guest runs the tools, nobody reads
//!   their docs there, and they were a quarter of the bytes. libc's `gconv` modules (8 MiB) stay:
//!   git converts commit encodings with iconv, and they are only read when used.
//! - `etc/ssl/certs/ca-certificates.crt` is every `usr/share/ca-certificates/**/*.crt`
//!   concatenated in name order (what `update-ca-certificates` writes); `usr/lib/ssl/cert.pem` and
//!   `usr/lib/ssl/certs` point there as the `openssl` package's links do (OpenSSL's default
//!   paths, which Python's `ssl` uses).
//! - `usr/bin/python3` → `python3.11` (the `python3` package's link).
//!
//! It never reads outside the unpacked folder nor writes outside the tree.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

/// Folders (of the merged tree) not shipped, and everything under them.
pub const DROPPED: &[&str] = &[
    "usr/share/doc",
    "usr/share/doc-base",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "usr/share/bug",
    "usr/share/bash-completion",
    "usr/share/zsh",
    "usr/share/gitweb",
    "usr/share/binfmts",
    "usr/share/perl5",
    "usr/share/ca-certificates",
    "usr/lib/binfmt.d",
    "usr/sbin/update-ca-certificates",
    "etc/bash_completion.d",
    "var",
];

/// Where the certificate bundle goes in the tree.
pub const CA_BUNDLE: &str = "etc/ssl/certs/ca-certificates.crt";

/// A path of the unpacked packages → its path in the tree (`lib/x` → `usr/lib/x`).
pub fn merged(rel: &Path) -> PathBuf {
    let mut parts = rel.components();
    match parts.next() {
        Some(Component::Normal(first))
            if ["bin", "sbin", "lib"].contains(&&*first.to_string_lossy()) =>
        {
            Path::new("usr").join(first).join(parts.as_path())
        }
        _ => rel.to_path_buf(),
    }
}

/// Whether a path of the tree is left out ([`DROPPED`]).
pub fn is_dropped(rel: &Path) -> bool {
    DROPPED.iter().any(|d| rel.starts_with(d))
}

/// Moves the unpacked packages in `unpacked` into `tree` (which must not exist), merged and lean,
/// and adds the certificate bundle and the links of the module doc.
pub fn assemble(unpacked: &Path, tree: &Path) -> Result<()> {
    fs::create_dir_all(tree).with_context(|| format!("creating {}", tree.display()))?;
    move_into(unpacked, unpacked, tree)?;
    let certs = unpacked.join("usr/share/ca-certificates");
    let bundle = ca_bundle(&certs)?;
    let path = tree.join(CA_BUNDLE);
    fs::create_dir_all(path.parent().expect("the bundle is in a folder"))?;
    fs::write(&path, bundle).with_context(|| format!("writing {}", path.display()))?;
    for (link, target) in [
        ("usr/bin/python3", "python3.11"),
        ("usr/lib/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt"),
        ("usr/lib/ssl/certs", "/etc/ssl/certs"),
    ] {
        let link = tree.join(link);
        fs::create_dir_all(link.parent().expect("links are in folders"))?;
        if link.symlink_metadata().is_err() {
            symlink(target, &link).with_context(|| format!("linking {}", link.display()))?;
        }
    }
    Ok(())
}

/// Moves everything under `dir` (inside `root`) to its merged place under `tree`.
fn move_into(root: &Path, dir: &Path, tree: &Path) -> Result<()> {
    let mut entries = fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .collect::<std::io::Result<Vec<_>>>()?;
    // In name order: `usr` comes after `bin`, `lib` and `sbin`, so its copy of a path both ship wins.
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let rel = merged(path.strip_prefix(root).expect("walked from the root"));
        if is_dropped(&rel) {
            continue;
        }
        let to = tree.join(&rel);
        let meta = path.symlink_metadata()?;
        if meta.is_dir() {
            fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?;
            fs::set_permissions(&to, fs::Permissions::from_mode(meta.permissions().mode()))?;
            move_into(root, &path, tree)?;
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&path)?;
            let _ = fs::remove_file(&to);
            symlink(&target, &to).with_context(|| format!("linking {}", to.display()))?;
        } else {
            let _ = fs::remove_file(&to);
            fs::rename(&path, &to)
                .with_context(|| format!("moving {} to {}", path.display(), to.display()))?;
        }
    }
    Ok(())
}

/// The `.crt` files under `certs` (recursively), in path order, each ending in a newline.
fn ca_bundle(certs: &Path) -> Result<Vec<u8>> {
    let mut files = Vec::new();
    crts(certs, &mut files)?;
    files.sort();
    anyhow::ensure!(
        !files.is_empty(),
        "ca-certificates shipped no {}/**/*.crt: has the package changed its layout?",
        certs.display()
    );
    let mut bundle = Vec::new();
    for file in files {
        let pem = fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        bundle.extend_from_slice(&pem);
        if !pem.ends_with(b"\n") {
            bundle.push(b'\n');
        }
    }
    Ok(bundle)
}

fn crts(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            crts(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "crt") {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_sbin_and_lib_move_under_usr() {
        let m = |p: &str| merged(Path::new(p));
        assert_eq!(m("lib/ld-linux.so.2"), Path::new("usr/lib/ld-linux.so.2"));
        assert_eq!(
            m("lib/i386-linux-gnu/libc.so.6"),
            Path::new("usr/lib/i386-linux-gnu/libc.so.6")
        );
        assert_eq!(m("bin/sh"), Path::new("usr/bin/sh"));
        assert_eq!(m("sbin/ldconfig"), Path::new("usr/sbin/ldconfig"));
        assert_eq!(m("lib"), Path::new("usr/lib"));
        assert_eq!(m("usr/bin/git"), Path::new("usr/bin/git"));
        assert_eq!(m("etc/ssl"), Path::new("etc/ssl"));
        assert_eq!(m("library/x"), Path::new("library/x"));
    }

    #[test]
    fn docs_and_translations_are_dropped_and_programs_kept() {
        for p in [
            "usr/share/doc/git/copyright",
            "usr/share/locale/de/LC_MESSAGES/git.mo",
            "usr/share/man/man1/curl.1.gz",
            "var/lib/git",
        ] {
            assert!(is_dropped(Path::new(p)), "{p}");
        }
        for p in [
            "usr/bin/git",
            "usr/share/git-core/templates/description",
            "usr/lib/python3.11/os.py",
            "usr/share/documents",
        ] {
            assert!(!is_dropped(Path::new(p)), "{p}");
        }
    }

    #[test]
    fn the_tree_is_merged_with_a_bundle_and_links() {
        let dir = std::env::temp_dir().join(format!("xtask-tools-tree-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (unpacked, tree) = (dir.join("unpacked"), dir.join("tree"));
        for d in [
            "lib/i386-linux-gnu",
            "usr/bin",
            "usr/share/doc/git",
            "usr/share/ca-certificates/mozilla",
        ] {
            fs::create_dir_all(unpacked.join(d)).unwrap();
        }
        fs::write(unpacked.join("lib/i386-linux-gnu/ld-linux.so.2"), "ld").unwrap();
        symlink(
            "i386-linux-gnu/ld-linux.so.2",
            unpacked.join("lib/ld-linux.so.2"),
        )
        .unwrap();
        fs::write(unpacked.join("usr/bin/python3.11"), "py").unwrap();
        fs::write(unpacked.join("usr/share/doc/git/copyright"), "c").unwrap();
        let mozilla = unpacked.join("usr/share/ca-certificates/mozilla");
        fs::write(mozilla.join("B.crt"), "-----B-----").unwrap();
        fs::write(mozilla.join("A.crt"), "-----A-----\n").unwrap();

        assemble(&unpacked, &tree).unwrap();
        assert_eq!(
            fs::read_to_string(tree.join("usr/lib/i386-linux-gnu/ld-linux.so.2")).unwrap(),
            "ld"
        );
        assert_eq!(
            fs::read_link(tree.join("usr/lib/ld-linux.so.2")).unwrap(),
            Path::new("i386-linux-gnu/ld-linux.so.2")
        );
        assert!(!tree.join("lib").exists());
        assert!(!tree.join("usr/share/doc").exists());
        assert_eq!(
            fs::read_link(tree.join("usr/bin/python3")).unwrap(),
            Path::new("python3.11")
        );
        assert_eq!(
            fs::read_to_string(tree.join(CA_BUNDLE)).unwrap(),
            "-----A-----\n-----B-----\n"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
