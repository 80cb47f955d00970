//! Writes output as fast as it can, forever: stopped by the runner's output cap.

use std::io::Write;

fn main() {
    let line = "flood flood flood flood flood flood flood flood flood flood flood flood\n";
    let mut stdout = std::io::stdout().lock();
    loop {
        stdout.write_all(line.as_bytes()).expect("stdout is open");
    }
}
