//! The goal box: what the user asks, the Editor's file in front and its selection offered as
//! context (the shell's `FrontFile`), and optional budget limits; [`GoalForm::request`] turns it
//! into the contract's `ai.agent.start`, with this browser's model and whether the agent asks
//! before reads (the Settings app's `Preferences`). The parsing of the limits is pure and unit tested.
//!
//! DOM contract: `agent-goal` (the text box), `[data-testid=agent-context-file][data-path]` and
//! `agent-context-selection` (check boxes, shown when the Editor has a file / a selection),
//! `agent-budget` (folded) with `agent-budget-turns|tokens|calls` (number boxes, empty: the
//! kernel's limit).

use aether_shared::agent::{Budget, Context, Start};
use leptos::prelude::*;

use crate::services::preferences::{Preferences, ReadApproval};
use crate::shell::front_file::FrontFile;

/// The goal box's fields.
#[derive(Clone, Copy)]
pub(super) struct GoalForm {
    pub goal: RwSignal<String>,
    pub use_file: RwSignal<bool>,
    pub use_selection: RwSignal<bool>,
    pub max_turns: RwSignal<String>,
    pub max_tokens: RwSignal<String>,
    pub max_tool_calls: RwSignal<String>,
    front: Option<FrontFile>,
    /// This browser's model and read approval (Settings), sent with every run.
    preferences: Option<Preferences>,
}

impl GoalForm {
    pub(super) fn new() -> GoalForm {
        GoalForm {
            goal: RwSignal::new(String::new()),
            use_file: RwSignal::new(true),
            use_selection: RwSignal::new(true),
            max_turns: RwSignal::new(String::new()),
            max_tokens: RwSignal::new(String::new()),
            max_tool_calls: RwSignal::new(String::new()),
            front: use_context::<FrontFile>(),
            preferences: use_context::<Preferences>(),
        }
    }

    /// The Editor's file in front (tracked).
    fn front_path(self) -> Option<String> {
        self.front.and_then(FrontFile::path)
    }

    /// The Editor's selection (tracked).
    fn front_selection(self) -> Option<String> {
        self.front.and_then(FrontFile::selection)
    }

    /// The request for what the form holds, or `None` while the goal is blank.
    pub(super) fn request(self) -> Option<Start> {
        let goal = self.goal.get_untracked().trim().to_owned();
        if goal.is_empty() {
            return None;
        }
        let path = untrack(|| self.front_path()).filter(|_| self.use_file.get_untracked());
        let selection =
            untrack(|| self.front_selection()).filter(|_| self.use_selection.get_untracked());
        let context = Context {
            paths: path.into_iter().collect(),
            selection,
        };
        let budget = budget(
            &self.max_turns.get_untracked(),
            &self.max_tokens.get_untracked(),
            &self.max_tool_calls.get_untracked(),
        );
        let preferences = self.preferences;
        Some(Start {
            goal,
            context: (context != Context::default()).then_some(context),
            model: preferences.and_then(|p| p.model.get_untracked()),
            budget,
            ask_before_reads: preferences
                .is_some_and(|p| p.read_approval.get_untracked() == ReadApproval::Ask),
        })
    }
}

/// The limits typed in the budget boxes (blank or not a positive number: no limit of the user's).
pub(super) fn budget(turns: &str, tokens: &str, calls: &str) -> Option<Budget> {
    let limit = |text: &str| text.trim().parse::<u64>().ok().filter(|n| *n > 0);
    let budget = Budget {
        max_turns: limit(turns),
        max_tokens: limit(tokens),
        max_tool_calls: limit(calls),
        wall_timeout_ms: None,
    };
    (budget != Budget::default()).then_some(budget)
}

/// The goal box and its context and budget fields; `start` runs on Ctrl+Enter.
#[component]
pub(super) fn GoalBox(form: GoalForm, start: Callback<()>) -> impl IntoView {
    let number = |signal: RwSignal<String>, test_id: &'static str, label: &'static str| {
        view! {
            <label class="agent-budget-field">
                {label}
                <input
                    type="number"
                    min="1"
                    placeholder="kernel's"
                    data-testid=test_id
                    prop:value=move || signal.get()
                    on:input=move |ev| signal.set(event_target_value(&ev))
                />
            </label>
        }
    };
    let file = move || {
        form.front_path().map(|path| {
            view! {
                <label class="agent-context-item">
                    <input
                        type="checkbox"
                        data-testid="agent-context-file"
                        data-path=path.clone()
                        prop:checked=move || form.use_file.get()
                        on:change=move |ev| form.use_file.set(event_target_checked(&ev))
                    />
                    "the Editor's file "<code>{path}</code>
                </label>
            }
        })
    };
    let selection = move || {
        form.front_selection().map(|text| {
            view! {
                <label class="agent-context-item">
                    <input
                        type="checkbox"
                        data-testid="agent-context-selection"
                        prop:checked=move || form.use_selection.get()
                        on:change=move |ev| form.use_selection.set(event_target_checked(&ev))
                    />
                    {format!("its selection ({} characters)", text.chars().count())}
                </label>
            }
        })
    };
    view! {
        <textarea
            class="agent-goal"
            data-testid="agent-goal"
            aria-label="Goal"
            placeholder="What should the agent do? (Ctrl+Enter starts)"
            prop:value=move || form.goal.get()
            on:input=move |ev| form.goal.set(event_target_value(&ev))
            on:keydown=move |ev| {
                if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                    ev.prevent_default();
                    start.run(());
                }
            }
        ></textarea>
        <div class="agent-context">
            {move || (form.front_path().is_some()).then_some("Context: ")}
            {file}
            {selection}
        </div>
        <details class="agent-budget" data-testid="agent-budget">
            <summary>"Budget"</summary>
            {number(form.max_turns, "agent-budget-turns", "turns")}
            {number(form.max_tokens, "agent-budget-tokens", "tokens")}
            {number(form.max_tool_calls, "agent-budget-calls", "tool calls")}
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_or_bad_limits_leave_the_kernels_own() {
        assert_eq!(budget("", " ", "x"), None);
        assert_eq!(budget("0", "-3", ""), None);
        let set = budget("5", "", " 12 ").unwrap();
        assert_eq!(
            (set.max_turns, set.max_tokens, set.max_tool_calls),
            (Some(5), None, Some(12))
        );
        assert_eq!(set.wall_timeout_ms, None);
    }
}
