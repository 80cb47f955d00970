//! VFS path normalization, shared by the desktop's store and the kernel.
//!
//! A normalized path is absolute, uses `/`, has no `.`/`..`/empty segments and no trailing `/`
//! (except the root `/`). `..` above the root, NUL bytes, control characters, over-long paths
//! and over-long names are refused.

/// Longest normalized path, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest single name, in bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// Why a path was refused. Maps to `bad_request`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is empty; paths start with `/`, like `/src/main.wat`")]
    Empty,
    #[error("`..` would leave the root; paths stay inside `/`")]
    AboveRoot,
    #[error("paths may not contain NUL or control characters")]
    ControlCharacter,
    #[error("the path is longer than {MAX_PATH_BYTES} bytes; use shorter names")]
    TooLong,
    #[error("a name is longer than {MAX_NAME_BYTES} bytes; use a shorter name")]
    NameTooLong,
}

/// Normalizes a path: `/a/./b/../c` → `/a/c`, `a//b/` → `/a/b`.
pub fn normalize(path: &str) -> Result<String, PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.chars().any(char::is_control) {
        return Err(PathError::ControlCharacter);
    }
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or(PathError::AboveRoot)?;
            }
            name if name.len() > MAX_NAME_BYTES => return Err(PathError::NameTooLong),
            name => parts.push(name),
        }
    }
    let normalized = format!("/{}", parts.join("/"));
    if normalized.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    Ok(normalized)
}

/// The parent of a normalized path (`None` for `/`).
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

/// The last name of a normalized path (`""` for `/`).
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

/// True when `path` is `dir` or inside it (both normalized).
pub fn is_within(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn paths_normalize_as_documented() {
        assert_eq!(normalize("/a/./b/../c").unwrap(), "/a/c");
        assert_eq!(normalize("a//b/").unwrap(), "/a/b");
        assert_eq!(normalize("/").unwrap(), "/");
        assert_eq!(normalize("/a/..").unwrap(), "/");
        assert_eq!(normalize("/ünï cödé.txt").unwrap(), "/ünï cödé.txt");
    }

    #[test]
    fn bad_paths_are_refused() {
        assert_eq!(normalize(""), Err(PathError::Empty));
        assert_eq!(normalize("/.."), Err(PathError::AboveRoot));
        assert_eq!(normalize("/a/../../b"), Err(PathError::AboveRoot));
        assert_eq!(normalize("/a\0b"), Err(PathError::ControlCharacter));
        assert_eq!(
            normalize(&format!("/{}", "x".repeat(300))),
            Err(PathError::NameTooLong)
        );
        assert_eq!(normalize(&"/abc".repeat(400)), Err(PathError::TooLong));
    }

    #[test]
    fn parents_names_and_containment() {
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
        assert_eq!(file_name("/a/b.txt"), "b.txt");
        assert!(is_within("/a/b", "/a"));
        assert!(!is_within("/ab", "/a"));
        assert!(is_within("/x", "/"));
    }

    proptest! {
        #[test]
        fn normalizing_is_idempotent_and_canonical(s in "[a-z./]{0,40}") {
            if let Ok(once) = normalize(&s) {
                prop_assert_eq!(normalize(&once).unwrap(), once.clone());
                prop_assert!(once.starts_with('/'));
                prop_assert!(once == "/" || !once.ends_with('/'));
                prop_assert!(!once.contains("//"));
                prop_assert!(once.split('/').all(|seg| seg != "." && seg != ".."));
            }
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,80}") {
            let _ = normalize(&s);
        }

        #[test]
        fn a_normalized_path_is_within_each_of_its_parents(s in "(/[a-z]{1,5}){1,6}") {
            let path = normalize(&s).unwrap();
            let mut p = path.as_str();
            while let Some(up) = parent(p) {
                prop_assert!(is_within(&path, up));
                p = up;
            }
        }
    }
}
