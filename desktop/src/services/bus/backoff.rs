//! The reconnect schedule: exponential backoff with full jitter.
//!
//! Attempt `n` (1 for the first retry after a drop) waits a uniformly random time in
//! `[0, min(MAX_DELAY_MS, BASE_DELAY_MS · 2^(n-1))]`, so a kernel restart is not met by every tab
//! at the same instant. This module is pure: the caller supplies the random number, which keeps
//! the schedule testable on the native host. It never touches a timer or a socket.

/// The ceiling of the first retry, in milliseconds.
pub const BASE_DELAY_MS: u32 = 250;

/// The largest ceiling any retry waits under, in milliseconds.
pub const MAX_DELAY_MS: u32 = 5_000;

/// The upper bound of the wait before retry `attempt` (1-based; 0 is treated as 1).
pub fn ceiling_ms(attempt: u32) -> u32 {
    let doublings = attempt.saturating_sub(1).min(31);
    BASE_DELAY_MS
        .saturating_mul(1u32 << doublings)
        .min(MAX_DELAY_MS)
}

/// The wait before retry `attempt`, given `unit`, a random number in `[0, 1)`.
///
/// Out-of-range or NaN `unit`s are clamped, so the result is always within
/// `[0, ceiling_ms(attempt)]`.
pub fn delay_ms(attempt: u32, unit: f64) -> u32 {
    let unit = if unit.is_nan() {
        0.0
    } else {
        unit.clamp(0.0, 1.0)
    };
    (f64::from(ceiling_ms(attempt)) * unit).floor() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_from_the_base_and_stops_at_the_cap() {
        let ceilings: Vec<u32> = (1..=7).map(ceiling_ms).collect();
        assert_eq!(ceilings, [250, 500, 1_000, 2_000, 4_000, 5_000, 5_000]);
        assert_eq!(ceiling_ms(0), BASE_DELAY_MS);
        assert_eq!(ceiling_ms(u32::MAX), MAX_DELAY_MS);
    }

    #[test]
    fn delay_is_a_full_jitter_fraction_of_the_ceiling() {
        assert_eq!(delay_ms(3, 0.0), 0);
        assert_eq!(delay_ms(3, 0.5), 500);
        assert_eq!(delay_ms(3, 0.999_999), 999);
        for attempt in 0..64 {
            for unit in [0.0, 0.1, 0.5, 0.9, 0.999_999] {
                assert!(delay_ms(attempt, unit) <= ceiling_ms(attempt));
            }
        }
    }

    #[test]
    fn a_bad_random_number_cannot_escape_the_bounds() {
        assert_eq!(delay_ms(2, -1.0), 0);
        assert_eq!(delay_ms(2, 7.0), 500);
        assert_eq!(delay_ms(2, f64::NAN), 0);
    }
}
