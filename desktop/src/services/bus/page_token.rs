//! The tab's access token: read from the page URL (`?token=…`) once, kept in `sessionStorage`
//! for the life of the tab, and removed from the address bar with `history.replaceState`, so it
//! does not linger in the history, in bookmarks or over someone's shoulder.
//!
//! Every (re)connection of the bus uses the URL built from it at start-up, and a reload of the
//! tab (whose address no longer has the token) finds it in `sessionStorage`. A token in the URL
//! always replaces the stored one. Browser glue only; the string work is in `url`.

use wasm_bindgen::JsValue;

use super::url::take_token;
use crate::services::web_storage::Area;

/// The `sessionStorage` key of the token.
pub const SESSION_KEY: &str = "aether.token";

/// The token this tab presents to the kernel (raw, still percent-encoded), if any.
pub fn tab_token() -> Option<String> {
    let window = web_sys::window()?;
    let location = window.location();
    let taken = take_token(&location.search().unwrap_or_default());
    if taken.found {
        if let Some(token) = &taken.token {
            Area::Session.set(SESSION_KEY, token);
        }
        let clean = format!(
            "{}{}{}",
            location.pathname().unwrap_or_default(),
            taken.remaining_search,
            location.hash().unwrap_or_default()
        );
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&clean));
        }
    }
    taken.token.or_else(|| Area::Session.get(SESSION_KEY))
}
