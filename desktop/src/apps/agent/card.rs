//! How one transcript [`Entry`] is drawn: assistant text, a tool call's card (its tool, its full
//! arguments as pretty JSON, a write's diff, the approval buttons, its result folded under it),
//! a checkpoint, an error, the summary. Paths are buttons that open the file in the Editor.
//! [`card_body`] is the inside of a card alone, shared with the asks of outside agents (`asks`):
//! the tool, who asks, the full arguments, a write's diff and three approval buttons that send
//! whichever decision type the asker takes.
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
    file_link(path, Callback::new(move |p| session.open_file(p)))
}

/// A button that calls `open` with `path` (opening it in the Editor).
pub(super) fn file_link(path: String, open: Callback<String>) -> impl IntoView + use<> {
    let target = path.clone();
    let data_path = path.clone();
    view! {
        <button
            class="agent-path"
            data-testid="agent-open-path"
            data-path=data_path
            title="Open in the Editor"
            on:click=move |_| open.run(target.clone())
        >
            {path}
        </button>
    }
}

fn call_card(call: Call, decidable: bool, session: &Session) -> AnyView {
    let state = call.state_word();
    let session = *session;
    let approval = call.needs_approval.then(|| {
        let call_id = call.call_id.clone();
        Approval {
            allow: Decision::Allow,
            deny: Decision::Deny,
            allow_tool: (Decision::AllowToolForRun, "Allow this tool for the run"),
            chosen: call.decision,
            locked: !(decidable && call.awaits_decision()),
            decide: Callback::new(move |d| session.decide(call_id.clone(), d)),
        }
    });
    let body = card_body(CardBody {
        tool: call.tool.clone(),
        label: None,
        state,
        arguments: call.arguments,
        write: call.write,
        approval,
        open: Callback::new(move |p| session.open_file(p)),
    });
    view! {
        <article
            class="agent-call"
            data-testid="agent-call"
            data-call-id=call.call_id
            data-tool=call.tool
            data-state=state
        >
            {body}
            {call.result.map(result_view)}
        </article>
    }
    .into_any()
}

/// The three answers a card offers, in the decision type of whoever asks (the agent's run or an
/// outside agent's grant), and how they stand.
pub(super) struct Approval<D: 'static> {
    pub allow: D,
    pub deny: D,
    /// The third answer and its label (`Allow this tool for the run`, `… for this grant`).
    pub allow_tool: (D, &'static str),
    /// What was decided here, if anything (that button is marked).
    pub chosen: Option<D>,
    /// Every button is disabled (decided, or no longer decidable here).
    pub locked: bool,
    pub decide: Callback<D>,
}

/// What the inside of a tool-call card shows.
pub(super) struct CardBody<D: 'static> {
    pub tool: String,
    /// Who asks, shown beside the tool (an outside agent's grant).
    pub label: Option<String>,
    /// The card's state word (`data-state` of its article, and its badge).
    pub state: &'static str,
    /// The full arguments.
    pub arguments: Value,
    pub write: Option<WritePreview>,
    pub approval: Option<Approval<D>>,
    /// Opens a path in the Editor.
    pub open: Callback<String>,
}

/// The inside of a tool-call card: its head, its full arguments, a write's diff and the
/// approval buttons (`agent-allow`, `agent-deny`, `agent-allow-tool`). The caller wraps it in its
/// own `<article>` with its own DOM contract.
pub(super) fn card_body<D>(body: CardBody<D>) -> impl IntoView + use<D>
where
    D: Copy + PartialEq + Send + Sync + 'static,
{
    let CardBody {
        tool,
        label,
        state,
        arguments,
        write,
        approval,
        open,
    } = body;
    view! {
        <header class="agent-call-head">
            <span class="agent-tool">{tool}</span>
            {label.map(|label| view! { <span class="agent-call-label">{label}</span> })}
            <span class=format!("agent-call-state agent-state-{state}")>{state}</span>
        </header>
        <pre class="agent-args" data-testid="agent-call-args">{pretty(&arguments)}</pre>
        {write.map(|write| write_diff(write, open))}
        {approval.map(approval_buttons)}
    }
}

fn approval_buttons<D>(approval: Approval<D>) -> impl IntoView
where
    D: Copy + PartialEq + Send + Sync + 'static,
{
    let Approval {
        allow,
        deny,
        allow_tool: (allow_tool, allow_tool_label),
        chosen,
        locked,
        decide,
    } = approval;
    let button = move |label: &'static str, test_id: &'static str, decision: D| {
        view! {
            <button
                data-testid=test_id
                class:chosen=chosen == Some(decision)
                disabled=locked
                on:click=move |_| decide.run(decision)
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="agent-approval" role="group" aria-label="Approve this call">
            {button("Allow", "agent-allow", allow)}
            {button("Deny", "agent-deny", deny)}
            {button(allow_tool_label, "agent-allow-tool", allow_tool)}
        </div>
    }
}

/// A write's `before` → `after` as a line diff, under its path.
fn write_diff(write: WritePreview, open: Callback<String>) -> impl IntoView + use<> {
    let lines = diff_lines(write.before.as_deref().unwrap_or(""), &write.after);
    let what = if write.before.is_some() { "Changes" } else { "Creates" };
    let data_path = write.path.clone();
    view! {
        <div class="agent-diff" data-testid="agent-diff" data-path=data_path>
            <p class="agent-diff-head">{what}" "{file_link(write.path, open)}</p>
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
