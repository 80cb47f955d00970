//! What the kernel knows about a desktop file from its name and bytes: its content type, whether
//! its name carries a content hash (then it is served `immutable`), and its `ETag`.
//!
//! Shared by the build script that embeds the desktop (`build.rs` includes this file by path)
//! and by the folder loader ([`super::folder`]), so both serve a file the same way. It never
//! touches the file system and depends on nothing but `std`.

/// The `Content-Type` of a file named `name`, from its extension.
pub fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "webmanifest" => "application/manifest+json",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// True when `name` carries a content hash: Trunk's `-<16 hex digits>` before the extension
/// (`_bg` allowed after it, as wasm-bindgen names the module).
pub fn is_hashed(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("");
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `ETag` of a file's bytes, quotes included: a 64-bit FNV-1a of them in hex.
pub fn etag(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_app_manifest_has_its_own_content_type() {
        assert_eq!(
            content_type("manifest.webmanifest"),
            "application/manifest+json"
        );
        assert_eq!(content_type("manifest.json"), "application/json");
        assert_eq!(content_type("sw.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("icon-192.png"), "image/png");
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("robots.txt"), "text/plain; charset=utf-8");
        assert_eq!(content_type("blob"), "application/octet-stream");
    }

    #[test]
    fn only_content_hashed_names_are_hashed() {
        assert!(is_hashed("aether-desktop-0123456789abcdef.js"));
        assert!(is_hashed("aether-desktop-0123456789abcdef_bg.wasm"));
        assert!(is_hashed("favicon-0123456789abcdef.svg"));
        // Stable names the browser asks for by name must be revalidated.
        assert!(!is_hashed("sw.js"));
        assert!(!is_hashed("manifest.webmanifest"));
        assert!(!is_hashed("icon-192.png"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("app-0123456789abcdeg.js"));
    }

    #[test]
    fn etags_are_quoted_and_follow_the_bytes() {
        assert_eq!(etag(b""), "\"cbf29ce484222325\"");
        assert_ne!(etag(b"a"), etag(b"b"));
    }
}
