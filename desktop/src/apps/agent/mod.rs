//! The Agent app: ask the kernel's AI agent (`ai.agent.*`) to do something in this tab's files
//! and watch it work: streamed text, each tool call as a card with its full arguments (a write
//! as a diff), Allow / Deny / Allow this tool for the run where the policy asks, results folded
//! under their call, a budget meter, Stop, **Undo run**, and the history of past runs. Every
//! file the run touched opens in the Editor with one click (the window manager's intent).
//! Closing the window cancels a run still going.
//!
//! **Connect an agent** lets an outside agent (Claude Code, Cursor, Zed, any MCP client) use the
//! same tools on this tab over MCP (`mcp.*`): a grant made in a panel that takes the place of the
//! transcript, its token shown once with set-up lines, the tab's grants and their calls; calls
//! that ask wait as cards above the transcript, panel open or not. The palette's "Connect an
//! agent" opens that panel in the window in front (`Intent::Command`).
//!
//! Files: `session` is the window's state and its talk with the bus; `transcript` the shown run
//! (pure, moved by events); `diff` the line diff of a write (pure); `goal` the goal box (the
//! Editor's file and selection as context, the budget); `card` draws transcript entries,
//! `history` the past runs. For outside agents: `link` is the window's state and talk on
//! `mcp.*`, `outside` the calls it keeps (pure), `setup` what the panel offers and writes out
//! (pure), `connect` the panel, `copy` its Copy buttons, `grants` the grants and their calls,
//! `asks` the calls waiting for the user. This module lays the window out.
//!
//! DOM contract: `[data-testid=agent][data-state=idle|starting|running|done|failed|cancelled]
//! [data-waiting]` (`true` while a call waits for a decision),
//! buttons `agent-start`, `agent-stop`, `agent-undo`, `agent-back-live`;
//! `[data-testid=agent-transcript][data-run-id]`; `[data-testid=agent-meter]` with
//! `[data-testid=agent-meter-turns|agent-meter-tokens|agent-meter-calls][data-used][data-limit]`;
//! `[data-testid=agent-touched]` and `[data-testid=agent-restored]` (lists of
//! `agent-open-path`); `agent-connect` (opens and closes the panel, `[data-open]`, its badge
//! `agent-connect-count` the live grants); and those of `goal`, `card`, `history`, `connect`,
//! `grants` and `asks`. The root also carries `[data-asks]`: how many outside calls wait.

mod asks;
mod card;
mod connect;
mod copy;
mod diff;
mod goal;
mod grants;
mod history;
mod link;
mod outside;
mod session;
mod setup;
mod transcript;

use aether_shared::mcp::GrantState;
use leptos::html::Div;
use leptos::prelude::*;

use super::{AppCommand, AppMeta};
use crate::services::bus::BusClient;
use crate::shell::geometry::Size;
use crate::shell::intents::{Intent, receive_intents};
use crate::shell::windows::WindowManager;
use asks::Asks;
use card::{entry_view, path_link};
use connect::ConnectPanel;
use goal::{GoalBox, GoalForm};
use history::History;
use link::McpLink;
use session::Session;
use transcript::{Entry, Phase, Transcript};

/// The palette command that opens the "Connect an agent" panel.
const CONNECT: &str = "connect";

/// The registry entry.
pub const META: AppMeta = AppMeta {
    id: "agent",
    title: "Agent",
    icon: "M12 3v3 M7 7h10a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V9a2 2 0 0 1 2-2Z M9.5 12h.01 M14.5 12h.01 M9 15.5h6",
    default_size: Size {
        width: 1040.0,
        height: 640.0,
    },
    min_size: Size {
        width: 560.0,
        height: 360.0,
    },
    multi_instance: true,
    commands: &[AppCommand::new(CONNECT, "Connect an agent (MCP)")],
    render,
};

// Loaded on demand: the app's code is its own wasm chunk, fetched when its first window opens.
super::on_demand::on_demand!(agent, view! { <Agent /> });

/// A transcript entry with what makes its key: the run, its place, how far it has come, and
/// whether its calls can still be decided (a changed key redraws the entry; the others stay).
type Keyed = ((Option<String>, usize, String, bool), Entry);

