//! The WebAssembly text format for Monaco (which has no WAT of its own): the `wat` language id
//! for `.wat`/`.wast` files and a small Monarch tokenizer (comments, strings, `$names`,
//! instructions, types, numbers).

use serde::Serialize;

use super::bindings;
use super::options::{LanguageExtensionPoint, to_js};

/// The language id.
pub const ID: &str = "wat";

/// Monarch rules: `[regex, token]` pairs per state.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Monarch {
    default_token: &'static str,
    tokenizer: Tokenizer,
}

#[derive(Serialize)]
struct Tokenizer {
    root: Vec<Rule>,
    comment: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Rule {
    Token(&'static str, &'static str),
    Push(&'static str, &'static str, &'static str),
}

/// Registers `wat` (called once, when Monaco has loaded).
pub fn register() {
    bindings::register_language(&to_js(&LanguageExtensionPoint {
        id: ID,
        extensions: &[".wat", ".wast"],
        aliases: &["WebAssembly Text", "wat"],
    }));
    let monarch = Monarch {
        default_token: "",
        tokenizer: Tokenizer {
            root: vec![
                Rule::Token(r";;.*$", "comment"),
                Rule::Push(r"\(;", "comment", "@comment"),
                Rule::Token(r#""([^"\\]|\\.)*""#, "string"),
                Rule::Token(r"\$[\w.$!#%&'*+\-/:<=>?@\\^`|~]+", "variable"),
                Rule::Token(r"\b(i32|i64|f32|f64|v128|funcref|externref)\b", "type"),
                Rule::Token(
                    r"\b(module|func|param|result|local|global|export|import|memory|data|table|elem|type|start|mut|offset)\b",
                    "keyword",
                ),
                Rule::Token(r"\b[a-z][a-z0-9_]*(\.[a-z0-9_]+)+\b", "keyword.instruction"),
                Rule::Token(
                    r"\b(call|call_indirect|br|br_if|br_table|return|block|loop|if|then|else|end|drop|select|unreachable|nop)\b",
                    "keyword.control",
                ),
                Rule::Token(
                    r"-?\b(0x[0-9a-fA-F_]+|[0-9][0-9_]*(\.[0-9_]+)?([eE][+-]?[0-9]+)?)\b",
                    "number",
                ),
                Rule::Token(r"[()]", "delimiter.parenthesis"),
            ],
            comment: vec![
                Rule::Push(r";\)", "comment", "@pop"),
                Rule::Token(r"[^;)]+", "comment"),
                Rule::Token(r"[;)]", "comment"),
            ],
        },
    };
    bindings::set_monarch_tokens_provider(ID, &to_js(&monarch));
}
