//! The tab's grants to outside agents (`mcp.grants`) and the calls made with them
//! (`mcp.called`): each grant with its tools, how its calls are approved, its state, the time it
//! has left (counting down), its calls and the files they wrote, **Revoke** and **Undo writes**
//! (with what that put back); then the calls, newest first, with their arguments in short and
//! how they ended. The short form of arguments is pure and unit tested.
//!
//! DOM contract: `[data-testid=mcp-grants]` holding `[data-testid=mcp-grant][data-grant-id]
//! [data-state=live|revoked|expired][data-approval=ask|allow]` with `mcp-grant-tools`,
//! `mcp-grant-left`, `[data-testid=mcp-grant-calls][data-calls]`, `mcp-grant-written` (a list of
//! `agent-open-path`), buttons `mcp-revoke` and `mcp-undo`; `[data-testid=mcp-restored]
//! [data-grant-id]`; `[data-testid=mcp-activity]` holding `[data-testid=mcp-called]
//! [data-grant-id][data-tool][data-ok]`.

use aether_shared::mcp::{Approval, GrantInfo, GrantState};
use leptos::prelude::*;
use serde_json::Value;

use super::card::file_link;
use super::link::McpLink;
use super::setup::time_left;

/// Longest text of one argument in the activity list, in characters.
const MAX_ARG_CHARS: usize = 48;
/// Longest line of arguments in the activity list, in characters.
const MAX_ARGS_CHARS: usize = 120;

fn state_word(state: GrantState) -> &'static str {
    match state {
        GrantState::Live => "live",
        GrantState::Revoked => "revoked",
        GrantState::Expired => "expired",
    }
}

fn approval_words(approval: Approval) -> (&'static str, &'static str) {
    match approval {
        Approval::Ask => ("ask", "asks for each call"),
        Approval::Allow => ("allow", "calls allowed"),
    }
}

/// The tab's grants.
#[component]
pub(super) fn GrantsList(link: McpLink) -> impl IntoView {
    view! {
        <section class="mcp-grants" data-testid="mcp-grants" aria-label="This tab's grants">
            <h3>"Grants"</h3>
            {move || link.grants.with(Vec::is_empty).then_some(view! {
                <p class="agent-muted">"None: no outside agent can reach this tab."</p>
            })}
            <ul>
                <For
                    each=move || link.grants.get()
                    key=|g| (g.grant_id.clone(), state_word(g.state), g.calls, g.written.clone())
                    children=move |grant| grant_view(grant, link)
                />
            </ul>
            {move || link.undone.get().into_iter().map(|undone| {
                let open = Callback::new(move |p| link.open_file(p));
                let empty = undone.restored.is_empty();
                let grant_id = undone.grant_id.clone();
                view! {
                    <p class="agent-files agent-restored" data-testid="mcp-restored" data-grant-id=grant_id>
                        {undone.grant_id}": "
                        {if empty { "nothing to put back." } else { "put back " }}
                        {undone.restored.into_iter().map(|p| file_link(p, open)).collect_view()}
                    </p>
                }
            }).collect_view()}
        </section>
    }
}