fn keyed(t: &Transcript) -> Vec<Keyed> {
    t.entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let version = match entry {
                Entry::Text(text) => text.len().to_string(),
                Entry::Call(call) => call.state_word().to_owned(),
                _ => String::new(),
            };
            ((t.run_id.clone(), i, version, t.decidable()), entry.clone())
        })
        .collect()
}

/// The Agent window's content.
#[component]
pub fn Agent() -> impl IntoView {
    let session = Session::new(
        expect_context::<BusClient>(),
        expect_context::<WindowManager>(),
    );
    let form = GoalForm::new();
    let link = McpLink::new(
        expect_context::<BusClient>(),
        expect_context::<WindowManager>(),
    );
    let panel_open = RwSignal::new(false);
    let live_grants = move || {
        link.grants
            .with(|g| g.iter().filter(|g| g.state == GrantState::Live).count())
    };
    {
        let bus = expect_context::<BusClient>();
        Effect::new(move |_| {
            if bus.state().is_connected() {
                session.refresh_history();
            }
        });
    }

    // The palette's commands, in the window in front.
    receive_intents(
        || true,
        move |intent| {
            if intent == Intent::Command(CONNECT) {
                panel_open.set(true);
            }
        },
    );
    on_cleanup(move || session.abandon());

    let start = Callback::new(move |()| {
        if let Some(request) = form.request() {
            session.start(request);
        }
    });
    let live_phase = {
        let live = session.live;
        move || live.with(|t| t.as_ref().map(|t| t.phase))
    };
    let busy = move || live_phase().is_some_and(|p| !p.is_over());
    let shown_phase = move || session.shown(|t| t.map_or("idle", |t| t.phase.word()));
    let can_undo = move || session.shown(|t| t.is_some_and(Transcript::can_undo));
    let can_stop = move || {
        live_phase() == Some(Phase::Running)
            && session
                .live
                .with(|t| t.as_ref().is_some_and(|t| t.run_id.is_some()))
    };
    let viewing_record = {
        let record = session.record;
        move || record.with(Option::is_some)
    };

    view! {
        <div
            class="agent side-by-side"
            data-testid="agent"
            data-state=shown_phase
            data-waiting=move || session.shown(|t| t.is_some_and(Transcript::awaits_decision)).to_string()
            data-asks=move || link.asks.with(Vec::len).to_string()
        >
            <section class="agent-side side-pane">
                <GoalBox form start />
                <div class="agent-actions">
                    <button
                        class="primary"
                        data-testid="agent-start"
                        disabled=move || busy() || form.goal.with(|g| g.trim().is_empty())
                        on:click=move |_| start.run(())
                    >
                        "Start"
                    </button>
                    <button data-testid="agent-stop" disabled=move || !can_stop() on:click=move |_| session.stop()>
                        "Stop"
                    </button>
                    <button
                        data-testid="agent-undo"
                        title="Put back every file the run wrote"
                        disabled=move || !can_undo()
                        on:click=move |_| session.undo()
                    >
                        "Undo run"
                    </button>
                </div>
                <button
                    class="agent-connect"
                    data-testid="agent-connect"
                    data-open=move || panel_open.get().to_string()
                    title="Let an outside agent (Claude Code, Cursor, Zed…) use this tab over MCP"
                    on:click=move |_| {
                        panel_open.update(|open| *open = !*open);
                        if panel_open.get_untracked() {
                            link.refresh();
                        }
                    }
                >
                    "Connect an agent"
                    {move || (live_grants() > 0).then(|| view! {
                        <span class="agent-badge agent-state-running" data-testid="agent-connect-count">
                            {live_grants()}" live"
                        </span>
                    })}
                </button>
                <Meter session />
                <Touched session />
                <History runs=session.history open=move |id| session.open_run(id) />
            </section>
            <section class="agent-main">
                <header class="agent-headline">
                    {move || session.shown(|t| t.map(|t| t.goal.clone())).map(|goal| view! { <strong>{goal}</strong> })}
                    <span class=move || format!("agent-badge agent-state-{}", shown_phase())>{shown_phase}</span>
                    {move || viewing_record().then(|| view! {
                        <button data-testid="agent-back-live" on:click=move |_| session.back_to_live()>
                            "Back to the latest run"
                        </button>
                    })}
                </header>
                <Asks link />
                <Show
                    when=move || panel_open.get()
                    fallback=move || view! { <TranscriptView session /> }
                >
                    <ConnectPanel link close=move |()| panel_open.set(false) />
                </Show>
            </section>
        </div>
    }
}

