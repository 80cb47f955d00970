//! The guest's initramfs: an uncompressed newc cpio (written with the `cpio` crate, so no
//! system `cpio` is needed) of busybox, the 9p and network kernel modules, `/etc/fstab`, udhcpc's
//! script, `/init`, `/mnt/files` (a link to the tab's files in the 9p share at `/mnt/host`) and
//! the links into the tools tree the desktop serves there ([`super::tools_links`]). Left uncompressed: inflating it cost the guest 60 million
//! instructions of every boot.

use std::io::Write as _;

use anyhow::Result;

use super::INIT;

/// What `/init`'s one `mount -a` mounts (the 9p share waits for its modules).
pub const FSTAB: &str = "\
proc /proc proc defaults 0 0
sysfs /sys sysfs defaults 0 0
devtmpfs /dev devtmpfs defaults 0 0
tmpfs /tmp tmpfs defaults 0 0
";

/// What busybox `udhcpc` runs on each DHCP event (Debian's busybox looks for it at
/// `/etc/udhcpc/default.script`): the lease on the interface, the default route and
/// `/etc/resolv.conf` (v86 hands out 192.168.86.100, gateway and DNS 192.168.86.1). Two programs
/// (`ifconfig`, `route`); the rest are builtins. Changing it needs a new `RECIPE`.
pub const UDHCPC_SCRIPT: &str = r#"#!/bin/busybox sh
case "$1" in
  deconfig) ifconfig "$interface" 0.0.0.0 up ;;
  bound | renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
    for r in $router; do
      route add default gw "$r" dev "$interface" 2>/dev/null
      break
    done
    conf=
    for d in $dns; do conf="${conf}nameserver $d
"; done
    printf '%s' "$conf" > /etc/resolv.conf
    ;;
esac
"#;

/// The folders of the archive, parents first.
pub const DIRS: &[&str] = &[
    "bin",
    "sbin",
    "usr",
    "usr/bin",
    "usr/sbin",
    "usr/lib",
    "usr/share",
    "proc",
    "sys",
    "dev",
    "tmp",
    "root",
    "etc",
    "etc/udhcpc",
    "mnt",
    "mnt/host",
    "lib",
    "lib/modules",
];

/// The desktop's 9p share (`/mnt/host`) holds the tab's files in `files/`; `/mnt/files` is where
/// the guest's users find them.
pub const FILES_LINK: (&str, &str) = ("mnt/files", "host/files");

/// The files of the archive but the kernel modules (under `lib/modules/<version>/`), and its own
/// links.
pub const FILES: &[&str] = &[
    FILES_LINK.0,
    "bin/busybox",
    "lib/modules/order",
    "etc/fstab",
    "etc/udhcpc/default.script",
    "init",
];