fn grant_view(grant: GrantInfo, link: McpLink) -> impl IntoView {
    let state = state_word(grant.state);
    let (approval, approval_text) = approval_words(grant.approval);
    let live = grant.state == GrantState::Live;
    let left = {
        let grant = grant.clone();
        move || {
            if grant.state == GrantState::Live {
                time_left(link.left_ms(&grant))
            } else {
                state.to_owned()
            }
        }
    };
    let open = Callback::new(move |p| link.open_file(p));
    let wrote = !grant.written.is_empty();
    let (revoke_id, undo_id) = (grant.grant_id.clone(), grant.grant_id.clone());
    view! {
        <li
            class="mcp-grant"
            data-testid="mcp-grant"
            data-grant-id=grant.grant_id.clone()
            data-state=state
            data-approval=approval
        >
            <div class="mcp-grant-head">
                <strong>{grant.grant_id.clone()}</strong>
                <span class=format!("agent-badge mcp-state-{state}")>{state}</span>
                <span class="mcp-grant-approval">{approval_text}</span>
                <span class="mcp-grant-left" data-testid="mcp-grant-left" title="Time left">{left}</span>
            </div>
            <div class="mcp-grant-tools" data-testid="mcp-grant-tools">
                {grant.tools.iter().map(|t| view! { <code>{t.clone()}</code> }).collect_view()}
            </div>
            <div class="mcp-grant-figures">
                "Calls: "
                <span data-testid="mcp-grant-calls" data-calls=grant.calls.to_string()>{grant.calls}</span>
            </div>
            {wrote.then(|| view! {
                <div class="agent-files" data-testid="mcp-grant-written">
                    "Wrote: "{grant.written.into_iter().map(|p| file_link(p, open)).collect_view()}
                </div>
            })}
            <div class="mcp-grant-actions">
                <button
                    data-testid="mcp-revoke"
                    title="The token stops working on its next call"
                    disabled=!live
                    on:click=move |_| link.revoke(revoke_id.clone())
                >
                    "Revoke"
                </button>
                <button
                    data-testid="mcp-undo"
                    title="Put back every file this grant's calls wrote"
                    disabled=!wrote
                    on:click=move |_| link.undo(undo_id.clone())
                >
                    "Undo writes"
                </button>
            </div>
        </li>
    }
}

/// The calls made with the tab's grants, newest first.
#[component]
pub(super) fn Activity(link: McpLink) -> impl IntoView {
    view! {
        <section class="mcp-activity" data-testid="mcp-activity" aria-label="Calls of outside agents">
            <h3>"Calls"</h3>
            {move || link.activity.with(Vec::is_empty).then_some(view! {
                <p class="agent-muted">"None yet."</p>
            })}
            <ul>
                {move || link.activity.get().into_iter().map(|called| {
                    let outcome = match &called.error {
                        None if called.ok => "ok".to_owned(),
                        None => "failed".to_owned(),
                        Some(e) => format!("{}: {}", e.code, e.error),
                    };
                    let grant_id = called.grant_id.clone();
                    view! {
                        <li
                            class="mcp-called"
                            data-testid="mcp-called"
                            data-grant-id=grant_id
                            data-tool=called.tool.clone()
                            data-ok=called.ok.to_string()
                        >
                            <code class="agent-tool">{called.tool.clone()}</code>
                            <span class="mcp-called-args">{short_args(&called.arguments)}</span>
                            <span class=if called.ok { "mcp-called-outcome ok" } else { "mcp-called-outcome failed" }>
                                {outcome}
                            </span>
                            <span class="mcp-called-grant">{called.grant_id}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}

/// Arguments in one short line: `path=/a.txt, content="(module…"`.
pub(super) fn short_args(arguments: &Value) -> String {
    let one = |value: &Value| match value {
        Value::String(s) => cut(s, MAX_ARG_CHARS),
        other => cut(&other.to_string(), MAX_ARG_CHARS),
    };
    let line = match arguments {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", one(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => one(other),
    };
    cut(&line, MAX_ARGS_CHARS)
}

/// `text` on one line, cut to `max` characters with an ellipsis.
fn cut(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let kept: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_args_name_each_argument_on_one_cut_line() {
        assert_eq!(short_args(&json!({"path": "/a.txt"})), "path=/a.txt");
        let long = "x".repeat(200);
        let line = short_args(&json!({"path": "/a.txt", "content": format!("one\ntwo {long}")}));
        assert!(line.starts_with("content=one two xx"), "{line}");
        assert!(line.contains("…, path=/a.txt"), "{line}");
        assert!(line.chars().count() <= MAX_ARGS_CHARS);
        assert_eq!(short_args(&json!({"args": ["a", 1]})), "args=[\"a\",1]");
        assert_eq!(short_args(&Value::Null), "");
    }

    #[test]
    fn grant_states_and_approvals_have_words() {
        assert_eq!(state_word(GrantState::Expired), "expired");
        assert_eq!(approval_words(Approval::Ask).0, "ask");
    }
}
