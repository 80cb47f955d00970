//! The guest kernel's command line: what the boot skips, each choice measured under v86 and
//! justified here. Never anything the guest's shell, its `/init` or the 9p share needs.

/// The kernel command line but for [`SKIPPED_INITCALLS`] ([`cmdline`] adds them): the console
/// on the first serial port, a quiet boot, and no work an emulated PC does not need (crypto
/// self-tests, PnP BIOS and ISA PnP probing, machine-check setup, CPU vulnerability mitigations,
/// probing for serial ports v86 does not have, IPv6 for a machine without a network
/// card: 0.1–0.25 s each under `initcall_debug`). Three serial ports: the shell (ttyS0), the
/// terminal's size (ttyS1) and the agent's commands (ttyS2, `vm.exec`).
const BOOT_OPTIONS: &str = concat!(
    "console=ttyS0 quiet loglevel=3 tsc=reliable mitigations=off nowatchdog random.trust_cpu=on ",
    "cryptomgr.notests pnpbios=off noisapnp mce=off rdinit=/init 8250.nr_uarts=3 ipv6.disable=1"
);
/// What `initcall_blacklist=` in [`cmdline`] skips, each measured under v86 with `initcall_debug`
/// (2026-12-06; together about 3.5 s of a cold boot), and why the guest does not miss it:
///
/// - `ftrace_check_for_weak_functions`: looks up the symbol of each of the kernel's 37,048
///   traceable call sites to mark those of overridden weak functions (60 million instructions,
///   a third of what the kernel ran before `/init`, on a worker the boot waits for). Only
///   function tracing would read those marks.
/// - `trace_eval_init`, `tracer_init_tracefs`, `init_kprobe_trace`: fill `/sys/kernel/tracing`
///   (the enum names of every trace event rewritten, a directory per event: 2.0–2.3 s, on a
///   worker the single CPU waits for). Nothing in the guest traces.
/// - `crypto_kdf108_init`, `blake2s_mod_init`: self-tests only (0.24–0.63 s and 0.1 s); the code
///   they test stays available.
/// - `load_system_certificate_list`, `machine_keyring_init`, `init_encrypted`: parse the
///   kernel's built-in X.509 certificates (0.44 s) and set up keyrings for machine owner keys
///   and encrypted keys, used to check signed modules and nothing else here: the guest's
///   modules ship unsigned (`strip_signature`) and `MODULE_SIG_FORCE` is off.
/// - `slab_sysfs_init`: a sysfs directory of attributes for every slab cache (0.3–0.85 s, the
///   longest initcall left). Without it `/sys/kernel/slab` is absent (`/proc/slabinfo` stays)
///   and caches are freed the way early-boot ones are.
pub const SKIPPED_INITCALLS: &[&str] = &[
    "ftrace_check_for_weak_functions",
    "trace_eval_init",
    "tracer_init_tracefs",
    "init_kprobe_trace",
    "crypto_kdf108_init",
    "blake2s_mod_init",
    "load_system_certificate_list",
    "machine_keyring_init",
    "init_encrypted",
    "slab_sysfs_init",
];

/// The kernel command line the desktop boots the guest with (in the manifest).
pub fn cmdline() -> String {
    format!(
        "{BOOT_OPTIONS} initcall_blacklist={}",
        SKIPPED_INITCALLS.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_skips_each_initcall_once_and_fits_the_kernel_limit() {
        let line = cmdline();
        // x86's COMMAND_LINE_SIZE; v86 writes the line below the real-mode heap.
        assert!(line.len() < 2048, "{} bytes", line.len());
        assert!(line.starts_with("console=ttyS0 "));
        let list = line
            .split(' ')
            .find_map(|w| w.strip_prefix("initcall_blacklist="))
            .expect("one initcall_blacklist= option");
        let names: Vec<&str> = list.split(',').collect();
        assert_eq!(names, SKIPPED_INITCALLS);
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }
}
