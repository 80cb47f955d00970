//! The "Connect an agent" panel: the form that makes a grant for an outside agent (which of the
//! agent's tools, for how long, ask for each call or allow them), the grant's URL and token shown
//! once with copyable set-up lines, then the tab's grants and the calls made with them
//! (`grants`). It sends nothing itself: [`McpLink`] does.
//!
//! DOM contract: `[data-testid=mcp-panel]` with `mcp-panel-close`; the form `mcp-form` with
//! `[data-testid=mcp-tool][data-tool]` (check boxes), `mcp-ttl-15m|1h|8h` and
//! `mcp-approval-ask|allow` (radio buttons), `mcp-connect`; `[data-testid=mcp-error]`; the secret
//! `mcp-secret` with `mcp-url`, `mcp-token`, `mcp-setup-claude`, `mcp-setup-json` (each with its
//! `mcp-copy-…` button, see `copy`) and `mcp-secret-done`.

use aether_shared::agent::tools::TOOLS;
use aether_shared::mcp::{Approval, Grant, Granted};
use leptos::prelude::*;

use super::copy::Copyable;
use super::grants::{Activity, GrantsList};
use super::link::McpLink;
use super::setup::{
    DEFAULT_TTL_MS, LIFETIMES, absolute_url, claude_command, client_json, is_read_only,
};

/// The form's fields.
#[derive(Clone, Copy)]
struct ConnectForm {
    tools: RwSignal<Vec<&'static str>>,
    ttl_ms: RwSignal<u64>,
    approval: RwSignal<Approval>,
}

impl ConnectForm {
    fn new() -> ConnectForm {
        ConnectForm {
            tools: RwSignal::new(
                TOOLS
                    .iter()
                    .map(|t| t.name)
                    .filter(|n| is_read_only(n))
                    .collect(),
            ),
            ttl_ms: RwSignal::new(DEFAULT_TTL_MS),
            approval: RwSignal::new(Approval::Ask),
        }
    }

    /// The grant the form asks for, in the agent's order of tools.
    fn request(self) -> Grant {
        let ticked = self.tools.get_untracked();
        Grant {
            tools: TOOLS
                .iter()
                .filter(|t| ticked.contains(&t.name))
                .map(|t| t.name.to_owned())
                .collect(),
            ttl_ms: self.ttl_ms.get_untracked(),
            approval: self.approval.get_untracked(),
        }
    }
}

/// The panel; `close` hides it.
#[component]
pub(super) fn ConnectPanel(link: McpLink, #[prop(into)] close: Callback<()>) -> impl IntoView {
    let form = ConnectForm::new();
    view! {
        <section class="mcp-panel" data-testid="mcp-panel" aria-label="Connect an agent">
            <header class="mcp-panel-head">
                <h2>"Connect an agent"</h2>
                <button data-testid="mcp-panel-close" on:click=move |_| close.run(())>"Close"</button>
            </header>
            <p class="agent-muted">
                "Let an agent outside Aether (Claude Code, Cursor, Zed, any MCP client) use this tab's files "
                "and programs through the agent's tools. It acts as this tab, and only while the tab is open; "
                "every call it makes is listed here."
            </p>
            {move || {
                if let Some(granted) = link.secret.get() {
                    secret_view(granted, link).into_any()
                } else {
                    form_view(form, link).into_any()
                }
            }}
            {move || link.error.get().map(|error| view! {
                <p class="agent-error" data-testid="mcp-error" role="alert">{error}</p>
            })}
            <GrantsList link />
            <Activity link />
        </section>
    }
}

fn form_view(form: ConnectForm, link: McpLink) -> impl IntoView {
    let tool = |name: &'static str, description: &'static str| {
        let note = if is_read_only(name) {
            "reads"
        } else {
            "changes or runs"
        };
        view! {
            <label class="mcp-tool" title=description>
                <input
                    type="checkbox"
                    data-testid="mcp-tool"
                    data-tool=name
                    prop:checked=move || form.tools.with(|t| t.contains(&name))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        form.tools.update(|t| {
                            t.retain(|n| *n != name);
                            if on {
                                t.push(name);
                            }
                        });
                    }
                />
                <code>{name}</code>
                <span class=format!("mcp-tool-kind {}", note.replace(' ', "-"))>{note}</span>
            </label>
        }
    };
    let lifetime = |(label, suffix, ms): (&'static str, &'static str, u64)| {
        view! {
            <label class="mcp-choice">
                <input
                    type="radio"
                    name="mcp-ttl"
                    data-testid=format!("mcp-ttl-{suffix}")
                    prop:checked=move || form.ttl_ms.get() == ms
                    on:change=move |_| form.ttl_ms.set(ms)
                />
                {label}
            </label>
        }
    };
    let approval = |approval: Approval, test_id: &'static str, label: &'static str| {
        view! {
            <label class="mcp-choice">
                <input
                    type="radio"
                    name="mcp-approval"
                    data-testid=test_id
                    prop:checked=move || form.approval.get() == approval
                    on:change=move |_| form.approval.set(approval)
                />
                {label}
            </label>
        }
    };
    let nothing_ticked = move || form.tools.with(Vec::is_empty);
    view! {
        <div class="mcp-form" data-testid="mcp-form">
            <fieldset>
                <legend>"Tools it may use"</legend>
                {TOOLS.iter().map(|t| tool(t.name, t.description)).collect_view()}
            </fieldset>
            <fieldset>
                <legend>"For"</legend>
                {LIFETIMES.iter().copied().map(lifetime).collect_view()}
            </fieldset>
            <fieldset>
                <legend>"Each call"</legend>
                {approval(Approval::Ask, "mcp-approval-ask", "Ask me for each call")}
                {approval(Approval::Allow, "mcp-approval-allow", "Allow calls")}
            </fieldset>
            <button
                class="primary"
                data-testid="mcp-connect"
                disabled=move || nothing_ticked() || link.connecting.get()
                on:click=move |_| link.connect(form.request())
            >
                {move || if link.connecting.get() { "Connecting…" } else { "Connect" }}
            </button>
        </div>
    }
}

/// The grant just made: its URL and token, once, and how to set a client up with them.
fn secret_view(granted: Granted, link: McpLink) -> impl IntoView {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let url = absolute_url(&granted.url, &origin);
    let token = granted.token;
    view! {
        <div class="mcp-secret" data-testid="mcp-secret" data-grant-id=granted.grant_id>
            <p class="mcp-once" role="alert">
                <strong>"Copy the token now: it won't be shown again."</strong>
                " Anyone who has it can use the tools you chose, as this tab, until the grant ends."
            </p>
            <label class="mcp-field">"URL"</label>
            <Copyable text=url.clone() test_id="mcp-url" copy_id="mcp-copy-url" inline=true />
            <label class="mcp-field">"Token"</label>
            <Copyable text=token.clone() test_id="mcp-token" copy_id="mcp-copy-token" inline=true />
            <label class="mcp-field">"Claude Code"</label>
            <Copyable text=claude_command(&url, &token) test_id="mcp-setup-claude" copy_id="mcp-copy-claude" />
            <label class="mcp-field">"Cursor, Zed and other clients (mcpServers JSON)"</label>
            <Copyable text=client_json(&url, &token) test_id="mcp-setup-json" copy_id="mcp-copy-json" />
            <button data-testid="mcp-secret-done" on:click=move |_| link.dismiss_secret()>
                "Done: I copied it"
            </button>
        </div>
    }
}
