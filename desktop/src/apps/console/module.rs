//! What program to send: the built-in samples, an uploaded file recognised as `.wasm` or WAT,
//! and the starter WAT program. Pure and unit tested; fetching and file reading are in `loader`.

use aether_shared::vm::ModuleSource;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The first bytes of every binary WebAssembly module.
const WASM_MAGIC: &[u8] = b"\0asm";

/// The sample guests the desktop serves over HTTP, as `(name, URL)`.
pub const SAMPLES: &[(&str, &str)] = &[
    ("hello", "/samples/hello.wasm"),
    ("echo", "/samples/echo.wasm"),
];

/// The WAT the editor starts with: a WASI hello world that writes with `fd_write`.
pub const STARTER_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Hello from WAT!\n")
  (func (export "_start")
    ;; one iovec at 0: the text at 16, 16 bytes long
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 16))
    ;; write it to fd 1 (stdout); the count written lands at 8
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"#;

/// Why a module cannot be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModuleError {
    #[error("`{0}` is neither a .wasm module nor WAT text; choose a .wasm or .wat file")]
    NotAModule(String),
    #[error("the WAT program is empty; write one or pick another source")]
    EmptyWat,
    #[error("a VFS path starts with `/` (like /welcome/hello.wasm); fix the path")]
    BadPath,
}

/// Binary `.wasm` bytes as a module.
pub fn wasm(bytes: &[u8]) -> ModuleSource {
    ModuleSource::Base64 {
        base64: BASE64.encode(bytes),
    }
}

/// An uploaded file: binary wasm by its magic bytes, else WAT if it is text.
pub fn from_file(name: &str, bytes: Vec<u8>) -> Result<ModuleSource, ModuleError> {
    if bytes.starts_with(WASM_MAGIC) {
        return Ok(wasm(&bytes));
    }
    match String::from_utf8(bytes) {
        Ok(wat) if !wat.trim().is_empty() => Ok(ModuleSource::Wat { wat }),
        _ => Err(ModuleError::NotAModule(name.to_owned())),
    }
}

/// The WAT editor's text as a module.
pub fn from_wat(text: &str) -> Result<ModuleSource, ModuleError> {
    if text.trim().is_empty() {
        return Err(ModuleError::EmptyWat);
    }
    Ok(ModuleSource::Wat {
        wat: text.to_owned(),
    })
}

/// A VFS path as a module, read by the kernel from this tab's VFS session.
pub fn from_path(path: &str) -> Result<ModuleSource, ModuleError> {
    let path = path.trim();
    if !path.starts_with('/') {
        return Err(ModuleError::BadPath);
    }
    Ok(ModuleSource::Path {
        path: path.to_owned(),
        session: None,
    })
}

/// The last part of a path or file name, for a tab's title.
pub fn short_name(path: &str) -> &str {
    path.rsplit('/')
        .find(|part| !part.is_empty())
        .unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_wasm_by_its_magic_and_otherwise_wat_text() {
        let bytes = b"\0asm\x01\0\0\0".to_vec();
        assert_eq!(
            from_file("a.wasm", bytes),
            Ok(ModuleSource::Base64 {
                base64: "AGFzbQEAAAA=".into()
            })
        );
        assert_eq!(
            from_file("a.wat", b"(module)".to_vec()),
            Ok(ModuleSource::Wat {
                wat: "(module)".into()
            })
        );
        assert_eq!(
            from_file("pic.png", vec![0x89, 0xff, 0xfe]),
            Err(ModuleError::NotAModule("pic.png".into()))
        );
        assert!(from_file("empty.wat", b"  \n".to_vec()).is_err());
    }

    #[test]
    fn wat_and_paths_are_checked_before_sending() {
        assert_eq!(from_wat(" \n"), Err(ModuleError::EmptyWat));
        assert!(matches!(
            from_wat(STARTER_WAT),
            Ok(ModuleSource::Wat { .. })
        ));
        assert_eq!(
            from_path(" /welcome/hello.wasm "),
            Ok(ModuleSource::Path {
                path: "/welcome/hello.wasm".into(),
                session: None
            })
        );
        assert_eq!(from_path("hello.wasm"), Err(ModuleError::BadPath));
    }

    #[test]
    fn tabs_are_titled_by_the_last_part_of_a_path() {
        assert_eq!(short_name("/welcome/hello.wasm"), "hello.wasm");
        assert_eq!(short_name("/bin/"), "bin");
        assert_eq!(short_name("x.wat"), "x.wat");
        assert_eq!(
            SAMPLES.iter().map(|s| s.0).collect::<Vec<_>>(),
            ["hello", "echo"]
        );
    }
}
