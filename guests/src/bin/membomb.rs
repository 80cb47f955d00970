//! Allocates memory in 16 MiB steps until the runner's memory cap stops it.

fn main() {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1u8; 16 * 1024 * 1024]);
        println!("holding {} MiB", hoard.len() * 16);
    }
}
