//! The selected node: its topic, state, time, error, and result (a program's stdout and
//! stderr as text, anything else as JSON).
//!
//! DOM contract: `[data-testid=task-details]`, `[data-testid=task-details-stdout]`,
//! `[data-testid=task-details-error]`.

use leptos::prelude::*;

use super::board::{Board, node_word};

/// The details of the node `selected` names in `board`.
#[component]
pub fn Details(board: Signal<Option<Board>>, selected: RwSignal<Option<String>>) -> impl IntoView {
    move || {
        let id = selected.get()?;
        board.with(|b| {
            let node = b.as_ref()?.nodes.iter().find(|n| n.id == id)?.clone();
            let text = |key: &str| {
                node.result
                    .as_ref()
                    .and_then(|r| r.get(key))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            let (stdout, stderr) = (text("stdout"), text("stderr"));
            let other = match (&stdout, &node.result) {
                (None, Some(result)) => serde_json::to_string_pretty(result).ok(),
                _ => None,
            };
            let time = node
                .duration_ms
                .map(|ms| format!(" · {ms} ms"))
                .unwrap_or_default();
            Some(view! {
                <section class="task-details" data-testid="task-details">
                    <header>
                        <strong>{node.id.clone()}</strong>
                        <code>{node.topic.to_string()}</code>
                        <span class=format!("task-badge task-{}", node_word(node.state))>
                            {node_word(node.state)}{time}
                        </span>
                    </header>
                    {node.error.map(|e| view! {
                        <p class="task-error" data-testid="task-details-error">
                            {format!("{}: {}", e.code, e.error)}
                        </p>
                    })}
                    {stdout.filter(|s| !s.is_empty()).map(|s| view! {
                        <h4>"stdout"</h4>
                        <pre data-testid="task-details-stdout">{s}</pre>
                    })}
                    {stderr.filter(|s| !s.is_empty()).map(|s| view! {
                        <h4>"stderr"</h4>
                        <pre>{s}</pre>
                    })}
                    {other.map(|json| view! {
                        <h4>"result"</h4>
                        <pre>{json}</pre>
                    })}
                </section>
            })
        })
    }
}
