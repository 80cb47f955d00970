//! The path glob of `vfs:search` (`glob`): which files a search reads.
//!
//! [`PathGlob::new`] translates the glob into one anchored regular expression, compiled once per
//! search: `*` is any run of characters but `/`, `**` any folders (`a/**/b` matches `a/b` and
//! `a/x/y/b`), `?` one character but `/`, `[abc]`/`[!abc]` a class, `{a,b}` alternatives
//! (nestable); everything else is literal. A glob without `/` is matched against the file's
//! name, one with `/` against its whole path from the root (a leading `/` is optional). Pure:
//! it never reads files.

use regex::Regex;

/// A compiled glob.
#[derive(Clone, Debug)]
pub struct PathGlob {
    regex: Regex,
    name_only: bool,
}

/// Why a glob cannot be used: a sentence for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`glob` {0}")]
pub struct GlobError(String);

impl PathGlob {
    /// Compiles `glob`.
    pub fn new(glob: &str) -> Result<PathGlob, GlobError> {
        let name_only = !glob.contains('/');
        let body = translate(glob.strip_prefix('/').unwrap_or(glob))?;
        let anchored = if name_only {
            format!("^{body}$")
        } else {
            format!("^/{body}$")
        };
        let regex = Regex::new(&anchored)
            .map_err(|e| GlobError(format!("cannot be compiled ({e}); simplify it")))?;
        Ok(PathGlob { regex, name_only })
    }

    /// True when the file at `path` (normalized, from `/`) matches.
    pub fn matches(&self, path: &str) -> bool {
        let subject = if self.name_only {
            path.rsplit('/').next().unwrap_or(path)
        } else {
            path
        };
        self.regex.is_match(subject)
    }
}

/// The regular expression (unanchored) that `glob` stands for.
fn translate(glob: &str) -> Result<String, GlobError> {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = String::with_capacity(glob.len() * 2);
    let mut depth = 0_usize; // open `{`
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                let at_start = i == 0 || chars[i - 1] == '/';
                if at_start && chars.get(i + 2) == Some(&'/') {
                    out.push_str("(?:[^/]*/)*");
                    i += 3;
                } else {
                    out.push_str(".*");
                    i += 2;
                }
                continue;
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => {
                let close = chars[i + 1..]
                    .iter()
                    .enumerate()
                    .skip(1) // `[]]` holds a `]`
                    .find(|(_, c)| **c == ']')
                    .map(|(at, _)| i + 1 + at)
                    .ok_or_else(|| {
                        GlobError("has a `[` without its `]`; close the class".into())
                    })?;
                let mut class: String = chars[i + 1..close].iter().collect();
                if let Some(rest) = class.strip_prefix('!') {
                    class = format!("^{rest}");
                }
                out.push('[');
                out.push_str(&class.replace('\\', "\\\\").replace('[', "\\["));
                out.push(']');
                i = close + 1;
                continue;
            }
            '{' => {
                depth += 1;
                out.push_str("(?:");
            }
            '}' if depth > 0 => {
                depth -= 1;
                out.push(')');
            }
            ',' if depth > 0 => out.push('|'),
            c => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
        i += 1;
    }
    if depth > 0 {
        return Err(GlobError(
            "has a `{` without its `}`; close the alternatives".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(glob: &str, paths: &[&str]) -> Vec<bool> {
        let glob = PathGlob::new(glob).unwrap();
        paths.iter().map(|p| glob.matches(p)).collect()
    }

    #[test]
    fn a_glob_without_a_slash_matches_file_names_anywhere() {
        assert_eq!(
            hits("*.rs", &["/a.rs", "/src/deep/b.rs", "/a.rs.txt", "/rs"]),
            [true, true, false, false]
        );
        assert_eq!(hits("?.md", &["/x/a.md", "/ab.md"]), [true, false]);
    }

    #[test]
    fn a_glob_with_a_slash_matches_the_whole_path_from_the_root() {
        let paths = [
            "/src/a.rs",
            "/src/x/y/b.rs",
            "/other/src/a.rs",
            "/src/a.txt",
        ];
        assert_eq!(hits("src/**/*.rs", &paths), [true, true, false, false]);
        assert_eq!(hits("/src/**/*.rs", &paths), hits("src/**/*.rs", &paths));
        // `*` stays inside one folder.
        assert_eq!(hits("src/*.rs", &paths), [true, false, false, false]);
        assert_eq!(hits("**/a.rs", &paths), [true, false, true, false]);
        assert_eq!(hits("src/**", &paths), [true, true, false, true]);
    }

    #[test]
    fn classes_and_alternatives_work_and_the_rest_is_literal() {
        assert_eq!(
            hits("*.{rs,toml}", &["/a.rs", "/Cargo.toml", "/a.md"]),
            [true, true, false]
        );
        assert_eq!(
            hits("[ab]*.txt", &["/a1.txt", "/b.txt", "/c.txt"]),
            [true, true, false]
        );
        assert_eq!(hits("[!ab]*", &["/a", "/c"]), [false, true]);
        // Regex characters mean themselves.
        assert_eq!(
            hits("a+b(1).txt", &["/a+b(1).txt", "/aab1.txt"]),
            [true, false]
        );
        assert_eq!(
            hits("{a,{b,c}}.x", &["/a.x", "/c.x", "/d.x"]),
            [true, true, false]
        );
    }

    #[test]
    fn unclosed_brackets_and_braces_say_what_to_fix() {
        let open_class = PathGlob::new("[ab").unwrap_err().to_string();
        assert!(open_class.contains("`[` without its `]`"), "{open_class}");
        let open_alt = PathGlob::new("{a,b").unwrap_err().to_string();
        assert!(open_alt.contains("`{` without its `}`"), "{open_alt}");
    }
}
