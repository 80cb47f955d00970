//! The tab's VFS session id: `s-` and 16 random hex digits, kept in `sessionStorage` so a reload
//! of the same tab serves the same files, while every other tab gets its own.
//!
//! An id found in storage that breaks `validate_session_id` is replaced. This module only
//! chooses and remembers the id; `server` registers it.

use aether_shared::vfs::validate_session_id;

use crate::services::web_storage::Area;

/// The `sessionStorage` key of the id.
const STORAGE_KEY: &str = "aether.vfs.session";

/// This tab's session id, created on first use.
pub fn tab_session_id() -> String {
    if let Some(id) = Area::Session.get(STORAGE_KEY)
        && validate_session_id(&id).is_ok()
    {
        return id;
    }
    let id = format_session_id(random_bytes());
    Area::Session.set(STORAGE_KEY, &id);
    id
}

/// `s-` and the bytes in lowercase hex.
pub fn format_session_id(bytes: [u8; 8]) -> String {
    let mut id = String::from("s-");
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// Eight random bytes from `crypto.getRandomValues`, or `Math.random` where that is missing.
fn random_bytes() -> [u8; 8] {
    let mut bytes = [0u8; 8];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_valid_and_never_look_like_client_ids() {
        let id = format_session_id([0, 1, 0xab, 0xff, 9, 10, 11, 12]);
        assert_eq!(id, "s-0001abff090a0b0c");
        assert!(validate_session_id(&id).is_ok());
    }
}
