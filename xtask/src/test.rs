//! `cargo xtask test`: every check CI runs, in order, failing fast with the name of the step that failed.
//!
//! Steps: prerequisites, fmt, clippy (host, all targets), clippy (desktop on wasm32), the test guests,
//! cargo test, the release build (desktop, precompression, kernel), then the Playwright suite against that
//! kernel. Each step's time is printed, and the closing lines sum the tests that ran (cargo's and
//! Playwright's own counts).

use std::fmt;
use std::fs;
use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::proc::{self, announce, cargo, cmd, run, run_tee, secs};
use crate::steps::Steps;
use crate::{build, tools};

/// Tests counted from a runner's own report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// Reads cargo's `test result: ok. 12 passed; 0 failed; 1 ignored; ...` line.
pub fn parse_cargo_test_result(line: &str) -> Option<Counts> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let mut counts = Counts::default();
    for part in rest.split(';') {
        let mut words = part.split_whitespace().rev();
        let (Some(label), Some(number)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = number.parse::<u64>() else {
            continue;
        };
        match label {
            "passed" => counts.passed = n,
            "failed" => counts.failed = n,
            "ignored" => counts.skipped = n,
            _ => {}
        }
    }
    Some(counts)
}

/// Reads `"stats": {"expected": 5, "unexpected": 0, "flaky": 0, "skipped": 1, ...}` from Playwright's JSON
/// report (the top-level `stats` object is the last one in the file). Flaky tests count as passed.
pub fn parse_playwright_stats(json: &str) -> Option<Counts> {
    let stats = &json[json.rfind("\"stats\"")?..];
    let stats = &stats[..stats.find('}')?];
    let field = |name: &str| -> Option<u64> {
        let key = format!("\"{name}\"");
        let rest = stats[stats.find(&key)? + key.len()..]
            .trim_start()
            .strip_prefix(':')?
            .trim_start();
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    Some(Counts {
        passed: field("expected")? + field("flaky").unwrap_or(0),
        failed: field("unexpected")?,
        skipped: field("skipped").unwrap_or(0),
    })
}

/// `cargo xtask test`.
pub fn test() -> Result<()> {
    let mut steps = Steps::new("test");
    steps.run("prerequisites", tools::for_test)?;
    steps.run("fmt", || {
        run(cargo().args(["fmt", "--all", "--", "--check"]))
    })?;
    steps.run("clippy (host, all targets)", || {
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    steps.run("clippy (desktop, wasm32)", || {
        run(cargo().args([
            "clippy",
            "-p",
            "aether-desktop",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // The kernel's tests run these guests; built here, so no test waits on the build with a
    // connection open (the kernel closes one that stays silent for `limits.idle_timeout_ms`).
    steps.run("test guests (wasm32-wasip1)", || {
        run(cargo().args([
            "build",
            "--quiet",
            "--release",
            "--target",
            "wasm32-wasip1",
            "-p",
            "aether-guests",
        ]))
    })?;
    let mut rust = Counts::default();
    steps.run("cargo test", || {
        // The guests are built: tests read them without taking cargo's build lock again.
        let mut test = cargo();
        test.args(["test", "--workspace"])
            .env("AETHER_TEST_GUESTS_BUILT", "1");
        run_tee(&mut test, |line| {
            if let Some(counts) = parse_cargo_test_result(line) {
                rust += counts;
            }
        })
    })?;
    let kernel = build::release(&mut steps)?;
    let e2e = steps.run("end2end (Playwright)", || playwright(&kernel, &[]))?;

    steps.print_table();
    println!("    rust tests (cargo test): {rust}");
    println!("    end2end (Playwright):    {e2e}");
    println!(
        "xtask test: all {} steps passed in {}",
        steps.count(),
        secs(steps.elapsed())
    );
    let mut total = rust;
    total += e2e;
    println!("summary: {total}");
    Ok(())
}

/// `cargo xtask e2e [-- playwright args]`: the release build and the Playwright suite alone.
pub fn e2e(playwright_args: &[String]) -> Result<()> {
    let mut steps = Steps::new("e2e");
    steps.run("prerequisites", tools::for_test)?;
    let kernel = build::release(&mut steps)?;
    let counts = steps.run("end2end (Playwright)", || {
        playwright(&kernel, playwright_args)
    })?;
    steps.print_table();
    println!("end2end: {counts}");
    Ok(())
}

/// `npx playwright test` in end2end/ against `kernel`; returns Playwright's own counts.
fn playwright(kernel: &std::path::Path, args: &[String]) -> Result<Counts> {
    let dir = proc::root().join("end2end");
    let report = dir.join("playwright-report").join("results.json");
    // A report left by an earlier run must never be read as this run's.
    let _ = fs::remove_file(&report);
    announce(&format!(
        "running the Playwright suite against {}",
        kernel
            .strip_prefix(proc::root())
            .unwrap_or(kernel)
            .display()
    ));
    let outcome = run(cmd("npx")
        .args(["--no-install", "playwright", "test"])
        .args(args)
        .current_dir(&dir)
        .env("AETHER_BIN", absolute(kernel)));
    let counts = fs::read_to_string(&report)
        .ok()
        .as_deref()
        .and_then(parse_playwright_stats);
    if let Some(counts) = counts {
        println!("    end2end: {counts}");
    }
    outcome?;
    match counts {
        Some(counts) if counts.passed > 0 => Ok(counts),
        Some(_) => bail!("Playwright ran no test: check testDir in end2end/playwright.config.ts"),
        None => bail!(
            "Playwright wrote no report at {}: check its reporter config",
            report.display()
        ),
    }
}

fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_test_result_lines_are_counted() {
        let line = "test result: ok. 12 passed; 0 failed; 3 ignored; 0 measured; 1 filtered out; finished in 0.02s";
        assert_eq!(
            parse_cargo_test_result(line),
            Some(Counts {
                passed: 12,
                failed: 0,
                skipped: 3
            })
        );
        let failed =
            "test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out";
        assert_eq!(
            parse_cargo_test_result(failed),
            Some(Counts {
                passed: 1,
                failed: 2,
                skipped: 0
            })
        );
        assert_eq!(parse_cargo_test_result("running 12 tests"), None);
    }

    #[test]
    fn playwright_top_level_stats_are_read() {
        let json = r#"{"suites": [{"title": "bus.spec.ts", "specs": [{"title": "\"stats\" in a title"}]}],
            "errors": [],
            "stats": {
              "startTime": "2026-11-24T10:00:00.000Z",
              "duration": 5123.4,
              "expected": 5,
              "skipped": 1,
              "unexpected": 2,
              "flaky": 1
            }
        }"#;
        assert_eq!(
            parse_playwright_stats(json),
            Some(Counts {
                passed: 6,
                failed: 2,
                skipped: 1
            })
        );
        assert_eq!(parse_playwright_stats("{}"), None);
    }

    #[test]
    fn counts_add_up_and_read_as_a_closing_line() {
        let mut total = Counts {
            passed: 3,
            failed: 0,
            skipped: 1,
        };
        total += Counts {
            passed: 2,
            failed: 1,
            skipped: 0,
        };
        assert_eq!(total.to_string(), "5 passed, 1 failed, 1 skipped");
    }
}
