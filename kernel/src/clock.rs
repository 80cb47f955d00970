//! Wall-clock time stamps for envelopes: RFC 3339, UTC, milliseconds (`2026-11-24T10:00:00.123Z`).

use std::time::SystemTime;

/// Now, formatted for the `time` field of an envelope.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn stamps_are_utc_with_milliseconds() {
        let stamp = super::now_rfc3339();
        assert_eq!(stamp.len(), "2026-11-24T10:00:00.123Z".len(), "{stamp}");
        assert!(stamp.ends_with('Z'));
        assert_eq!(&stamp[19..20], ".");
    }
}
