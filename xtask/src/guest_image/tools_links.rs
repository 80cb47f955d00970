//! The initramfs's links into the tools tree, which the desktop serves read-only over 9p at
//! [`TOOLS_MOUNT`]: Debian's binaries look for their loader, libraries and data at fixed paths
//! (`/lib/ld-linux.so.2`, `/usr/lib/i386-linux-gnu`, `/usr/lib/git-core`, `/etc/ssl`, …), so each of
//! those paths is a link to the tree's. Worked out from the tree's index, not listed by hand:
//!
//! - `/lib/<name>` for the loader (`ld-linux*`, to the file it names) and the multiarch folder;
//! - `/usr/lib/<name>`, `/usr/share/<name>` and `/etc/<name>` for each thing the tree has there;
//! - `/usr/bin/<name>` and `/usr/sbin/<name>` for each program (busybox's `--install -s` in `/init`
//!   keeps an existing link, and no program here is named like a busybox applet, so `wget` & co.
//!   stay busybox's).
//!
//! A path the initramfs already has (given as `taken`) gets no link.

use std::collections::BTreeMap;

use super::tools_index::{Entry, Kind};

/// Where the guest sees the tools tree.
pub const TOOLS_MOUNT: &str = "/mnt/host/tools";

/// The multiarch folder of the i386 libraries.
const MULTIARCH: &str = "i386-linux-gnu";

/// `(link, target)` pairs, link paths relative to the initramfs root, targets absolute; sorted.
pub fn links(entries: &[Entry], taken: &[&str]) -> Vec<(String, String)> {
    let by_path: BTreeMap<&str, &Kind> =
        entries.iter().map(|e| (e.path.as_str(), &e.kind)).collect();
    let mut out = BTreeMap::new();
    for e in entries {
        let Some((parent, name)) = e.path.rsplit_once('/') else {
            continue;
        };
        let target = format!("{TOOLS_MOUNT}/{}", e.path);
        match parent {
            "usr/bin" | "usr/sbin" if !matches!(e.kind, Kind::Dir { .. }) => {
                out.insert(e.path.clone(), target);
            }
            "usr/lib" | "usr/share" | "etc" => {
                out.insert(e.path.clone(), target.clone());
                if parent == "usr/lib" && name == MULTIARCH {
                    out.insert(format!("lib/{name}"), target);
                } else if parent == "usr/lib" && name.starts_with("ld-linux") {
                    // The loader's link (`ld-linux.so.2` → `i386-linux-gnu/ld-linux.so.2`), followed
                    // once: every program starts by opening it.
                    let real = match e.kind {
                        Kind::Link { target: ref t } if !t.starts_with('/') => {
                            let inside = format!("usr/lib/{t}");
                            if by_path.contains_key(inside.as_str()) {
                                format!("{TOOLS_MOUNT}/{inside}")
                            } else {
                                target
                            }
                        }
                        _ => target,
                    };
                    out.insert(format!("lib/{name}"), real);
                }
            }
            _ => {}
        }
    }
    out.into_iter()
        .filter(|(link, _)| !taken.contains(&link.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: Kind) -> Entry {
        Entry {
            path: path.to_owned(),
            kind,
        }
    }

    #[test]
    fn links_reach_the_loader_libraries_data_and_programs() {
        let dir = || Kind::Dir { mode: 0o755 };
        let file = || Kind::File {
            mode: 0o755,
            size: 1,
            blob: "t-0123456789abcdef.bin".to_owned(),
        };
        let link = |t: &str| Kind::Link {
            target: t.to_owned(),
        };
        let entries = [
            entry("etc", dir()),
            entry("etc/fstab", file()),
            entry("etc/ssl", dir()),
            entry("etc/ssl/certs", dir()),
            entry("usr", dir()),
            entry("usr/bin", dir()),
            entry("usr/bin/git", file()),
            entry("usr/bin/python3", link("python3.11")),
            entry("usr/lib", dir()),
            entry("usr/lib/git-core", dir()),
            entry("usr/lib/git-core/git", file()),
            entry("usr/lib/i386-linux-gnu", dir()),
            entry("usr/lib/i386-linux-gnu/ld-linux.so.2", file()),
            entry(
                "usr/lib/ld-linux.so.2",
                link("i386-linux-gnu/ld-linux.so.2"),
            ),
            entry("usr/share", dir()),
            entry("usr/share/git-core", dir()),
        ];
        let got = links(&entries, &["etc/fstab"]);
        let want = [
            ("etc/ssl", "etc/ssl"),
            ("lib/i386-linux-gnu", "usr/lib/i386-linux-gnu"),
            ("lib/ld-linux.so.2", "usr/lib/i386-linux-gnu/ld-linux.so.2"),
            ("usr/bin/git", "usr/bin/git"),
            ("usr/bin/python3", "usr/bin/python3"),
            ("usr/lib/git-core", "usr/lib/git-core"),
            ("usr/lib/i386-linux-gnu", "usr/lib/i386-linux-gnu"),
            ("usr/lib/ld-linux.so.2", "usr/lib/ld-linux.so.2"),
            ("usr/share/git-core", "usr/share/git-core"),
        ]
        .map(|(l, t)| (l.to_owned(), format!("/mnt/host/tools/{t}")));
        assert_eq!(got, want);
    }
}
