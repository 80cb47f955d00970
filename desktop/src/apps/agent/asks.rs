//! The calls of outside agents that wait for this tab (`mcp.ask`), drawn as the agent's own
//! tool-call cards (`card::card_body`: the tool, the full arguments, a write's diff) labelled with
//! the grant that asks, with **Allow**, **Deny** and **Allow this tool for this grant**. Shown in
//! the Agent window's main view whether or not the "Connect an agent" panel is open; a card goes
//! once the kernel says the wait ended (`mcp.settled`).
//!
//! DOM contract: `[data-testid=mcp-asks]` holding `[data-testid=mcp-ask][data-ask-id]
//! [data-grant-id][data-tool][data-state=waiting|allowed|denied]`, each with the card's
//! `agent-call-args`, `agent-diff` and buttons `agent-allow`, `agent-deny`, `agent-allow-tool`.

use aether_shared::mcp::Decision;
use leptos::prelude::*;

use super::card::{Approval, CardBody, card_body};
use super::link::McpLink;
use super::outside::PendingAsk;

/// The waiting calls, oldest first; nothing when none waits.
#[component]
pub(super) fn Asks(link: McpLink) -> impl IntoView {
    let waiting = move || !link.asks.with(Vec::is_empty);
    view! {
        <Show when=waiting>
            <section class="mcp-asks" data-testid="mcp-asks" aria-label="Outside agents ask">
                <h3>"An outside agent asks"</h3>
                <For
                    each=move || link.asks.get()
                    key=|a| (a.ask.ask_id.clone(), a.state_word())
                    children=move |pending| ask_card(pending, link)
                />
            </section>
        </Show>
    }
}

fn ask_card(pending: PendingAsk, link: McpLink) -> impl IntoView {
    let state = pending.state_word();
    let ask = pending.ask;
    let ask_id = ask.ask_id.clone();
    let seconds = ask.timeout_ms.div_ceil(1000);
    let body = card_body(CardBody {
        tool: ask.tool.clone(),
        label: Some(format!("via {}", ask.grant_id)),
        state,
        arguments: ask.arguments,
        write: ask.write,
        approval: Some(Approval {
            allow: Decision::Allow,
            deny: Decision::Deny,
            allow_tool: (
                Decision::AllowToolForGrant,
                "Allow this tool for this grant",
            ),
            chosen: pending.decision,
            locked: pending.decision.is_some(),
            decide: Callback::new(move |d| link.decide(ask_id.clone(), d)),
        }),
        open: Callback::new(move |p| link.open_file(p)),
    });
    view! {
        <article
            class="agent-call mcp-ask"
            data-testid="mcp-ask"
            data-ask-id=ask.ask_id
            data-grant-id=ask.grant_id
            data-tool=ask.tool
            data-state=state
        >
            {body}
            <p class="mcp-ask-timeout agent-muted">
                {format!("Refused by itself if nobody answers within {seconds} s.")}
            </p>
        </article>
    }
}
