//! Prints a greeting and exits 0: the first program to run in Aether.

fn main() {
    println!("Hello from WebAssembly!");
}
