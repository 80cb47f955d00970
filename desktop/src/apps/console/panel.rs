//! The run side of the Console: one tab per run, and the run in front with its status line,
//! its output (stderr in another colour, kept scrolled to the end unless the user scrolled up),
//! its stdin line and its Kill button.
//!
//! DOM contract: `[data-testid=console-tab][data-state]` with `.console-tab-close`,
//! `[data-testid=console-status][data-state=running|exited|error]`,
//! `[data-testid=console-output]` (stdout in `.console-stdout`, stderr in `.console-stderr`,
//! typed input in `.console-stdin-echo`), `[data-testid=console-stdin]`,
//! `[data-testid=console-eof]`, `[data-testid=console-kill]`, `[data-testid=console-terminal]`
//! (opens a Terminal attached to the program: the `AttachProgram` intent). Renders only; every
//! action goes through [`Runs`] or the window manager.

use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;

use super::run::RunId;
use super::runs::Runs;
use super::units;
use crate::apps::terminal;
use crate::shell::intents::Intent;
use crate::shell::windows::WindowManager;

/// How close to the end (in CSS pixels) the output must be scrolled to keep following it.
const FOLLOW_SLACK_PX: i32 = 24;

/// The tab strip and the run in front.
#[component]
pub fn RunPanel(runs: Runs) -> impl IntoView {
    let book = runs.book;
    let tabs = move || {
        book.with(|b| {
            b.runs()
                .iter()
                .map(|r| (r.id, r.label.clone(), r.state(), b.active() == Some(r.id)))
                .collect::<Vec<_>>()
        })
    };
    let active = Memo::new(move |_| book.with(|b| b.active()));
    let tab_runs = runs.clone();
    let front = move || match active.get() {
        Some(id) => view! { <RunView runs=runs.clone() id /> }.into_any(),
        None => view! {
            <p class="console-empty">"Choose a program on the left and press Run."</p>
        }
        .into_any(),
    };

    view! {
        <div class="console-runs">
            <div class="console-tabs" role="tablist" aria-label="Runs">
                <For
                    each=tabs
                    key=|tab| tab.clone()
                    children=move |(id, label, state, selected)| {
                        let runs = tab_runs.clone();
                        view! {
                            <div class="console-tab" class:selected=selected data-state=state>
                                <button
                                    type="button"
                                    role="tab"
                                    data-testid="console-tab"
                                    data-state=state
                                    aria-selected=selected.to_string()
                                    on:click=move |_| book.update(|b| b.select(id))
                                >
                                    <span class="console-tab-dot" aria-hidden="true"></span>
                                    {label}
                                </button>
                                <button
                                    type="button"
                                    class="console-tab-close"
                                    aria-label="Close this run (kills it if running)"
                                    title="Close (kills the program if it is running)"
                                    on:click=move |_| runs.close(id)
                                >
                                    "×"
                                </button>
                            </div>
                        }
                    }
                />
            </div>
            {front}
        </div>
    }
}

/// One run: status, output, stdin, Kill.
#[component]
fn RunView(runs: Runs, id: RunId) -> impl IntoView {
    let book = runs.book;
    let status = Memo::new(move |_| {
        book.with(|b| {
            b.get(id)
                .map(|r| (r.state(), r.status_line()))
                .unwrap_or(("exited", String::new()))
        })
    });
    let pid = Memo::new(move |_| book.with(|b| b.get(id).and_then(|r| r.pid())));
    let can_type = Memo::new(move |_| {
        book.with(|b| b.get(id).is_some_and(|r| r.pid().is_some() && r.stdin_open))
    });
    let segments = move || {
        book.with(|b| {
            b.get(id)
                .map(|r| r.transcript.segments().to_vec())
                .unwrap_or_default()
        })
    };
    let dropped = move || book.with(|b| b.get(id).map_or(0, |r| r.transcript.dropped_bytes()));

    // Follow the output while the user is at its end.
    let output = NodeRef::<html::Pre>::new();
    let follow = StoredValue::new(true);
    Effect::new(move |_| {
        book.track();
        if follow.get_value() {
            request_animation_frame(move || {
                if let Some(el) = output.get_untracked() {
                    el.set_scroll_top(el.scroll_height());
                }
            });
        }
    });
    let on_scroll = move |_| {
        if let Some(el) = output.get_untracked() {
            let gap = el.scroll_height() - el.scroll_top() - el.client_height();
            follow.set_value(gap <= FOLLOW_SLACK_PX);
        }
    };

    let wm = use_context::<WindowManager>();
    let to_terminal = move |_| {
        if let (Some(pid), Some(wm)) = (pid.get_untracked(), wm) {
            wm.open_with(&terminal::META, Intent::AttachProgram { pid });
        }
    };

    let line = RwSignal::new(String::new());
    let send = {
        let runs = runs.clone();
        move |eof: bool| {
            let mut data = line.get_untracked();
            if !eof {
                data.push('\n');
            }
            line.set(String::new());
            runs.stdin(id, data, eof);
        }
    };
    let on_key = {
        let send = send.clone();
        move |ev: KeyboardEvent| {
            if ev.key() == "Enter" {
                ev.prevent_default();
                send(false);
            } else if ev.ctrl_key() && ev.key().eq_ignore_ascii_case("d") {
                ev.prevent_default();
                send(true);
            }
        }
    };

    view! {
        <div class="console-run-view" role="tabpanel">
            <p
                class="console-status"
                data-testid="console-status"
                data-state=move || status.get().0
                aria-live="polite"
            >
                {move || status.get().1}
            </p>
            <pre
                class="console-output"
                data-testid="console-output"
                node_ref=output
                on:scroll=on_scroll
                tabindex="0"
            >
                {move || {
                    let n = dropped();
                    (n > 0)
                        .then(|| {
                            view! {
                                <span class="console-note">
                                    {format!("[{} of earlier output not shown]\n", units::bytes(n as u64))}
                                </span>
                            }
                        })
                }}
                <For
                    each=segments
                    key=|s| (s.id, s.text.len())
                    children=|s| view! { <span class=s.stream.class()>{s.text}</span> }
                />
            </pre>
            <div class="console-input">
                <input
                    type="text"
                    data-testid="console-stdin"
                    aria-label="Standard input: Enter sends a line, Ctrl+D ends the input"
                    placeholder="stdin — Enter sends, Ctrl+D ends"
                    spellcheck="false"
                    autocomplete="off"
                    prop:disabled=move || !can_type.get()
                    prop:value=move || line.get()
                    on:input=move |ev| line.set(event_target_value(&ev))
                    on:keydown=on_key
                />
                <button
                    type="button"
                    data-testid="console-eof"
                    title="End the input (Ctrl+D)"
                    prop:disabled=move || !can_type.get()
                    on:click=move |_| send(true)
                >
                    "EOF"
                </button>
                <button
                    type="button"
                    class="console-kill"
                    data-testid="console-kill"
                    prop:disabled=move || pid.get().is_none()
                    on:click={
                        let runs = runs.clone();
                        move |_| runs.kill(id)
                    }
                >
                    "Kill"
                </button>
                <button
                    type="button"
                    data-testid="console-terminal"
                    title="Show this program in a Terminal window, which types into its stdin"
                    prop:disabled=move || !can_type.get()
                    on:click=to_terminal
                >
                    "Terminal"
                </button>
            </div>
        </div>
    }
}
