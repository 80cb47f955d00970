//! The order `/init` loads the guest's kernel modules in: each after the modules it depends on,
//! read from the `depends=` entry of each module's `.modinfo`. Debian's kernel updates change
//! these dependencies (6.1.0-57's `virtio` needs `virtio_ring`, earlier ones did not), so the
//! order is worked out from the modules themselves, never written by hand.

use anyhow::{Result, bail};

/// The module names (file names without `.ko`) that `module` depends on.
pub fn depends(module: &[u8]) -> Vec<String> {
    const KEY: &[u8] = b"depends=";
    module
        .split(|&b| b == 0)
        .find_map(|entry| entry.strip_prefix(KEY))
        .map(|list| {
            String::from_utf8_lossy(list)
                .split(',')
                .filter(|d| !d.is_empty())
                .map(|d| d.replace('-', "_"))
                .collect()
        })
        .unwrap_or_default()
}

/// `modules` (`(file name, bytes)`) sorted so that each comes after those of the set it depends
/// on; dependencies outside the set are built into the kernel. Ties keep the given order.
pub fn sort(modules: Vec<(String, Vec<u8>)>) -> Result<Vec<(String, Vec<u8>)>> {
    let stem = |name: &str| name.trim_end_matches(".ko").replace('-', "_");
    let stems: Vec<String> = modules.iter().map(|(n, _)| stem(n)).collect();
    let needs: Vec<Vec<usize>> = modules
        .iter()
        .map(|(_, bytes)| {
            depends(bytes)
                .iter()
                .filter_map(|d| stems.iter().position(|s| s == d))
                .collect()
        })
        .collect();
    let mut placed = vec![false; modules.len()];
    let mut order = Vec::with_capacity(modules.len());
    while order.len() < modules.len() {
        let Some(next) =
            (0..modules.len()).find(|&i| !placed[i] && needs[i].iter().all(|&d| placed[d]))
        else {
            let left: Vec<&str> = (0..modules.len())
                .filter(|&i| !placed[i])
                .map(|i| stems[i].as_str())
                .collect();
            bail!("the guest's kernel modules depend on each other in a cycle: {left:?}");
        };
        placed[next] = true;
        order.push(next);
    }
    let mut slots: Vec<Option<(String, Vec<u8>)>> = modules.into_iter().map(Some).collect();
    Ok(order
        .into_iter()
        .map(|i| slots[i].take().expect("each module is placed once"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(name: &str, depends: &str) -> (String, Vec<u8>) {
        let body = format!("\x7fELF\0license=GPL\0depends={depends}\0name={name}\0");
        (format!("{name}.ko"), body.into_bytes())
    }

    fn names(modules: &[(String, Vec<u8>)]) -> Vec<&str> {
        modules.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn the_depends_entry_is_read_from_modinfo() {
        let (_, bytes) = module("virtio_pci", "virtio_ring,virtio");
        assert_eq!(depends(&bytes), ["virtio_ring", "virtio"]);
        let (_, bytes) = module("virtio_ring", "");
        assert!(depends(&bytes).is_empty());
        assert!(depends(b"\x7fELF no modinfo").is_empty());
    }

    #[test]
    fn each_module_comes_after_what_it_depends_on() {
        // The order written for 6.1.0-50, which 6.1.0-57's `virtio -> virtio_ring` broke.
        let given = vec![
            module("virtio", "virtio_ring"),
            module("virtio_ring", ""),
            module("virtio_pci", "virtio_ring,virtio"),
            module("9pnet", ""),
            module("9pnet_virtio", "virtio,9pnet,virtio_ring"),
            module("9p", "9pnet,fscache,netfs,crc32c"),
            module("netfs", ""),
            module("fscache", "netfs"),
        ];
        let sorted = sort(given).unwrap();
        assert_eq!(
            names(&sorted),
            [
                "virtio_ring.ko",
                "virtio.ko",
                "virtio_pci.ko",
                "9pnet.ko",
                "9pnet_virtio.ko",
                "netfs.ko",
                "fscache.ko",
                "9p.ko"
            ]
        );
    }

    #[test]
    fn a_cycle_is_an_error_naming_its_modules() {
        let err = sort(vec![module("a", "b"), module("b", "a")]).unwrap_err();
        assert!(err.to_string().contains("cycle"), "{err}");
    }
}
