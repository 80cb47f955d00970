//! The x86 machine the desktop boots with v86 (and the Terminal's xterm.js): assembled from the package registries and placed
//! under `target/stage/v86/` with content-hashed names and a `manifest.json` naming them.
//!
//! - v86 itself (`libv86.js`, `v86.wasm`) from its npm package in `vendor/` (`npm ci` when missing);
//! - the BIOS images from Debian's `seabios` package;
//! - a 32-bit Linux kernel from Debian's i386 archive (the package `linux-image-686:i386` depends
//!   on), fetched with `apt-get download` after `dpkg --add-architecture i386`, unpacked with
//!   `dpkg -x`: only its `vmlinuz` ships, its XZ payload unpacked here ([`flat_kernel`]) so the
//!   guest does not spend seconds of every boot decompressing itself;
//! - an initramfs (newc cpio, written here with the `cpio` crate, so no system `cpio` is
//!   needed; left uncompressed: inflating it cost the guest 60 million instructions) holding
//!   Debian's `busybox-static:i386`, the kernel's virtio 9p modules ([`MODULES`], so the guest
//!   can mount the tab's files), an `/etc/fstab`, [`INIT`] and links into the tools tree;
//! - the tools tree ([`tools`]): git, python3, curl and the CA certificates from Debian's i386
//!   packages, placed as content-named blobs in `tools/` and an index `tools-<hash>.json` (the
//!   manifest's `tools`), which the desktop serves to the guest over 9p at `/mnt/host/tools`.
//!
//! The Debian part is cached in `target/guest-image/` under a key made of this recipe and the
//! package versions apt would pick; an unchanged key skips apt entirely. The tools tree keeps its
//! own key beside it (the versions and its recipe), so a new `/init` does not rebuild it.
//! Copying into `dist` happens on every build because Trunk empties `dist`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::build::stage_dir;
use crate::proc::{self, announce, cmd, probe, run};

mod cmdline;
mod flat_kernel;
mod initramfs;
mod load_order;
mod tools;
mod tools_deps;
mod tools_index;
mod tools_links;
mod tools_tree;

pub use cmdline::cmdline;
pub use tools_index::{BLOB_DIR, is_blob_name};

/// The guest's `/init`: mounts proc/sys/devtmpfs and the tab's files, keeps a shell on the serial
/// console.
pub const INIT: &str = include_str!("guest_image/init.sh");
/// What `/init` prints once the shell is about to start (the desktop waits for it).
pub const READY_MARKER: &str = "aether: guest ready";
/// The kernel modules that share the tab's files over virtio 9p, and the network card's, from the
/// kernel package's `lib/modules/<version>/kernel/`; `/init` loads the 9p ones with one busybox
/// `modprobe -a` (one process: each program started costs the guest about 0.1 s), the network
/// card's with another in the background, in the order [`load_order`] works out from their own
/// dependencies (written to `/lib/modules/order`).
const MODULES: &[&str] = &[
    "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko",
    "drivers/virtio/virtio_pci.ko",
    "net/9p/9pnet.ko",
    "net/9p/9pnet_virtio.ko",
    "fs/netfs/netfs.ko",
    "fs/fscache/fscache.ko",
    "fs/9p/9p.ko",
    // The network card: v86's NE2000 (its default, so saved states keep their hardware). /init
    // loads these two in the background, after the shell started.
    "drivers/net/ethernet/8390/8390.ko",
    "drivers/net/ethernet/8390/ne2k-pci.ko",
];
/// A kernel module: its file name and bytes.
type Module = (String, Vec<u8>);
/// Bump when the recipe changes in a way the key below cannot see.
const RECIPE: &str = "aether-guest-10";

/// The Debian packages the guest is made of.
const KERNEL_META: &str = "linux-image-686:i386";
const BUSYBOX: &str = "busybox-static:i386";
const SEABIOS: &str = "seabios";

