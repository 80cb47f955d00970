//! Where a definition's text stops parsing: `task.parse` answers text it cannot read with
//! `bad_request` whose `details` carry `{line, column}` (both from 1) when the parser knows the
//! place, so an editor can mark that line. Only the position is here; the sentence stays the
//! error's `error`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ErrorPayload;

/// A place in the text, counted from 1 (the first character is line 1, column 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsePosition {
    pub line: u32,
    pub column: u32,
}

impl ParsePosition {
    /// The position named in `error`'s details, if it names one.
    pub fn of(error: &ErrorPayload) -> Option<ParsePosition> {
        let details = error.details.as_ref()?;
        let number = |key: &str| -> Option<u32> {
            u32::try_from(details.get(key)?.as_u64()?)
                .ok()
                .filter(|n| *n >= 1)
        };
        Some(ParsePosition {
            line: number("line")?,
            column: number("column")?,
        })
    }

    /// `error` with this position in its details.
    pub fn attach(self, error: ErrorPayload) -> ErrorPayload {
        error
            .with_detail("line", Value::from(self.line))
            .with_detail("column", Value::from(self.column))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn a_position_travels_in_the_error_details() {
        let at = ParsePosition {
            line: 4,
            column: 12,
        };
        let error = at.attach(ErrorPayload::new(ErrorCode::BadRequest, "bad topic"));
        let wire = serde_json::to_value(&error).unwrap();
        assert_eq!(
            wire["details"],
            serde_json::json!({"line": 4, "column": 12})
        );
        let back: ErrorPayload = serde_json::from_value(wire).unwrap();
        assert_eq!(ParsePosition::of(&back), Some(at));
    }

    #[test]
    fn errors_without_a_position_name_none() {
        let plain = ErrorPayload::new(ErrorCode::BadRequest, "empty");
        assert_eq!(ParsePosition::of(&plain), None);
        let zero = plain
            .clone()
            .with_detail("line", 0)
            .with_detail("column", 1);
        assert_eq!(ParsePosition::of(&zero), None, "lines count from 1");
        let text = plain.with_detail("line", "4").with_detail("column", 1);
        assert_eq!(ParsePosition::of(&text), None);
    }
}
