//! Typed option bags for Monaco calls, turned into JavaScript objects through JSON (serde on the
//! Rust side, `JSON.parse` on the other), so every key is spelled once, here.

use serde::Serialize;
use wasm_bindgen::JsValue;

/// A serializable value as a JavaScript object (`undefined` if it does not serialize).
pub fn to_js<T: Serialize>(value: &T) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .and_then(|json| js_sys::JSON::parse(&json).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

/// `require.config({paths: {vs}})`.
#[derive(Serialize)]
pub struct LoaderConfig {
    paths: LoaderPaths,
}

#[derive(Serialize)]
struct LoaderPaths {
    vs: String,
}

impl LoaderConfig {
    pub fn new(vs: &str) -> LoaderConfig {
        LoaderConfig {
            paths: LoaderPaths { vs: vs.to_owned() },
        }
    }
}

/// The options of a code editor.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EditorOptions {
    pub automatic_layout: bool,
    pub font_size: u32,
    pub minimap: Toggle,
    pub inline_suggest: Toggle,
    pub scroll_beyond_last_line: bool,
    pub read_only: bool,
    pub tab_size: u32,
}

impl Default for EditorOptions {
    fn default() -> Self {
        EditorOptions {
            automatic_layout: true,
            font_size: 13,
            minimap: Toggle { enabled: false },
            inline_suggest: Toggle { enabled: true },
            scroll_beyond_last_line: false,
            read_only: false,
            tab_size: 4,
        }
    }
}

/// `{fontSize}` for `updateOptions`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FontSize {
    pub font_size: u32,
}

/// `{readOnly}` for `updateOptions`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadOnly {
    pub read_only: bool,
}

/// `{enabled}`.
#[derive(Serialize)]
pub struct Toggle {
    pub enabled: bool,
}

/// The options of a diff editor.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffOptions {
    pub automatic_layout: bool,
    pub render_side_by_side: bool,
    pub read_only: bool,
    pub original_editable: bool,
}

/// One marker (`IMarkerData`); severity 8 is an error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Marker {
    pub severity: u32,
    pub message: String,
    pub source: String,
    pub start_line_number: u32,
    pub start_column: u32,
    pub end_line_number: u32,
    pub end_column: u32,
}

/// `MarkerSeverity.Error`.
pub const SEVERITY_ERROR: u32 = 8;

/// `{id, extensions, aliases}` for `monaco.languages.register`.
#[derive(Serialize)]
pub struct LanguageExtensionPoint {
    pub id: &'static str,
    pub extensions: &'static [&'static str],
    pub aliases: &'static [&'static str],
}

/// One inline completion (`{insertText}`) list: `{items}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InlineCompletions {
    pub items: Vec<InlineCompletion>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InlineCompletion {
    pub insert_text: String,
}
