//! Named steps with their timings: `cargo xtask run` and `cargo xtask test` print how long each step took,
//! and a failure names the step it happened in.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::proc::{announce, secs};

/// One finished step, for the summary.
struct Done {
    name: &'static str,
    took: Duration,
}

/// Runs named steps in order and keeps their timings.
pub struct Steps {
    command: &'static str,
    started: Instant,
    done: Vec<Done>,
}

impl Steps {
    /// Steps of `cargo xtask <command>`; the name appears in a failure's message.
    pub fn new(command: &'static str) -> Steps {
        Steps {
            command,
            started: Instant::now(),
            done: Vec::new(),
        }
    }

    /// Runs `step`; on error prints the summary so far and returns the error naming the step.
    pub fn run<T>(&mut self, name: &'static str, step: impl FnOnce() -> Result<T>) -> Result<T> {
        println!();
        println!("==> [{}] {name}", self.done.len() + 1);
        let started = Instant::now();
        match step() {
            Ok(value) => {
                let took = started.elapsed();
                println!("    ok: {name} ({})", secs(took));
                self.done.push(Done { name, took });
                Ok(value)
            }
            Err(e) => {
                let took = started.elapsed();
                self.print_table();
                println!("    FAILED  {name:<28} {:>8}", secs(took));
                bail!(
                    "xtask {}: FAILED at step `{name}` after {} (total {}): {e:#}",
                    self.command,
                    secs(took),
                    secs(self.started.elapsed())
                )
            }
        }
    }

    /// How many steps have finished.
    pub fn count(&self) -> usize {
        self.done.len()
    }

    /// Time since the first step started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Every finished step and its time, then the total.
    pub fn print_table(&self) {
        println!();
        announce("step timings");
        for done in &self.done {
            println!("    ok      {:<28} {:>8}", done.name, secs(done.took));
        }
        println!("    total   {:<28} {:>8}", "", secs(self.elapsed()));
    }
}
