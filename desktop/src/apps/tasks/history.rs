//! The runs the kernel remembers (`task.list`), newest first; clicking one shows it.
//!
//! DOM contract: `[data-testid=task-history]`, rows `[data-testid=task-history-row][data-run]
//! [data-state]`.

use aether_shared::task::RunSummary;
use leptos::prelude::*;

use super::board::run_word;

/// The history list; `open` is called with a run id.
#[component]
pub fn History(
    runs: RwSignal<Vec<RunSummary>>,
    open: impl Fn(String) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <section class="task-history" data-testid="task-history">
            <h4>"History"</h4>
            <ul>
                {move || {
                    let open = open.clone();
                    runs.get()
                        .into_iter()
                        .map(|run| {
                            let word = run_word(run.state);
                            let id = run.run_id.clone();
                            let open = open.clone();
                            let time = run.duration_ms.map(|ms| format!("{ms} ms")).unwrap_or_default();
                            // `2026-11-24T10:00:00.123Z` → `11-24 10:00:00`.
                            let started = run.started.get(5..19).unwrap_or(&run.started).replace('T', " ");
                            view! {
                                <li
                                    data-testid="task-history-row"
                                    data-run=run.run_id.clone()
                                    data-state=word
                                    on:click=move |_| open(id.clone())
                                >
                                    <span class="task-history-name">{run.name.clone()}</span>
                                    <span class=format!("task-badge task-{word}")>{word}</span>
                                    <span class="task-history-time">{started}</span>
                                    <span class="task-history-time">{time}</span>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </section>
    }
}
