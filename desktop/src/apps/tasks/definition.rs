//! The definition's editor: a plain text box at once, then Monaco (YAML, the kernel's parse errors
//! as markers on their line) as soon as it has loaded, holding the same text — what was typed
//! meanwhile included, the caret where it was, the focus kept. If Monaco cannot load, the text
//! box stays.
//!
//! Both write the window's `source`, which Run, Save and the first preview read; a text set from
//! elsewhere (Load) reaches Monaco. In Monaco every edit is checked by the kernel (`task.parse`)
//! after a short pause, so markers follow the typing and go once the text parses; in the text
//! box, problems show in the status line when the text is run or loaded, as they always did.
//! The editor is disposed with the window.
//!
//! DOM contract: `[data-testid=tasks-definition][data-editor=loading|monaco|fallback]`, the text
//! box `[data-testid=tasks-source]` (until Monaco is up) and `[data-testid=tasks-monaco]
//! [data-model]` (the URI of the Monaco model).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::html::{Div, Textarea};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};

use super::app::App;
use super::source_editor::SourceEditor;
use crate::services::monaco;
use crate::shell::windows::WindowId;

/// The pause after the last edit before the kernel checks the text.
const CHECK_DELAY_MS: u32 = 300;

/// Which editor the window shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The text box, while Monaco loads.
    Loading,
    Monaco,
    /// The text box, for good: Monaco did not load.
    Fallback,
}

impl Mode {
    fn word(self) -> &'static str {
        match self {
            Mode::Loading => "loading",
            Mode::Monaco => "monaco",
            Mode::Fallback => "fallback",
        }
    }
}

/// The editor of a window's definition.
#[component]
pub(super) fn Definition(app: App) -> impl IntoView {
    let source = app.source;
    let problem = app.problem;
    let mode = RwSignal::new(Mode::Loading);
    // Changes once at most: the text box is not redrawn when Monaco fails (it keeps the focus).
    let boxed = Memo::new(move |_| mode.get() != Mode::Monaco);
    let window = use_context::<WindowId>().map_or(0, |w| w.0);
    let uri = SourceEditor::uri_of(window);
    let slot: StoredValue<Rc<RefCell<Option<SourceEditor>>>, LocalStorage> =
        StoredValue::new_local(Rc::default());
    let text_box = NodeRef::<Textarea>::new();
    let holder = NodeRef::<Div>::new();

    {
        let uri = uri.clone();
        holder.on_load(move |element| {
            spawn_local(async move {
                if monaco::load().await.is_err() {
                    mode.try_set(Mode::Fallback);
                    return;
                }
                // The window may have closed while Monaco loaded.
                let Some(slot) = slot.try_get_value() else {
                    return;
                };
                let text_box: Option<web_sys::HtmlElement> =
                    text_box.try_get_untracked().flatten().map(JsCast::unchecked_into);
                let editor = swap_in(&app, &element, text_box.as_ref(), &uri);
                *slot.borrow_mut() = Some(editor);
                mode.try_set(Mode::Monaco);
                spawn_local(async move { app.check().await });
            });
        });
    }
    // A text set from elsewhere (Load) reaches the editor; its own edits are already there.
    Effect::new(move |_| {
        let text = source.get();
        if mode.get() == Mode::Monaco {
            with_editor(slot, |editor| {
                if editor.value() != text {
                    editor.set_value(&text);
                }
            });
        }
    });
    // The kernel's latest word on the text, as markers.
    Effect::new(move |_| {
        let problem = problem.get();
        if mode.get() == Mode::Monaco {
            with_editor(slot, |editor| editor.show(problem.as_ref()));
        }
    });
    on_cleanup(move || {
        if let Some(slot) = slot.try_get_value()
            && let Some(editor) = slot.borrow_mut().take()
        {
            editor.dispose();
        }
    });

    view! {
        <div class="tasks-definition" data-testid="tasks-definition" data-editor=move || mode.get().word()>
            {move || boxed.get().then(|| view! {
                <textarea
                    data-testid="tasks-source"
                    spellcheck="false"
                    aria-label="Task definition (YAML or JSON)"
                    node_ref=text_box
                    prop:value=move || source.get()
                    on:input=move |ev| source.set(event_target_value(&ev))
                ></textarea>
            })}
            <div
                class="tasks-monaco"
                class:hidden=move || boxed.get()
                data-testid="tasks-monaco"
                data-model=uri
                node_ref=holder
            ></div>
        </div>
    }
}

/// Creates the Monaco editor in `element` with the window's text and shows it in place of
/// `text_box`, all in this turn so that no keystroke falls between the two; a caret in the text
/// box moves into the editor.
fn swap_in(
    app: &App,
    element: &web_sys::HtmlElement,
    text_box: Option<&web_sys::HtmlElement>,
    uri: &str,
) -> SourceEditor {
    let caret = text_box.filter(|b| has_focus(b)).and_then(caret_of);
    let _ = element.class_list().remove_1("hidden");
    if let Some(text_box) = text_box {
        text_box.set_hidden(true);
    }
    let on_change = {
        let app = app.clone();
        let turn = Rc::new(Cell::new(0_u32));
        move |text: String| {
            app.source.try_set(text);
            check_later(&app, &turn);
        }
    };
    let editor = SourceEditor::new(element, uri, &app.source.get_untracked(), on_change);
    if let Some(offset) = caret {
        editor.focus_at(offset);
    }
    editor
}

/// Checks the text once no edit has followed for [`CHECK_DELAY_MS`].
fn check_later(app: &App, turn: &Rc<Cell<u32>>) {
    let mine = turn.get().wrapping_add(1);
    turn.set(mine);
    let (app, turn) = (app.clone(), Rc::clone(turn));
    spawn_local(async move {
        gloo_timers::future::TimeoutFuture::new(CHECK_DELAY_MS).await;
        if turn.get() == mine {
            app.check().await;
        }
    });
}

/// Calls `f` with the editor, once it exists and while the window is open.
fn with_editor(
    slot: StoredValue<Rc<RefCell<Option<SourceEditor>>>, LocalStorage>,
    f: impl FnOnce(&SourceEditor),
) {
    if let Some(slot) = slot.try_get_value()
        && let Some(editor) = slot.borrow().as_ref()
    {
        f(editor);
    }
}

/// True when `element` has the keyboard focus.
fn has_focus(element: &web_sys::HtmlElement) -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .is_some_and(|active| JsValue::from(active) == *AsRef::<JsValue>::as_ref(element))
}

/// Where the text box's caret is (the end of its selection), in UTF-16 units.
fn caret_of(text_box: &web_sys::HtmlElement) -> Option<u32> {
    let end = js_sys::Reflect::get(text_box, &"selectionEnd".into()).ok()?;
    end.as_f64().map(|n| n as u32)
}
