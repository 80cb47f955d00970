//! [`ParseProblem`]: where the kernel found the definition unreadable (`task.parse`'s
//! `bad_request` with a [`ParsePosition`]), and the Monaco marker that shows it on its line.
//! Pure and unit tested; the editor glue is in `super::source_editor`.

use aether_shared::ErrorPayload;
use aether_shared::task::ParsePosition;

use crate::services::bus::BusError;
use crate::services::monaco::options::{Marker, SEVERITY_ERROR};

/// The marker's `source`: the request that found the problem.
const MARKER_SOURCE: &str = aether_shared::task::PARSE;

/// A parse error that names its place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseProblem {
    /// The kernel's sentence.
    pub message: String,
    pub at: ParsePosition,
}

impl ParseProblem {
    /// The problem in a kernel error, if the error names a place.
    pub fn from_error(error: &ErrorPayload) -> Option<ParseProblem> {
        Some(ParseProblem {
            message: error.error.clone(),
            at: ParsePosition::of(error)?,
        })
    }

    /// The problem in a failed request: only the kernel's own errors name a place.
    pub fn of(error: &BusError) -> Option<ParseProblem> {
        match error {
            BusError::Remote(payload) => ParseProblem::from_error(payload),
            _ => None,
        }
    }

    /// The error marker for a text of `line_count` lines, where `line_end(n)` is the column just
    /// after line `n`'s last character (Monaco's `getLineMaxColumn`). It runs from the named
    /// column to the end of the line (the whole line when the column is past its end); a place
    /// past the last line marks the last line.
    pub fn marker(&self, line_count: u32, line_end: impl Fn(u32) -> u32) -> Marker {
        let last = line_count.max(1);
        let (line, column) = if self.at.line > last {
            (last, 1)
        } else {
            (self.at.line, self.at.column)
        };
        let end = line_end(line).max(1);
        let start = if column < end { column } else { 1 };
        Marker {
            severity: SEVERITY_ERROR,
            message: self.message.clone(),
            source: MARKER_SOURCE.to_owned(),
            start_line_number: line,
            start_column: start,
            end_line_number: line,
            end_column: end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::ErrorCode;

    fn problem(line: u32, column: u32) -> ParseProblem {
        ParseProblem {
            message: "bad".into(),
            at: ParsePosition { line, column },
        }
    }

    /// Lines of "name: x" (8 columns with the end) except line 3, which is empty.
    fn line_end(line: u32) -> u32 {
        if line == 3 { 1 } else { 8 }
    }

    #[test]
    fn a_marker_runs_from_the_column_to_the_end_of_its_line() {
        let m = problem(2, 7).marker(4, line_end);
        assert_eq!((m.start_line_number, m.start_column), (2, 7));
        assert_eq!((m.end_line_number, m.end_column), (2, 8));
        assert_eq!((m.severity, m.message.as_str(), m.source.as_str()), (SEVERITY_ERROR, "bad", "task.parse"));
    }

    #[test]
    fn a_place_past_the_line_or_the_text_marks_what_is_there() {
        let past_end = problem(2, 30).marker(4, line_end);
        assert_eq!((past_end.start_column, past_end.end_column), (1, 8));
        let empty_line = problem(3, 1).marker(4, line_end);
        assert_eq!((empty_line.start_line_number, empty_line.start_column, empty_line.end_column), (3, 1, 1));
        let past_text = problem(9, 4).marker(4, line_end);
        assert_eq!((past_text.start_line_number, past_text.start_column), (4, 1));
        let no_text = problem(1, 1).marker(0, |_| 1);
        assert_eq!((no_text.start_line_number, no_text.end_column), (1, 1));
    }

    #[test]
    fn only_kernel_errors_with_a_place_are_problems() {
        let at = ParsePosition { line: 5, column: 17 };
        let placed = at.attach(ErrorPayload::new(ErrorCode::BadRequest, "The YAML …"));
        assert_eq!(
            ParseProblem::of(&BusError::Remote(placed)),
            Some(ParseProblem { message: "The YAML …".into(), at })
        );
        let unplaced = ErrorPayload::new(ErrorCode::BadRequest, "The definition is empty");
        assert_eq!(ParseProblem::of(&BusError::Remote(unplaced)), None);
        let dropped = BusError::Dropped { topic: "task.parse".into() };
        assert_eq!(ParseProblem::of(&dropped), None);
    }
}
