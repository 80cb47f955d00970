//! `cargo xtask <command>`: the project's one entry point for people and CI.
//!
//! This file only reads the command line and dispatches; each command lives in its own module and prints
//! every step it takes. Tools are installed from the package registries when missing (see `tools`).

mod bench;
mod bench_peers;
mod build;
mod dev;
mod guest_image;
mod lockfile;
mod mirror;
mod monaco;
mod precompress;
mod proc;
mod run;
mod steps;
mod test;
mod tools;

use anyhow::{Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command> [-- args]

commands:
  run [-- kernel args]     build the desktop and the kernel in release and run it on http://127.0.0.1:8080
  test                     fmt, clippy (host and wasm32), cargo test, release build, Playwright end2end
  e2e [-- playwright args] release build and the Playwright suite only
  dev [-- kernel args]     trunk serve on :8081 (live reload) beside a debug kernel on :8080
  bench [-- bench args]    the bus, runner, task-engine and agent benchmarks (kernel/benches/), the runner against wasmtime-py
  build                    the release build alone: desktop, precompressed assets, kernel
  guest-image              assemble the x86 guest (Debian kernel, busybox, seabios) and v86 into target/stage/v86, then mirror it to target/dist
  precompress              (re)write the .br/.gz siblings in target/dist (cached by content)
  setup                    install the missing prerequisites only
  help                     this text

Missing tools (wasm32 target, trunk, wasm-bindgen-cli, chromium, npm packages) are installed first.";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = dispatch(&args) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn dispatch(args: &[String]) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(());
    };
    let rest = passthrough(rest);
    match command.as_str() {
        "run" => run::run(rest),
        "test" => {
            no_args("test", rest)?;
            test::test()
        }
        "e2e" => test::e2e(rest),
        "dev" => dev::dev(rest),
        "bench" => bench::bench(rest),
        "build" => {
            no_args("build", rest)?;
            let mut steps = steps::Steps::new("build");
            steps.run("prerequisites", tools::for_build)?;
            let bin = build::release(&mut steps)?;
            steps.print_table();
            println!("built {}", bin.display());
            Ok(())
        }
        "guest-image" => {
            no_args("guest-image", rest)?;
            guest_image::place()?;
            build::mirror_stage()
        }
        "precompress" => {
            no_args("precompress", rest)?;
            build::precompress_dist()
        }
        "setup" => {
            no_args("setup", rest)?;
            tools::for_test()?;
            println!("all prerequisites are installed");
            Ok(())
        }
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}

/// The arguments a command forwards, without the `--` that separates them (`cargo xtask run -- -v`).
fn passthrough(rest: &[String]) -> &[String] {
    match rest.first() {
        Some(first) if first == "--" => &rest[1..],
        _ => rest,
    }
}

fn no_args(command: &str, rest: &[String]) -> Result<()> {
    if !rest.is_empty() {
        bail!("`cargo xtask {command}` takes no arguments, got {rest:?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_double_dash_is_dropped_from_forwarded_args() {
        let args = ["--".to_string(), "--listen".to_string(), "x".to_string()];
        assert_eq!(passthrough(&args), &args[1..]);
        assert_eq!(passthrough(&args[1..]), &args[1..]);
        assert!(passthrough(&[]).is_empty());
    }

    #[test]
    fn unknown_commands_are_refused_with_the_usage() {
        let err = dispatch(&["frobnicate".to_string()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown command `frobnicate`") && err.contains("usage:"),
            "{err}"
        );
    }
}
