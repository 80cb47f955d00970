//! The list of past runs (`ai.agent.list`, newest first): each a button that shows its recorded
//! transcript (`ai.agent.status`).
//!
//! DOM contract: `[data-testid=agent-history]`, `[data-testid=agent-history-run][data-run-id]
//! [data-state]`.

use aether_shared::agent::{RunState, RunSummary};
use leptos::prelude::*;

/// The word for a recorded run's state (its `data-state`).
pub(super) fn state_word(state: RunState) -> &'static str {
    match state {
        RunState::Running => "running",
        RunState::WaitingForApproval => "waiting",
        RunState::Done => "done",
        RunState::Failed => "failed",
        RunState::Cancelled => "cancelled",
        RunState::Interrupted => "interrupted",
    }
}

/// The past runs; `open(run_id)` shows one.
#[component]
pub(super) fn History(
    runs: RwSignal<Vec<RunSummary>>,
    #[prop(into)] open: Callback<String>,
) -> impl IntoView {
    view! {
        <section class="agent-history" data-testid="agent-history" aria-label="Past runs">
            <h3>"Past runs"</h3>
            {move || runs.with(Vec::is_empty).then_some(view! { <p class="agent-muted">"None yet."</p> })}
            <ul>
                {move || {
                    runs.get()
                        .into_iter()
                        .map(|run| {
                            let word = state_word(run.state);
                            let id = run.run_id.clone();
                            let undone = run.undone.then_some(" · undone");
                            view! {
                                <li>
                                    <button
                                        class="agent-history-run"
                                        data-testid="agent-history-run"
                                        data-run-id=run.run_id.clone()
                                        data-state=word
                                        title=run.started.clone()
                                        on:click=move |_| open.run(id.clone())
                                    >
                                        <span class="agent-history-goal">{run.goal}</span>
                                        <span class=format!("agent-badge agent-state-{word}")>{word}{undone}</span>
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recorded_state_has_a_word() {
        assert_eq!(state_word(RunState::WaitingForApproval), "waiting");
        assert_eq!(state_word(RunState::Done), "done");
    }
}
