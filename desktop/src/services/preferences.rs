//! The person's preferences in this browser: the theme, the AI model to ask for, the Editor's
//! font size, and whether the agent asks before it reads files. Kept in `localStorage`
//! ([`STORAGE_KEY`], one JSON object) so every tab of the origin shares them and they survive
//! reloads.
//!
//! [`Preferences`] holds them as signals (provided as context by the shell): the Settings app
//! and the palette change them, the theme, the Editor, the Terminal and the Agent follow them
//! live, and every change is written back at once. What is stored is read leniently
//! ([`Stored::parse`]): a value that is missing, malformed or out of range falls back to its
//! default, so an old or hand-edited entry never stops the desktop. This module never touches
//! the document; `shell::theme` applies the theme.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::web_storage::Area;

/// Where the preferences are kept in `localStorage`.
pub const STORAGE_KEY: &str = "aether.preferences";

/// The Editor's font sizes, in CSS pixels: the smallest, the default and the largest.
pub const FONT_SIZE_MIN_PX: u32 = 9;
pub const FONT_SIZE_DEFAULT_PX: u32 = 13;
pub const FONT_SIZE_MAX_PX: u32 = 32;

/// Longest model name kept, in characters (model ids are short; this bounds a pasted blob).
pub const MODEL_MAX_CHARS: usize = 200;

/// A colour theme of the desktop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    Light,
    Dark,
}

impl Theme {
    /// The other theme.
    pub fn other(self) -> Theme {
        match self {
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::Light,
        }
    }

    /// `light` or `dark`: the `data-theme` value and the `color-scheme` word.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// What the agent does with a call of a read-only tool (list, read, search files) that the
/// kernel's policy would run at once. `Ask` tightens the policy for this browser's runs; nothing
/// here loosens it (a call the policy asks about or refuses stays so).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadApproval {
    /// As the kernel's policy says (its default runs reads at once).
    #[default]
    Allow,
    /// Every read waits for the person's Allow, like a write.
    Ask,
}

/// The preferences as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// `None`: follow the system (`prefers-color-scheme`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<Theme>,
    /// The model sent with AI requests; `None`: the kernel's configured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default = "default_font_size")]
    pub editor_font_size: u32,
    #[serde(default)]
    pub read_approval: ReadApproval,
}

fn default_font_size() -> u32 {
    FONT_SIZE_DEFAULT_PX
}

impl Default for Stored {
    fn default() -> Self {
        Stored {
            theme: None,
            model: None,
            editor_font_size: FONT_SIZE_DEFAULT_PX,
            read_approval: ReadApproval::Allow,
        }
    }
}

impl Stored {
    /// Reads a stored entry field by field: a field that is missing or not understood takes
    /// its default, a font size is held within its bounds, a blank model means none.
    pub fn parse(text: &str) -> Stored {
        #[derive(Deserialize)]
        struct Loose {
            theme: Option<serde_json::Value>,
            model: Option<serde_json::Value>,
            editor_font_size: Option<serde_json::Value>,
            read_approval: Option<serde_json::Value>,
        }
        fn field<T: serde::de::DeserializeOwned>(value: Option<serde_json::Value>) -> Option<T> {
            value.and_then(|v| serde_json::from_value(v).ok())
        }
        let Ok(loose) = serde_json::from_str::<Loose>(text) else {
            return Stored::default();
        };
        Stored {
            theme: field(loose.theme),
            model: field::<String>(loose.model).and_then(|m| clean_model(&m)),
            editor_font_size: field::<u32>(loose.editor_font_size)
                .map_or(FONT_SIZE_DEFAULT_PX, clamp_font_size),
            read_approval: field(loose.read_approval).unwrap_or_default(),
        }
    }
}

/// A font size held within [`FONT_SIZE_MIN_PX`]..=[`FONT_SIZE_MAX_PX`].
pub fn clamp_font_size(px: u32) -> u32 {
    px.clamp(FONT_SIZE_MIN_PX, FONT_SIZE_MAX_PX)
}