/// Assembles the guest (cached) and places it, v86 and the worker into `target/stage/v86/`.
pub fn place() -> Result<()> {
    crate::tools::vendor_packages()?;
    let cache = guest_cache()?;
    let out = stage_dir().join("v86");
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let modules = proc::root().join("vendor/node_modules");
    let v86 = modules.join("v86/build");
    let xterm = modules.join("@xterm");
    let worker = proc::root().join("desktop/src/services/v86/worker.js");
    let entries = [
        ("worker", worker, "worker", "js"),
        ("libv86", v86.join("libv86.js"), "libv86", "js"),
        ("wasm", v86.join("v86.wasm"), "v86", "wasm"),
        ("bios", cache.join("bios.bin"), "seabios", "bin"),
        ("bzimage", cache.join("bzimage.bin"), "bzimage", "bin"),
        ("initrd", cache.join("initrd.img"), "initrd", "img"),
        ("xterm_js", xterm.join("xterm/lib/xterm.js"), "xterm", "js"),
        (
            "xterm_css",
            xterm.join("xterm/css/xterm.css"),
            "xterm",
            "css",
        ),
        (
            "fit_js",
            xterm.join("addon-fit/lib/addon-fit.js"),
            "addon-fit",
            "js",
        ),
    ];
    let mut manifest = serde_json::Map::new();
    let mut placed = vec!["manifest.json".to_owned()];
    for (key, source, stem, ext) in entries {
        let bytes = fs::read(&source).with_context(|| format!("reading {}", source.display()))?;
        let name = format!("{stem}-{}.{ext}", &hex_sha256(&bytes)[..16]);
        fs::write(out.join(&name), &bytes).with_context(|| format!("writing {name}"))?;
        manifest.insert(key.into(), format!("/v86/{name}").into());
        placed.push(name);
    }
    let index = tools::place(&cache.join("tools"), &out)?;
    manifest.insert("tools".into(), format!("/v86/{index}").into());
    placed.push(index);
    // Earlier builds' files (other hashes) would otherwise be embedded in the kernel too; the
    // tools' folder is kept clean by `tools::place`.
    placed.push(tools_index::BLOB_DIR.to_owned());
    for old in fs::read_dir(&out)? {
        let old = old?;
        if !placed.iter().any(|p| old.file_name() == p.as_str()) {
            fs::remove_file(old.path())
                .with_context(|| format!("removing {}", old.path().display()))?;
        }
    }
    manifest.insert("cmdline".into(), cmdline().into());
    manifest.insert("ready_marker".into(), READY_MARKER.into());
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(manifest))?;
    fs::write(out.join("manifest.json"), text).context("writing v86/manifest.json")?;
    println!("    placed the x86 guest and v86 in target/stage/v86");
    Ok(())
}

