//! Correlation ids for requests: `r-<counter>-<random>`.
//!
//! The counter makes ids unique within one page; the random part (supplied by the caller, so this
//! module stays pure and testable natively) keeps ids from two tabs or two page loads from looking
//! alike in logs. Ids are opaque to the kernel, which only copies them into replies.

/// Hands out request ids in order.
#[derive(Debug, Default)]
pub struct RequestIds {
    issued: u64,
}

impl RequestIds {
    /// A fresh id; `entropy` is any random 32-bit number.
    pub fn next_id(&mut self, entropy: u32) -> String {
        self.issued += 1;
        format!("r-{}-{}", self.issued, base36(entropy))
    }
}

/// `n` in lowercase base 36 (`0`–`9`, `a`–`z`).
fn base36(mut n: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(7);
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("base-36 digits are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_have_the_documented_shape_and_count_up() {
        let mut ids = RequestIds::default();
        assert_eq!(ids.next_id(0), "r-1-0");
        assert_eq!(ids.next_id(35), "r-2-z");
        assert_eq!(ids.next_id(36), "r-3-10");
        assert_eq!(ids.next_id(u32::MAX), "r-4-1z141z3");
    }

    #[test]
    fn ids_are_unique_even_with_the_same_entropy() {
        let mut ids = RequestIds::default();
        let all: HashSet<String> = (0..1_000).map(|_| ids.next_id(42)).collect();
        assert_eq!(all.len(), 1_000);
    }
}
