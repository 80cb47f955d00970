//! The read-only viewer that Open fills until the Editor app exists: a text file's content, or
//! a note for a binary file.

use leptos::prelude::*;

use super::FilesState;
use super::format::human_size;

/// What the viewer shows.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Viewed {
    pub path: String,
    pub size: u64,
    /// The content when it is text.
    pub text: Option<String>,
}

/// The viewer pane (hidden while nothing is open).
#[component]
pub(super) fn Viewer(state: FilesState) -> impl IntoView {
    move || {
        state.viewing.get().map(|viewed| {
            let body = match viewed.text {
                Some(text) => view! { <pre class="files-viewer-text" data-testid="files-viewer-text">{text}</pre> }
                    .into_any(),
                None => view! {
                    <p class="files-viewer-binary">
                        {format!("A binary file of {}. Download it to use it elsewhere.", human_size(viewed.size))}
                    </p>
                }
                .into_any(),
            };
            view! {
                <section class="files-viewer" data-testid="files-viewer" data-path=viewed.path.clone() aria-label="Viewer">
                    <header class="files-viewer-head">
                        <span class="files-viewer-path">{viewed.path.clone()}</span>
                        <button class="files-viewer-close" title="Close" aria-label="Close viewer" on:click=move |_| state.viewing.set(None)>
                            "×"
                        </button>
                    </header>
                    {body}
                </section>
            }
        })
    }
}
