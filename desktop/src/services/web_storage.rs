//! Web Storage (`localStorage`, `sessionStorage`) as plain strings, failing quietly.
//!
//! Storage can be missing (a sandboxed frame), full, or forbidden (privacy settings); the desktop
//! must keep working then, only without memory. So reads return `None` and writes are dropped
//! with a console warning. This module never interprets what it stores.

/// Which storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// Survives reloads and restarts of the browser; shared by the origin's tabs.
    Local,
    /// Lives as long as the tab.
    Session,
}

impl Area {
    fn storage(self) -> Option<web_sys::Storage> {
        let window = web_sys::window()?;
        match self {
            Area::Local => window.local_storage(),
            Area::Session => window.session_storage(),
        }
        .ok()
        .flatten()
    }

    /// The value under `key`, if any.
    pub fn get(self, key: &str) -> Option<String> {
        self.storage()?.get_item(key).ok().flatten()
    }

    /// Stores `value` under `key`; a refusal (quota, privacy mode) is logged and ignored.
    pub fn set(self, key: &str, value: &str) {
        let stored = self
            .storage()
            .is_some_and(|storage| storage.set_item(key, value).is_ok());
        if !stored {
            web_sys::console::warn_1(
                &format!("aether: could not store `{key}`; it will be forgotten on reload").into(),
            );
        }
    }

    /// Removes `key`, if present.
    pub fn remove(self, key: &str) {
        if let Some(storage) = self.storage() {
            let _ = storage.remove_item(key);
        }
    }
}
