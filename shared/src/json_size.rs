//! The size of a value's JSON text, measured without building the text: for byte caps, such as
//! a task payload's expanded references or a result kept within its share of a frame. Counting
//! stops as soon as a bound is passed, so measuring a huge value against a small bound is cheap.

use serde::Serialize;

/// An `io::Write` that counts bytes and fails once they would pass `left`.
struct Meter {
    used: usize,
    left: usize,
}

impl std::io::Write for Meter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.left = self
            .left
            .checked_sub(buf.len())
            .ok_or_else(|| std::io::Error::other("over the bound"))?;
        self.used += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Bytes of `value` as JSON, or `None` as soon as they pass `max` (or it does not serialize).
pub fn json_len_within<T: Serialize + ?Sized>(value: &T, max: usize) -> Option<usize> {
    let mut meter = Meter { used: 0, left: max };
    serde_json::to_writer(&mut meter, value).ok()?;
    Some(meter.used)
}

/// Bytes of `value` as JSON (0 for a value that does not serialize, which JSON values and the
/// contract's payloads always do).
pub fn json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    json_len_within(value, usize::MAX).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_match_the_text_and_stop_at_the_bound() {
        let value = json!({"a": "é\n", "b": [1, 2.5, null], "c": {"d": true}});
        let text = serde_json::to_string(&value).unwrap();
        assert_eq!(json_len(&value), text.len());
        assert_eq!(json_len_within(&value, text.len()), Some(text.len()));
        assert_eq!(json_len_within(&value, text.len() - 1), None);
        assert_eq!(json_len(""), 2);
    }
}
