//! The Editor window's small views: the output panel of the last run and the "unsaved
//! changes" question before a dirty tab closes.

use aether_shared::vfs::path::file_name;
use leptos::prelude::*;

use super::state::EditorState;

/// The output of the last run.
#[component]
pub fn OutputPanel(state: EditorState) -> impl IntoView {
    move || {
        state.output.get().map(|out| {
            let chunks = out
                .chunks
                .iter()
                .map(|(err, text)| view! { <span class:stderr=*err>{text.clone()}</span> })
                .collect_view();
            view! {
                <section class="editor-output" data-testid="editor-output" data-state=out.state_name() aria-label="Output">
                    <header class="editor-output-head">
                        <span>{format!("Run {}", out.path)}</span>
                        <span data-testid="editor-output-status">{out.status()}</span>
                        <button aria-label="Close output" on:click=move |_| state.output.set(None)>"×"</button>
                    </header>
                    <pre class="editor-output-text" data-testid="editor-output-text">{chunks}</pre>
                </section>
            }
        })
    }
}

/// "Unsaved changes" before a dirty tab closes.
#[component]
pub fn ConfirmClose(state: EditorState) -> impl IntoView {
    move || {
        state.confirm_close.get().map(|path| {
            let (save, discard) = (path.clone(), path.clone());
            view! {
                <div class="editor-confirm" role="alertdialog" data-testid="editor-confirm-close">
                    <p>{format!("{} has unsaved changes.", file_name(&path))}</p>
                    <button class="primary" data-testid="editor-close-save" on:click=move |_| state.save(save.clone(), true)>"Save"</button>
                    <button data-testid="editor-close-discard" on:click=move |_| state.close_tab(discard.clone(), true)>"Discard"</button>
                    <button data-testid="editor-close-cancel" on:click=move |_| state.confirm_close.set(None)>"Cancel"</button>
                </div>
            }
        })
    }
}
