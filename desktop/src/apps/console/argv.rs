//! The Arguments field split into `argv[1..]` the way a POSIX shell splits words, without any
//! expansion: whitespace separates words, `'…'` keeps its text as is, `"…"` keeps it too but lets
//! `\"` and `\\` through, and a backslash outside quotes takes the next character literally.
//!
//! Pure: nothing here touches the browser, so it is unit tested natively.

/// Why the Arguments field could not be split.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// A quote was opened and never closed.
    #[error("the arguments have an unclosed {0} quote; close it, or escape it with a backslash")]
    Unclosed(char),
}

/// Splits `line` into words. `a "b c" 'd'` is `["a", "b c", "d"]`; `""` is one empty word.
pub fn split_args(line: &str) -> Result<Vec<String>, ArgsError> {
    let mut words = Vec::new();
    let mut word = String::new();
    // True once the current word has begun, even if it is still empty (`""`).
    let mut started = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            '\'' => {
                started = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(ArgsError::Unclosed('\'')),
                    }
                }
            }
            '"' => {
                started = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(ArgsError::Unclosed('"')),
                        },
                        Some(c) => word.push(c),
                        None => return Err(ArgsError::Unclosed('"')),
                    }
                }
            }
            '\\' => {
                started = true;
                // A trailing backslash stands for itself.
                word.push(chars.next().unwrap_or('\\'));
            }
            c => {
                started = true;
                word.push(c);
            }
        }
    }
    if started {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Vec<String> {
        split_args(line).unwrap()
    }

    #[test]
    fn words_are_separated_by_any_run_of_whitespace() {
        assert_eq!(split("  a  b\tc\n"), ["a", "b", "c"]);
        assert!(split("").is_empty());
        assert!(split("   ").is_empty());
    }

    #[test]
    fn quotes_keep_spaces_and_join_with_neighbouring_text() {
        assert_eq!(split(r#"a "b c" 'd e'"#), ["a", "b c", "d e"]);
        assert_eq!(split(r#"--name="Ada Lovelace""#), ["--name=Ada Lovelace"]);
        assert_eq!(split(r#"'it''s'"#), ["its"]);
        assert_eq!(split(r#""" ''"#), ["", ""]);
    }

    #[test]
    fn backslashes_escape_outside_quotes_and_only_quote_or_backslash_inside_double_quotes() {
        assert_eq!(split(r"a\ b \'x"), ["a b", "'x"]);
        assert_eq!(split(r#""say \"hi\" \\ \n""#), [r#"say "hi" \ \n"#]);
        assert_eq!(split(r"'\n'"), [r"\n"]);
        assert_eq!(split(r"end\"), [r"end\"]);
    }

    #[test]
    fn an_unclosed_quote_is_an_error_that_names_it() {
        assert_eq!(split_args("a 'b"), Err(ArgsError::Unclosed('\'')));
        assert_eq!(split_args(r#"a "b"#), Err(ArgsError::Unclosed('"')));
        assert!(
            split_args("'x")
                .unwrap_err()
                .to_string()
                .contains("unclosed ' quote")
        );
    }
}
