//! The Environment field: `KEY=VALUE` lines into the program's environment.
//!
//! Blank lines and lines starting with `#` are skipped; the value is everything after the first
//! `=` (it may contain `=` and spaces); a later line for the same key wins. Pure and unit tested.

use std::collections::BTreeMap;

/// A line that is not `KEY=VALUE`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the environment, `{text}`, is not KEY=VALUE; fix or remove it")]
pub struct EnvError {
    /// 1-based line number.
    pub line: usize,
    pub text: String,
}

/// Parses the Environment field.
pub fn parse_env(text: &str) -> Result<BTreeMap<String, String>, EnvError> {
    let mut env = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        if line.trim_end().is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || EnvError {
            line: index + 1,
            text: raw.trim().to_owned(),
        };
        let (key, value) = line.split_once('=').ok_or_else(bad)?;
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        env.insert(key.to_owned(), value.trim_end_matches('\r').to_owned());
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_variables_and_blanks_and_comments_are_skipped() {
        let env =
            parse_env("GREETING=hi there\n\n# a comment\n  PATH=/bin:/usr/bin\nEQ=a=b\nEMPTY=\n")
                .unwrap();
        assert_eq!(env["GREETING"], "hi there");
        assert_eq!(env["PATH"], "/bin:/usr/bin");
        assert_eq!(env["EQ"], "a=b");
        assert_eq!(env["EMPTY"], "");
        assert_eq!(env.len(), 4);
        assert!(parse_env("").unwrap().is_empty());
    }

    #[test]
    fn a_later_line_for_the_same_key_wins() {
        assert_eq!(parse_env("A=1\r\nA=2\r\n").unwrap()["A"], "2");
    }

    #[test]
    fn a_line_without_a_key_is_reported_with_its_number() {
        let err = parse_env("A=1\njust words\n").unwrap_err();
        assert_eq!(
            err,
            EnvError {
                line: 2,
                text: "just words".into()
            }
        );
        assert_eq!(parse_env("=x").unwrap_err().line, 1);
        assert_eq!(parse_env("MY KEY=x").unwrap_err().line, 1);
        assert!(err.to_string().contains("line 2"));
    }
}
