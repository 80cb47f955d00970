//! [`Copyable`]: a piece of text to copy (a URL, a token, a set-up line) and its **Copy** button.
//!
//! Copy writes with the asynchronous Clipboard API (`navigator.clipboard.writeText`, reached
//! through `js_sys::Reflect` so no unstable `web-sys` binding is needed). Where that is missing
//! or refused (a page served over plain HTTP from another host, a denied permission) it selects
//! the text and tries the older `document.execCommand("copy")`; when that fails too, the text
//! stays selected and the button says to press Ctrl+C. It never reads the clipboard.
//!
//! DOM contract: the text is `[data-testid=<test_id>]`, its button `[data-testid=<copy_id>]
//! [data-copied=idle|copied|manual]`.

use js_sys::{Function, Promise, Reflect};
use leptos::html::Pre;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// How the last copy went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CopyState {
    Idle,
    Copied,
    /// Could not write the clipboard: the text is selected for Ctrl+C.
    Manual,
}

impl CopyState {
    fn word(self) -> &'static str {
        match self {
            CopyState::Idle => "idle",
            CopyState::Copied => "copied",
            CopyState::Manual => "manual",
        }
    }

    fn label(self) -> &'static str {
        match self {
            CopyState::Idle => "Copy",
            CopyState::Copied => "Copied",
            CopyState::Manual => "Press Ctrl+C",
        }
    }
}

/// `text` in a box, with a Copy button beside it.
#[component]
pub(super) fn Copyable(
    text: String,
    test_id: &'static str,
    copy_id: &'static str,
    /// Shown as one line (a URL, a token) rather than a block.
    #[prop(optional)]
    inline: bool,
) -> impl IntoView {
    let node = NodeRef::<Pre>::new();
    let state = RwSignal::new(CopyState::Idle);
    let copy_text = text.clone();
    let copy = move |_| {
        let text = copy_text.clone();
        spawn_local(async move {
            let copied = write_clipboard(&text).await
                || node.get_untracked().is_some_and(|el| select_and_copy(&el));
            let done = if copied {
                CopyState::Copied
            } else {
                CopyState::Manual
            };
            state.try_set(done);
        });
    };
    view! {
        <div class="mcp-copyable" class:inline=inline>
            <pre data-testid=test_id node_ref=node>{text}</pre>
            <button
                data-testid=copy_id
                data-copied=move || state.get().word()
                title="Copy to the clipboard"
                on:click=copy
            >
                {move || state.get().label()}
            </button>
        </div>
    }
}

/// `navigator.clipboard.writeText(text)`; false when it is missing or refused.
async fn write_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    let Ok(clipboard) = Reflect::get(&navigator, &JsValue::from_str("clipboard")) else {
        return false;
    };
    if clipboard.is_undefined() || clipboard.is_null() {
        return false;
    }
    let Some(promise) = call(&clipboard, "writeText", &[JsValue::from_str(text)])
        .and_then(|p| p.dyn_into::<Promise>().ok())
    else {
        return false;
    };
    JsFuture::from(promise).await.is_ok()
}

/// Selects the text of `element` and runs `document.execCommand("copy")`; true when it copied.
/// The selection stays, so the user can press Ctrl+C when it did not.
fn select_and_copy(element: &web_sys::HtmlElement) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let Some(selection) = call(&window, "getSelection", &[]).filter(|s| !s.is_null()) else {
        return false;
    };
    if call(&selection, "selectAllChildren", &[JsValue::from(element.clone())]).is_none() {
        return false;
    }
    let Some(document) = window.document() else {
        return false;
    };
    call(&document, "execCommand", &[JsValue::from_str("copy")])
        .and_then(|copied| copied.as_bool())
        .unwrap_or(false)
}

/// `target[method](...args)`, `None` when it is not a function or throws.
fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Option<JsValue> {
    let function = Reflect::get(target, &JsValue::from_str(method))
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    let args: js_sys::Array = args.iter().collect();
    function.apply(target, &args).ok()
}
