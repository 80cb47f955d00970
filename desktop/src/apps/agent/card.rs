//! How one transcript [`Entry`] is drawn: assistant text, a tool call's card (its tool, its full
//! arguments as pretty JSON, a write's diff, the approval buttons, its result folded under it),
//! a checkpoint, an error, the summary. Paths are buttons that open the file in the Editor.
//!
//! DOM contract: `[data-testid=agent-text]`; `[data-testid=agent-call][data-call-id][data-tool]
//! [data-state=waiting|allowed|denied|running|ok|failed]` holding `agent-call-args`,
//! `[data-testid=agent-diff][data-path]` with `[data-testid=agent-diff-line][data-kind=same|
//! added|removed]`, buttons `agent-allow`, `agent-deny`, `agent-allow-tool`, and
//! `[data-testid=agent-call-result][data-ok]`; `[data-testid=agent-checkpoint]`;
//! `[data-testid=agent-error][data-code]`; `[data-testid=agent-summary]`; every path
//! `[data-testid=agent-open-path][data-path]`.

use aether_shared::agent::{Decision, WritePreview};
use leptos::prelude::*;
use serde_json::Value;

use super::diff::diff_lines;
use super::session::Session;
use super::transcript::{Call, CallResult, Entry};

/// One entry of a transcript; `decidable` while its calls can still be decided here.
pub(super) fn entry_view(entry: Entry, decidable: bool, session: &Session) -> AnyView {
    match entry {
        Entry::Text(text) => {
            view! { <div class="agent-text" data-testid="agent-text">{text}</div> }.into_any()
        }
        Entry::Call(call) => call_card(call, decidable, session),
        Entry::Checkpoint(paths) => view! {
            <p class="agent-checkpoint" data-testid="agent-checkpoint">
                "Checkpoint, about to change: "
                {paths.into_iter().map(|p| path_link(p, session)).collect_view()}
            </p>
        }
        .into_any(),
        Entry::Error(error) => view! {
            <p class="agent-error" data-testid="agent-error" data-code=error.code.to_string() role="alert">
                <strong>{error.code.to_string()}</strong>": "{error.error}
            </p>
        }
        .into_any(),
        Entry::Summary(text) => view! {
            <p class="agent-summary" data-testid="agent-summary">"Finished: "{text}</p>
        }
        .into_any(),
    }
}

/// A button that opens `path` in the Editor.
pub(super) fn path_link(path: String, session: &Session) -> impl IntoView + use<> {
    let session = *session;
    let open = path.clone();
    let data_path = path.clone();
    view! {
        <button
            class="agent-path"
            data-testid="agent-open-path"
            data-path=data_path
            title="Open in the Editor"
            on:click=move |_| session.open_file(open.clone())
        >
            {path}
        </button>
    }
}

fn call_card(call: Call, decidable: bool, session: &Session) -> AnyView {
    let state = call.state_word();
    let asks = call.needs_approval;
    let decided = !(decidable && call.awaits_decision());
    let buttons = asks.then(|| {
        let button = |label: &'static str, test_id: &'static str, decision: Decision| {
            let (session, call_id) = (*session, call.call_id.clone());
            let chosen = call.decision == Some(decision);
            view! {
                <button
                    data-testid=test_id
                    class:chosen=chosen
                    disabled=decided
                    on:click=move |_| session.decide(call_id.clone(), decision)
                >
                    {label}
                </button>
            }
        };
        view! {
            <div class="agent-approval" role="group" aria-label="Approve this call">
                {button("Allow", "agent-allow", Decision::Allow)}
                {button("Deny", "agent-deny", Decision::Deny)}
                {button("Allow this tool for the run", "agent-allow-tool", Decision::AllowToolForRun)}
            </div>
        }
    });
    view! {
        <article
            class="agent-call"
            data-testid="agent-call"
            data-call-id=call.call_id.clone()
            data-tool=call.tool.clone()
            data-state=state
        >
            <header class="agent-call-head">
                <span class="agent-tool">{call.tool.clone()}</span>
                <span class=format!("agent-call-state agent-state-{state}")>{state}</span>
            </header>
            <pre class="agent-args" data-testid="agent-call-args">{pretty(&call.arguments)}</pre>
            {call.write.map(|write| write_diff(write, session))}
            {buttons}
            {call.result.map(result_view)}
        </article>
    }
    .into_any()
}

/// A write's `before` → `after` as a line diff, under its path.
fn write_diff(write: WritePreview, session: &Session) -> impl IntoView + use<> {
    let lines = diff_lines(write.before.as_deref().unwrap_or(""), &write.after);
    let what = if write.before.is_some() { "Changes" } else { "Creates" };
    let data_path = write.path.clone();
    view! {
        <div class="agent-diff" data-testid="agent-diff" data-path=data_path>
            <p class="agent-diff-head">{what}" "{path_link(write.path, session)}</p>
            <div class="agent-diff-lines">
                {lines
                    .into_iter()
                    .map(|line| {
                        let kind = line.change.word();
                        view! {
                            <div class=format!("agent-diff-line {kind}") data-testid="agent-diff-line" data-kind=kind>
                                <span class="agent-diff-sign">{line.change.sign()}</span>
                                <span>{line.text}</span>
                            </div>
                        }
                    })
                    .collect_view()}
            </div>
        </div>
    }
}

/// A call's result, folded (open when it failed).
fn result_view(result: CallResult) -> impl IntoView {
    let body = match (&result.result, &result.error) {
        (_, Some(error)) => format!("{}: {}", error.code, error.error),
        (Some(value), None) => pretty(value),
        (None, None) => String::new(),
    };
    let label = if result.ok { "Result" } else { "Failed" };
    view! {
        <details
            class="agent-result"
            data-testid="agent-call-result"
            data-ok=result.ok.to_string()
            open=!result.ok
        >
            <summary>{label}</summary>
            <pre>{body}</pre>
        </details>
    }
}

/// JSON for people: indented, strings as JSON writes them.
fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