/// The shown run's entries, scrolled to the newest.
#[component]
fn TranscriptView(session: Session) -> impl IntoView {
    let list = NodeRef::<Div>::new();
    let entries = move || session.shown(|t| t.map(keyed).unwrap_or_default());
    let run_id = move || session.shown(|t| t.and_then(|t| t.run_id.clone()));
    let empty = move || session.shown(|t| t.is_none_or(|t| t.entries.is_empty()));
    // Keeps the newest entry in view as the run streams.
    Effect::new(move |_| {
        let _grown = session.shown(|t| {
            t.map(|t| match t.entries.last() {
                Some(Entry::Text(text)) => (t.entries.len(), text.len()),
                _ => (t.entries.len(), 0),
            })
        });
        if let Some(element) = list.get() {
            element.set_scroll_top(element.scroll_height());
        }
    });
    view! {
        <div class="agent-transcript" data-testid="agent-transcript" data-run-id=run_id node_ref=list>
            {move || empty().then_some(view! {
                <p class="agent-muted">"Type a goal and press Start: the agent's text, tool calls and results appear here."</p>
            })}
            <For
                each=entries
                key=|(key, _)| key.clone()
                children=move |((_, _, _, decidable), entry)| entry_view(entry, decidable, &session)
            />
        </div>
    }
}

/// Turns, tokens and tool calls used by the shown run, against the limits the user set.
#[component]
fn Meter(session: Session) -> impl IntoView {
    let item = move |label: &'static str, test_id: &'static str, pick: fn(&Transcript) -> (u64, Option<u64>)| {
        let figures = move || session.shown(|t| t.map(pick).unwrap_or((0, None)));
        view! {
            <span
                class="agent-meter-item"
                data-testid=test_id
                data-used=move || figures().0.to_string()
                data-limit=move || figures().1.map(|l| l.to_string()).unwrap_or_default()
            >
                {label}" "
                <strong>{move || figures().0}</strong>
                {move || figures().1.map(|l| format!(" / {l}"))}
                {move || figures().1.map(|l| view! { <progress max=l.to_string() value=figures().0.min(l).to_string()></progress> })}
            </span>
        }
    };
    view! {
        <div class="agent-meter" data-testid="agent-meter" aria-label="Budget used">
            {item("turns", "agent-meter-turns", |t| (t.counts.turns, t.limits.max_turns))}
            {item("tokens", "agent-meter-tokens", |t| (t.counts.tokens, t.limits.max_tokens))}
            {item("tool calls", "agent-meter-calls", |t| (t.counts.tool_calls, t.limits.max_tool_calls))}
        </div>
    }
}

/// The files the shown run touched, and those Undo put back.
#[component]
fn Touched(session: Session) -> impl IntoView {
    let touched = move || session.shown(|t| t.map(|t| t.touched.clone()).unwrap_or_default());
    let restored = move || session.shown(|t| t.and_then(|t| t.restored.clone()));
    view! {
        {move || {
            let paths = touched();
            (!paths.is_empty()).then(|| view! {
                <div class="agent-files" data-testid="agent-touched">
                    "Files: "{paths.into_iter().map(|p| path_link(p, &session)).collect_view()}
                </div>
            })
        }}
        {move || {
            restored().map(|paths| view! {
                <div class="agent-files agent-restored" data-testid="agent-restored">
                    {if paths.is_empty() { "Nothing to put back." } else { "Put back: " }}
                    {paths.into_iter().map(|p| path_link(p, &session)).collect_view()}
                </div>
            })
        }}
    }
}
