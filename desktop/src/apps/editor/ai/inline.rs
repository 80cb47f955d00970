//! Inline ghost-text completion: a Monaco inline completions provider that asks the kernel's
//! `ai.complete` for the text at the cursor.
//!
//! Debounced: a request goes out only after the user paused for [`DEBOUNCE_MS`]; when Monaco
//! cancels (the user typed on, moved, or left), the request is cancelled on the kernel too
//! (`ai.cancel`), which stops the upstream call. When the kernel says AI is not configured, the
//! provider stays quiet for the rest of the window's life (the AI panel says why).

use std::cell::Cell;
use std::rc::Rc;

use aether_shared::ErrorCode;
use aether_shared::ai::Complete;
use js_sys::{JsString, Object, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::client::AiClient;
use crate::services::monaco::bindings::{self, CancellationToken, Disposable, TextModel};
use crate::services::monaco::options::{InlineCompletion, InlineCompletions, to_js};

/// Pause after the last keystroke before a completion is requested, in milliseconds.
pub const DEBOUNCE_MS: u32 = 400;

/// Registers the provider for every language; `path()` names the file in front.
pub fn register(ai: AiClient, path: Rc<dyn Fn() -> Option<String>>, quiet: Rc<Cell<bool>>) -> Disposable {
    let provide = Closure::<dyn Fn(TextModel, JsValue, JsValue, CancellationToken) -> Promise>::new(
        move |model: TextModel, position: JsValue, _context: JsValue, token: CancellationToken| {
            let (ai, path, quiet) = (ai.clone(), Rc::clone(&path), Rc::clone(&quiet));
            future_to_promise(async move {
                let items = provide(ai, path, quiet, model, position, token).await;
                Ok(to_js(&InlineCompletions {
                    items: items
                        .into_iter()
                        .map(|insert_text| InlineCompletion { insert_text })
                        .collect(),
                }))
            })
        },
    );
    let provider = Object::new();
    let _ = js_sys::Reflect::set(&provider, &"provideInlineCompletions".into(), &provide.into_js_value());
    let noop = Closure::<dyn Fn()>::new(|| {}).into_js_value();
    let _ = js_sys::Reflect::set(&provider, &"disposeInlineCompletions".into(), &noop);
    bindings::register_inline_completions_provider("*", &provider)
}

async fn provide(
    ai: AiClient,
    path: Rc<dyn Fn() -> Option<String>>,
    quiet: Rc<Cell<bool>>,
    model: TextModel,
    position: JsValue,
    token: CancellationToken,
) -> Vec<String> {
    if quiet.get() {
        return Vec::new();
    }
    gloo_timers::future::TimeoutFuture::new(DEBOUNCE_MS).await;
    if token.is_cancellation_requested() || quiet.get() {
        return Vec::new();
    }
    let Some(path) = path() else { return Vec::new() };
    let offset = model.get_offset_at(&position);
    let text = JsString::from(model.get_value());
    let request = Complete {
        path,
        language: model.get_language_id(),
        prefix: String::from(text.slice(0, offset)),
        suffix: String::from(text.slice(offset, text.length())),
        // The client names the model of Settings.
        model: None,
    };
    let (id, answer) = ai.complete(request);
    let cancel = {
        let ai = ai.clone();
        Closure::<dyn FnMut()>::new(move || ai.cancel(&id)).into_js_value()
    };
    let listening = token.on_cancellation_requested(cancel.unchecked_ref());
    let answer = answer.await;
    listening.dispose_handle();
    match answer {
        Ok(completion) if !completion.text.is_empty() && !token.is_cancellation_requested() => {
            vec![completion.text]
        }
        Err(e) if e.code() == ErrorCode::NotConfigured => {
            quiet.set(true);
            Vec::new()
        }
        _ => Vec::new(),
    }
}