/// The Debian part of the guest, rebuilt only when its key changed. Returns its folder.
fn guest_cache() -> Result<PathBuf> {
    let dir = proc::root().join("target").join("guest-image");
    let outputs = ["bios.bin", "vgabios.bin", "bzimage.bin", "initrd.img"];
    let have_outputs =
        outputs.iter().all(|f| dir.join(f).is_file()) && dir.join("tools/usr/bin/git").is_file();
    let stamp = dir.join("key");
    // Versions are known without the network only once the i386 archive is configured.
    let versions = i386_configured()
        .then(|| candidate_versions().ok())
        .flatten();
    let key = cache_key(versions.as_deref());
    let cached = fs::read_to_string(&stamp).ok();
    let fresh = match (&versions, &cached) {
        (Some(_), Some(old)) => *old == key,
        // Without local package lists any earlier build is good enough.
        (None, Some(_)) => true,
        _ => false,
    };
    if fresh && have_outputs {
        println!("    x86 guest image up to date (target/guest-image)");
        return Ok(dir);
    }
    announce(
        "assembling the x86 guest from Debian packages (kernel, busybox, seabios, the tools tree)",
    );
    ensure_i386()?;
    let versions = candidate_versions()?;
    let work = dir.join("debs");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("emptying {}", work.display()))?;
    }
    fs::create_dir_all(&work)?;
    let kernel = kernel_package()?;
    run(cmd("apt-get")
        .args(["download", &kernel, BUSYBOX, SEABIOS])
        .current_dir(&work))?;
    let root = work.join("root");
    for deb in fs::read_dir(&work)? {
        let deb = deb?.path();
        if deb.extension().is_some_and(|e| e == "deb") {
            run(cmd("dpkg").arg("-x").arg(&deb).arg(&root))?;
        }
    }
    let vmlinuz = find_vmlinuz(&root.join("boot"))?;
    let bzimage = fs::read(&vmlinuz).with_context(|| format!("reading {}", vmlinuz.display()))?;
    let flat = flat_kernel::flatten(&bzimage, |payload| flat_kernel::unxz(payload, &work))?;
    fs::write(dir.join("bzimage.bin"), flat)?;
    let seabios = root.join("usr/share/seabios");
    fs::copy(seabios.join("bios.bin"), dir.join("bios.bin"))?;
    fs::copy(seabios.join("vgabios-stdvga.bin"), dir.join("vgabios.bin"))?;
    let busybox =
        fs::read(root.join("bin/busybox")).context("busybox-static has no bin/busybox")?;
    let (version, modules) = kernel_modules(&root.join("lib/modules"))?;
    let tree = dir.join("tools");
    tools::cached_tree(&tree, &versions, &work)?;
    let taken: Vec<&str> = initramfs::DIRS
        .iter()
        .chain(initramfs::FILES)
        .copied()
        .collect();
    let links = tools_links::links(&tools_index::scan(&tree)?, &taken);
    fs::write(
        dir.join("initrd.img"),
        initramfs::build(&busybox, &version, &modules, &links)?,
    )?;
    fs::remove_dir_all(&work)?;
    fs::write(&stamp, cache_key(Some(&versions)))?;
    for f in outputs {
        let len = fs::metadata(dir.join(f))?.len();
        println!("    {f}: {}", crate::precompress::size(len));
    }
    Ok(dir)
}

/// The command line is not part of it: it goes to the manifest, not into the cached files.
fn cache_key(versions: Option<&str>) -> String {
    let text = format!("{RECIPE}\n{INIT}\n{}", versions.unwrap_or("?"));
    hex_sha256(text.as_bytes())
}

fn i386_configured() -> bool {
    probe(cmd("dpkg").arg("--print-foreign-architectures"))
        .is_some_and(|archs| archs.lines().any(|a| a.trim() == "i386"))
}

/// Adds the i386 architecture and refreshes the package lists (as root).
fn ensure_i386() -> Result<()> {
    if i386_configured() && kernel_package().is_ok() {
        return Ok(());
    }
    if !proc::is_root() {
        bail!(
            "the x86 guest needs Debian's i386 packages: run as root `dpkg --add-architecture i386 && apt-get update`"
        );
    }
    run(cmd("dpkg").args(["--add-architecture", "i386"]))?;
    // A mirror mid-sync can fail one index; the packages we need may still resolve.
    if let Err(e) = run(cmd("apt-get")
        .arg("update")
        .env("DEBIAN_FRONTEND", "noninteractive"))
    {
        println!(
            "    warning: apt-get update reported a problem ({e:#}); trying the download anyway"
        );
    }
    Ok(())
}

/// The exact kernel package `linux-image-686:i386` depends on (e.g. `linux-image-6.1.0-50-686:i386`).
fn kernel_package() -> Result<String> {
    let out = probe(cmd("apt-cache").args(["depends", KERNEL_META]))
        .with_context(|| format!("apt-cache knows no {KERNEL_META}"))?;
    parse_depends(&out).with_context(|| format!("{KERNEL_META} depends on no linux-image package"))
}

fn parse_depends(out: &str) -> Option<String> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|p| p.starts_with("linux-image-"))
        .map(str::to_owned)
}

