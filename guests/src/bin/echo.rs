//! Copies stdin to stdout line by line until stdin ends, then reports how many lines it saw.

use std::io::{BufRead, Write};

fn main() {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    let mut lines = 0;
    for line in stdin.lock().lines() {
        let line = line.expect("stdin is text");
        writeln!(stdout, "{line}").expect("stdout is open");
        stdout.flush().expect("stdout is open");
        lines += 1;
    }
    eprintln!("echo: {lines} line(s)");
}
