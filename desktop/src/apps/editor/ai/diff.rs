//! An AI edit proposal shown as a Monaco diff (the buffer on the left, the proposal on the
//! right) with Accept and Reject. Accepting replaces the buffer (an ordinary, undoable edit that
//! makes the tab dirty: saving stays the user's act); rejecting drops the proposal.
//!
//! DOM contract: `[data-testid=ai-diff][data-path]`, `ai-accept`, `ai-reject`.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::html::Div;
use leptos::prelude::*;

use super::Proposal;
use crate::apps::editor::EditorState;
use crate::services::monaco::bindings::{self, DiffEditor, TextModel};
use crate::services::monaco::options::{DiffOptions, to_js};

/// The diff view of the pending proposal (nothing while there is none).
#[component]
pub fn ProposalDiff(state: EditorState) -> impl IntoView {
    move || {
        state
            .proposal
            .get()
            .map(|proposal| view! { <DiffView state proposal /> })
    }
}

#[component]
fn DiffView(state: EditorState, proposal: Proposal) -> impl IntoView {
    let host = NodeRef::<Div>::new();
    let parts: Rc<RefCell<Option<(DiffEditor, TextModel, TextModel)>>> = Rc::default();
    let mounted = Rc::clone(&parts);
    let shown = proposal.clone();
    host.on_load(move |element| {
        let stamp = js_sys::Date::now() as u64;
        let model = |side: &str, text: &str| {
            let uri = bindings::Uri::parse(&format!("aether-diff://{stamp}/{side}"));
            bindings::create_model(text, &shown.language, &uri)
        };
        let original = model("original", &shown.original);
        let modified = model("proposed", &shown.proposed);
        let diff = bindings::create_diff_editor(
            &element,
            &to_js(&DiffOptions {
                automatic_layout: true,
                render_side_by_side: true,
                read_only: true,
                original_editable: false,
            }),
        );
        let models = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&models, &"original".into(), &original);
        let _ = js_sys::Reflect::set(&models, &"modified".into(), &modified);
        diff.set_diff_model(&models);
        *mounted.borrow_mut() = Some((diff, original, modified));
    });
    let cleanup = send_wrapper::SendWrapper::new(parts);
    on_cleanup(move || {
        if let Some((diff, original, modified)) = cleanup.borrow_mut().take() {
            diff.dispose_diff();
            original.dispose();
            modified.dispose();
        }
    });
    let path = proposal.path.clone();
    let accept = move |_| {
        if let Some(proposal) = state.proposal.get_untracked() {
            state.accept(proposal);
        }
    };
    view! {
        <section class="ai-diff" data-testid="ai-diff" data-path=path.clone() aria-label="Proposed change">
            <header class="ai-diff-head">
                <span>{format!("Proposed change to {path}")}</span>
                <button data-testid="ai-accept" class="primary" on:click=accept>"Accept"</button>
                <button data-testid="ai-reject" on:click=move |_| state.proposal.set(None)>"Reject"</button>
            </header>
            <div class="ai-diff-editor" node_ref=host></div>
        </section>
    }
}