/// A model name as typed: trimmed, `None` when blank, cut to [`MODEL_MAX_CHARS`].
pub fn clean_model(typed: &str) -> Option<String> {
    let name: String = typed.trim().chars().take(MODEL_MAX_CHARS).collect();
    (!name.is_empty()).then_some(name)
}

/// The preferences as signals. `Copy`: take it from context.
#[derive(Clone, Copy, Debug)]
pub struct Preferences {
    pub theme: RwSignal<Option<Theme>>,
    pub model: RwSignal<Option<String>>,
    pub editor_font_size: RwSignal<u32>,
    pub read_approval: RwSignal<ReadApproval>,
}

impl Preferences {
    /// The stored preferences (defaults where there are none), written back on every change
    /// for as long as the current reactive owner lives.
    pub fn load() -> Preferences {
        let stored = Area::Local
            .get(STORAGE_KEY)
            .map(|text| Stored::parse(&text))
            .unwrap_or_default();
        let preferences = Preferences {
            theme: RwSignal::new(stored.theme),
            model: RwSignal::new(stored.model),
            editor_font_size: RwSignal::new(stored.editor_font_size),
            read_approval: RwSignal::new(stored.read_approval),
        };
        Effect::new(move |first: Option<()>| {
            let now = preferences.snapshot();
            // The first run only reads what was loaded: nothing to write yet.
            if first.is_some()
                && let Ok(json) = serde_json::to_string(&now)
            {
                Area::Local.set(STORAGE_KEY, &json);
            }
        });
        preferences
    }

    /// The current values (tracked).
    pub fn snapshot(self) -> Stored {
        Stored {
            theme: self.theme.get(),
            model: self.model.get(),
            editor_font_size: self.editor_font_size.get(),
            read_approval: self.read_approval.get(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_stored_or_garbage_gives_the_defaults() {
        assert_eq!(Stored::parse("{}"), Stored::default());
        assert_eq!(Stored::parse("not json"), Stored::default());
        assert_eq!(Stored::parse("[1, 2]"), Stored::default());
        assert_eq!(Stored::default().editor_font_size, FONT_SIZE_DEFAULT_PX);
        assert_eq!(Stored::default().theme, None);
    }

    #[test]
    fn a_bad_field_falls_back_alone_and_the_others_are_kept() {
        let stored = Stored::parse(
            r#"{"theme": "sepia", "model": "  qwen2.5-coder:7b ", "editor_font_size": 18, "read_approval": "ask"}"#,
        );
        assert_eq!(stored.theme, None);
        assert_eq!(stored.model.as_deref(), Some("qwen2.5-coder:7b"));
        assert_eq!(stored.editor_font_size, 18);
        assert_eq!(stored.read_approval, ReadApproval::Ask);
        let stored = Stored::parse(r#"{"theme": "light", "editor_font_size": "big", "model": 3}"#);
        assert_eq!(stored.theme, Some(Theme::Light));
        assert_eq!(stored.editor_font_size, FONT_SIZE_DEFAULT_PX);
        assert_eq!(stored.model, None);
    }

    #[test]
    fn font_sizes_are_held_within_bounds_and_blank_models_are_none() {
        assert_eq!(
            Stored::parse(r#"{"editor_font_size": 2}"#).editor_font_size,
            FONT_SIZE_MIN_PX
        );
        assert_eq!(
            Stored::parse(r#"{"editor_font_size": 400}"#).editor_font_size,
            FONT_SIZE_MAX_PX
        );
        assert_eq!(clean_model("   "), None);
        assert_eq!(
            clean_model(&"m".repeat(500)).map(|m| m.len()),
            Some(MODEL_MAX_CHARS)
        );
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let stored = Stored {
            theme: Some(Theme::Dark),
            model: Some("llama3".into()),
            editor_font_size: 20,
            read_approval: ReadApproval::Ask,
        };
        let json = serde_json::to_string(&stored).unwrap();
        assert_eq!(Stored::parse(&json), stored);
        assert_eq!(Theme::Dark.other(), Theme::Light);
        assert_eq!(Theme::Light.as_str(), "light");
    }
}
