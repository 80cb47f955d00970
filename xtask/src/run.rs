//! `cargo xtask run`: build everything in release and replace this process with the kernel.
//!
//! Every step is timed and the table printed before the kernel starts; on an unchanged tree the build is
//! a few seconds (nothing recompressed, the kernel not relinked: see [`crate::build`]).
//!
//! Extra arguments go to the kernel unchanged; a `--listen` among them replaces the default address.

use anyhow::{Context, Result};

use crate::proc::{self, announce};
use crate::steps::Steps;
use crate::{build, tools};

/// Where the kernel listens unless the extra arguments say otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

pub fn run(kernel_args: &[String]) -> Result<()> {
    let mut steps = Steps::new("run");
    steps.run("prerequisites", tools::for_build)?;
    let bin = build::release(&mut steps)?;
    steps.print_table();

    let listen = listen_address(kernel_args);
    let mut kernel = proc::cmd(&bin);
    if listen.is_none() {
        kernel.args(["--listen", DEFAULT_LISTEN]);
    }
    kernel.args(kernel_args);
    let listen = listen.unwrap_or(DEFAULT_LISTEN);
    announce(&format!("starting {}", proc::display(&kernel)));
    println!("Aether is running at http://{listen}");
    exec(kernel)
}

/// The value of `--listen ADDR` or `--listen=ADDR` in `args`, if any.
pub fn listen_address(args: &[String]) -> Option<&str> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--listen" {
            return iter.next().map(String::as_str);
        }
        if let Some(value) = arg.strip_prefix("--listen=") {
            return Some(value);
        }
    }
    None
}

/// Replaces this process (Unix), so Ctrl-C and exit codes belong to the kernel alone.
#[cfg(unix)]
fn exec(mut cmd: std::process::Command) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let err = cmd.exec();
    Err(err).with_context(|| format!("could not start `{}`", proc::display(&cmd)))
}

#[cfg(not(unix))]
fn exec(mut cmd: std::process::Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{}`", proc::display(&cmd)))?;
    std::process::exit(status.code().unwrap_or(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn listen_flag_is_found_in_either_spelling() {
        assert_eq!(
            listen_address(&args(&["--listen", "0.0.0.0:9000"])),
            Some("0.0.0.0:9000")
        );
        assert_eq!(
            listen_address(&args(&["-v", "--listen=127.0.0.1:1"])),
            Some("127.0.0.1:1")
        );
        assert_eq!(listen_address(&args(&["--config", "a.yaml"])), None);
    }
}
