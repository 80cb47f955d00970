//! The guest's tools (git, python3, curl and the CA certificates): which packages
//! ([`super::tools_deps`]), the tree made of them ([`super::tools_tree`], kept in the guest cache
//! as `target/guest-image/tools/`), and its placing as content-named blobs and an index
//! ([`super::tools_index`]) that the desktop serves to the guest over 9p. The initramfs links
//! into it ([`super::tools_links`]).
//!
//! Only apt and dpkg are run here (`apt-cache depends`, `apt-get download`, `dpkg -x`); placing
//! writes only `target/stage/v86/tools/` and the index beside it.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::tools_deps::{self, APT_CACHE_ARGS, LEFT_OUT, ROOTS};
use super::tools_index::{self, BLOB_DIR};
use super::tools_tree;
use crate::precompress::size;
use crate::proc::{cmd, probe, run};

/// The packages of the tree: [`ROOTS`] and their dependencies, `:i386` or architecture `all`.
pub fn packages() -> Result<Vec<String>> {
    let out = probe(cmd("apt-cache").args(APT_CACHE_ARGS).args(ROOTS))
        .context("apt-cache depends failed for the guest's tools")?;
    let chosen = tools_deps::closure(&tools_deps::parse_graph(&out), ROOTS, LEFT_OUT);
    // An unqualified name is the host's architecture unless the package is `all`: check the ones
    // the roots do not vouch for (none, with today's LEFT_OUT).
    let unsure: Vec<&String> = chosen
        .iter()
        .filter(|p| !p.contains(':') && !ROOTS.contains(&p.as_str()))
        .collect();
    if !unsure.is_empty() {
        let shown = probe(
            cmd("apt-cache")
                .args(["show", "--no-all-versions"])
                .args(&unsure),
        )
        .context("apt-cache show failed")?;
        let archs = tools_deps::parse_architectures(&shown);
        let native: Vec<&&String> = unsure
            .iter()
            .filter(|p| archs.get(p.as_str()).is_none_or(|a| a != "all"))
            .collect();
        if !native.is_empty() {
            bail!(
                "the guest's tools would need {native:?}, packages of the host's architecture: add them to LEFT_OUT in xtask/src/guest_image/tools_deps.rs if the tools run without them"
            );
        }
    }
    Ok(chosen)
}

/// Bump when the tree's recipe changes in a way the package versions cannot show.
const RECIPE: &str = "aether-tools-1";

/// The tree at `tree`, rebuilt (with `work` as scratch space) only when the package versions
/// (`versions`, those of the whole guest) or [`RECIPE`] changed since it was made: a new `/init`
/// rebuilds the initramfs, not this. Its key is kept beside it, in `<tree>.key`.
pub fn cached_tree(tree: &Path, versions: &str, work: &Path) -> Result<()> {
    let stamp = tree.with_extension("key");
    let key = super::hex_sha256(format!("{RECIPE}\n{versions}").as_bytes());
    if tree.join("usr/bin/git").is_file() && fs::read_to_string(&stamp).is_ok_and(|k| k == key) {
        println!("    tools tree up to date (target/guest-image/tools)");
        return Ok(());
    }
    let _ = fs::remove_file(&stamp);
    let packages = packages()?;
    println!(
        "    tools: {} packages: {}",
        packages.len(),
        packages.join(" ")
    );
    build(&packages, work, tree)?;
    fs::write(&stamp, key).with_context(|| format!("writing {}", stamp.display()))
}

/// Downloads `packages` into `work`, unpacks them and assembles the tree at `tree` (replaced).
fn build(packages: &[String], work: &Path, tree: &Path) -> Result<()> {
    let debs = work.join("tools-debs");
    fs::create_dir_all(&debs)?;
    run(cmd("apt-get")
        .arg("download")
        .args(packages)
        .current_dir(&debs))?;
    let unpacked = work.join("tools-root");
    for deb in fs::read_dir(&debs)? {
        let deb = deb?.path();
        if deb.extension().is_some_and(|e| e == "deb") {
            run(cmd("dpkg").arg("-x").arg(&deb).arg(&unpacked))?;
        }
    }
    if tree.exists() {
        fs::remove_dir_all(tree).with_context(|| format!("emptying {}", tree.display()))?;
    }
    tools_tree::assemble(&unpacked, tree)
}

/// Places the tree's blobs in `out/tools/` and its index in `out`; returns the index's file name.
pub fn place(tree: &Path, out: &Path) -> Result<String> {
    let entries = tools_index::scan(tree)?;
    let totals = tools_index::place_blobs(tree, &entries, &out.join(BLOB_DIR))?;
    let json = tools_index::index_json(&entries);
    let name = format!("tools-{}.json", &super::hex_sha256(json.as_bytes())[..16]);
    fs::write(out.join(&name), json).with_context(|| format!("writing {name}"))?;
    println!(
        "    tools: {} paths, {} files ({}), {} distinct blobs ({}) in target/stage/v86/{BLOB_DIR}",
        entries.len(),
        totals.files,
        size(totals.file_bytes),
        totals.blobs,
        size(totals.blob_bytes)
    );
    Ok(name)
}