/// The archive: the directories, busybox, the kernel modules of kernel `version` (in
/// `lib/modules/<version>/` with a `modules.dep` for busybox `modprobe`, in load order in
/// `lib/modules/order`), `/etc/fstab`, `/init` and the `(path, target)` symlinks in `links`.
pub fn build(
    busybox: &[u8],
    version: &str,
    modules: &[(String, Vec<u8>)],
    links: &[(String, String)],
) -> Result<Vec<u8>> {
    const DIR: u32 = 0o040_755;
    const EXEC: u32 = 0o100_755;
    let mut cpio = Vec::new();
    let mut ino = 1;
    let mut entry = |cpio: Vec<u8>, name: &str, mode: u32, body: &[u8]| -> Result<Vec<u8>> {
        ino += 1;
        let mut w = cpio::newc::Builder::new(name)
            .ino(ino)
            .mode(mode)
            .nlink(if mode == DIR { 2 } else { 1 })
            .write(cpio, u32::try_from(body.len())?);
        w.write_all(body)?;
        Ok(w.finish()?)
    };
    const FILE: u32 = 0o100_644;
    const LINK: u32 = 0o120_777;
    for d in DIRS {
        cpio = entry(cpio, d, DIR, &[])?;
    }
    cpio = entry(cpio, FILES_LINK.0, LINK, FILES_LINK.1.as_bytes())?;
    for (path, target) in links {
        cpio = entry(cpio, path, LINK, target.as_bytes())?;
    }
    let module_dir = format!("lib/modules/{version}");
    cpio = entry(cpio, &module_dir, DIR, &[])?;
    cpio = entry(cpio, "bin/busybox", EXEC, busybox)?;
    // modules.dep names no dependencies: `modprobe -a` is given them all in load order.
    let (mut order, mut dep) = (String::new(), String::new());
    for (name, bytes) in modules {
        cpio = entry(cpio, &format!("{module_dir}/{name}"), FILE, bytes)?;
        order.push_str(name.trim_end_matches(".ko"));
        order.push('\n');
        dep.push_str(name);
        dep.push_str(":\n");
    }
    cpio = entry(
        cpio,
        &format!("{module_dir}/modules.dep"),
        FILE,
        dep.as_bytes(),
    )?;
    cpio = entry(cpio, "lib/modules/order", FILE, order.as_bytes())?;
    cpio = entry(cpio, "etc/fstab", FILE, FSTAB.as_bytes())?;
    cpio = entry(
        cpio,
        "etc/udhcpc/default.script",
        EXEC,
        UDHCPC_SCRIPT.as_bytes(),
    )?;
    cpio = entry(cpio, "init", EXEC, INIT.as_bytes())?;
    Ok(cpio::newc::trailer(cpio)?)
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::super::READY_MARKER;
    use super::*;

    #[test]
    fn the_initramfs_holds_busybox_and_an_executable_init() {
        let modules = vec![("9p.ko".to_owned(), b"\x7fELF-9p".to_vec())];
        let links = vec![(
            "lib/ld-linux.so.2".to_owned(),
            "/mnt/host/tools/usr/lib/i386-linux-gnu/ld-linux.so.2".to_owned(),
        )];
        let cpio = build(b"\x7fELF-busybox", "6.1.0-9-686", &modules, &links).unwrap();
        let mut reader = &cpio[..];
        let mut seen = Vec::new();
        loop {
            let entry = cpio::NewcReader::new(reader).unwrap();
            if entry.entry().is_trailer() {
                break;
            }
            let (name, mode) = (entry.entry().name().to_owned(), entry.entry().mode());
            let mut body = Vec::new();
            let mut entry = entry;
            entry.read_to_end(&mut body).unwrap();
            seen.push((name.clone(), mode));
            if name == "mnt/files" {
                assert_eq!(body, b"host/files");
            }
            if name == "lib/ld-linux.so.2" {
                assert_eq!(
                    body,
                    b"/mnt/host/tools/usr/lib/i386-linux-gnu/ld-linux.so.2"
                );
            }
            if name == "init" {
                assert_eq!(mode, 0o100_755);
                assert!(body.starts_with(b"#!/bin/busybox sh"));
                assert!(String::from_utf8(body).unwrap().contains(READY_MARKER));
            }
            reader = entry.finish().unwrap();
        }
        assert!(seen.iter().any(|(n, _)| n == "bin/busybox"));
        assert!(
            seen.iter()
                .any(|(n, _)| n == "lib/modules/6.1.0-9-686/9p.ko")
        );
        assert!(
            seen.iter()
                .any(|(n, _)| n == "lib/modules/6.1.0-9-686/modules.dep")
        );
        assert!(seen.iter().any(|(n, _)| n == "etc/fstab"));
        assert!(
            seen.iter()
                .any(|(n, m)| n == "etc/udhcpc/default.script" && *m == 0o100_755)
        );
        assert!(
            seen.iter()
                .any(|(n, m)| n == "mnt/files" && *m == 0o120_777)
        );
        assert!(seen.iter().any(|(n, m)| n == "dev" && *m == 0o040_755));
        assert!(
            seen.iter()
                .any(|(n, m)| n == "lib/ld-linux.so.2" && *m == 0o120_777)
        );
    }
}
