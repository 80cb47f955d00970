//! Prints five numbered lines, 200 ms apart: output must arrive while it runs, not at the end.

use std::io::Write;

fn main() {
    for i in 1..=5 {
        println!("tick {i}");
        std::io::stdout().flush().expect("stdout is open");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