/// `name=version` of each package apt would download (the tools' too), one a line.
fn candidate_versions() -> Result<String> {
    let kernel = kernel_package()?;
    let tools = tools::packages()?;
    let out = probe(
        cmd("apt-cache")
            .args(["policy", &kernel, BUSYBOX, SEABIOS])
            .args(&tools),
    )
    .context("apt-cache policy failed")?;
    Ok(out
        .lines()
        .filter(|l| !l.starts_with(' ') || l.trim_start().starts_with("Candidate:"))
        .collect::<Vec<_>>()
        .join("\n"))
}

fn find_vmlinuz(boot: &Path) -> Result<PathBuf> {
    fs::read_dir(boot)
        .with_context(|| format!("the kernel package has no {}", boot.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz"))
        })
        .context("the kernel package has no boot/vmlinuz-*")
}

/// The kernel's version (its `lib/modules/<version>` folder) and the [`MODULES`] of the
/// unpacked kernel package, as `(file name, bytes)`.
fn kernel_modules(lib_modules: &Path) -> Result<(String, Vec<Module>)> {
    let version = fs::read_dir(lib_modules)
        .with_context(|| format!("the kernel package has no {}", lib_modules.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.is_dir())
        .context("the kernel package has no lib/modules/<version>")?;
    let modules = MODULES
        .iter()
        .map(|rel| {
            let path = version.join("kernel").join(rel);
            let name = rel.rsplit('/').next().unwrap_or(rel).to_owned();
            let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok((name, strip_signature(bytes)))
        })
        .collect::<Result<Vec<_>>>()?;
    let name = version
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .context("lib/modules/<version> has no name")?;
    Ok((name, load_order::sort(modules)?))
}

/// The marker at the end of a signed kernel module.
const SIGNATURE_MAGIC: &[u8] = b"~Module signature appended~\n";

/// A module without its appended signature: checking an RSA signature under emulation costs
/// seconds of boot, and the kernel does not require signatures (`MODULE_SIG_FORCE` is off).
/// The layout is `module | signature | struct module_signature (12 bytes, the signature's
/// length big-endian in its last 4) | magic`; anything else is returned unchanged.
fn strip_signature(mut module: Vec<u8>) -> Vec<u8> {
    let Some(body) = module.len().checked_sub(SIGNATURE_MAGIC.len() + 12) else {
        return module;
    };
    if !module.ends_with(SIGNATURE_MAGIC) {
        return module;
    }
    let len = &module[body + 8..body + 12];
    let sig_len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if let Some(end) = body.checked_sub(sig_len) {
        module.truncate(end);
    }
    module
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_package_is_read_from_apt_cache_depends() {
        let out = "linux-image-686:i386\n  Depends: linux-image-6.1.0-50-686:i386\n";
        assert_eq!(
            parse_depends(out).as_deref(),
            Some("linux-image-6.1.0-50-686:i386")
        );
        assert_eq!(parse_depends("x\n  Recommends: y\n"), None);
    }

    #[test]
    fn module_signatures_are_stripped_and_unsigned_modules_kept() {
        let mut signed = b"\x7fELF-module".to_vec();
        signed.extend_from_slice(b"SIG");
        signed.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
        signed.extend_from_slice(SIGNATURE_MAGIC);
        assert_eq!(strip_signature(signed), b"\x7fELF-module");
        assert_eq!(strip_signature(b"\x7fELF".to_vec()), b"\x7fELF");
        let mut lying = b"x".to_vec();
        lying.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200]);
        lying.extend_from_slice(SIGNATURE_MAGIC);
        assert_eq!(strip_signature(lying.clone()), lying);
    }

    #[test]
    fn the_cache_key_follows_the_package_versions() {
        assert_ne!(cache_key(Some("a 1")), cache_key(Some("a 2")));
        assert_eq!(cache_key(Some("a 1")), cache_key(Some("a 1")));
    }
}
