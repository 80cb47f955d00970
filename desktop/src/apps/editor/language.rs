//! The Monaco language of a file, from its extension. Pure and unit tested.

/// The Monaco language id for `path` (`plaintext` when the extension is unknown).
pub fn of_path(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => return if name == "Dockerfile" { "dockerfile" } else { "plaintext" },
    };
    match ext.as_str() {
        "rs" => "rust",
        "wat" | "wast" => "wat",
        "js" | "mjs" | "cjs" => "javascript",
        "ts" | "mts" => "typescript",
        "py" => "python",
        "md" | "markdown" => "markdown",
        "json" => "json",
        "yaml" | "yml" => "yaml",
        // Monaco has no TOML; INI colours its keys, sections and strings well enough.
        "toml" | "ini" | "cfg" => "ini",
        "html" | "htm" => "html",
        "css" => "css",
        "sh" | "bash" => "shell",
        "c" | "h" => "c",
        "cpp" | "cc" | "hpp" => "cpp",
        "go" => "go",
        "java" => "java",
        "sql" => "sql",
        "xml" | "svg" => "xml",
        _ => "plaintext",
    }
}

/// True for files Run can execute (`.wat` as text, `.wasm` as bytes).
pub fn is_runnable(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".wat") || lower.ends_with(".wasm")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_come_from_the_extension() {
        assert_eq!(of_path("/src/main.rs"), "rust");
        assert_eq!(of_path("/welcome/hello.wat"), "wat");
        assert_eq!(of_path("/a/B.PY"), "python");
        assert_eq!(of_path("/README.md"), "markdown");
        assert_eq!(of_path("/x.json"), "json");
        assert_eq!(of_path("/ci.yml"), "yaml");
        assert_eq!(of_path("/Cargo.toml"), "ini");
        assert_eq!(of_path("/app.js"), "javascript");
        assert_eq!(of_path("/.gitignore"), "plaintext");
        assert_eq!(of_path("/notes"), "plaintext");
        assert_eq!(of_path("/Dockerfile"), "dockerfile");
    }

    #[test]
    fn only_wat_and_wasm_run() {
        assert!(is_runnable("/a/hello.wat"));
        assert!(is_runnable("/a/HELLO.WASM"));
        assert!(!is_runnable("/a/main.rs"));
    }
}
