//! Human units for the status line: bytes (`1.5 MiB`), large counts such as fuel (`12.3 M`) and
//! durations (`12 ms`, `1.25 s`, `2 min 5 s`). Pure and unit tested.

/// `n` bytes in binary units: `512 B`, `64.0 KiB`, `1.5 MiB`, `2.0 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A count with a metric suffix: `950`, `12.3 k`, `4.5 M`, `1.2 G`, `3.0 T`.
pub fn count(n: u64) -> String {
    const UNITS: [&str; 4] = ["k", "M", "G", "T"];
    if n < 1000 {
        return n.to_string();
    }
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A duration: `12 ms` below a second, `1.25 s` below a minute, then `2 min 5 s`.
pub fn duration_ms(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.2} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_use_binary_units_with_one_decimal() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.0 KiB");
        assert_eq!(bytes(65_536), "64.0 KiB");
        assert_eq!(bytes(1_572_864), "1.5 MiB");
        assert_eq!(bytes(2 * 1024 * 1024 * 1024), "2.0 GiB");
        assert_eq!(bytes(u64::MAX), "16777216.0 TiB");
    }

    #[test]
    fn counts_use_metric_suffixes() {
        assert_eq!(count(950), "950");
        assert_eq!(count(12_345), "12.3 k");
        assert_eq!(count(4_500_000), "4.5 M");
        assert_eq!(count(1_234_567_890), "1.2 G");
        assert_eq!(count(3_000_000_000_000), "3.0 T");
    }

    #[test]
    fn durations_grow_from_milliseconds_to_minutes() {
        assert_eq!(duration_ms(0), "0 ms");
        assert_eq!(duration_ms(999), "999 ms");
        assert_eq!(duration_ms(1_250), "1.25 s");
        assert_eq!(duration_ms(59_990), "59.99 s");
        assert_eq!(duration_ms(125_000), "2 min 5 s");
    }
}
