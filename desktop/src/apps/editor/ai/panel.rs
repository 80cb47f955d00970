//! The AI panel: a chat that sees the file in front and its selection, the commands "Explain
//! selection", "Fix this" (the file and the last run's stderr) and "Write a test", and the
//! state of the answer streaming in. Answers to Fix and Write a test become a [`Proposal`]
//! (shown as a diff); nothing is applied to the file here. An `ai.error` (e.g. `not_configured`)
//! is shown in the panel with its sentence.
//!
//! DOM contract: `[data-testid=ai-panel]`, `ai-input`, `ai-send`, `ai-stop`, `ai-explain`,
//! `ai-fix`, `ai-test`, messages `[data-testid=ai-message][data-role]`, `[data-testid=ai-error]
//! [data-code]`, and `data-streaming` on the panel while an answer streams.

use aether_shared::ErrorCode;
use aether_shared::ai::{ChatEvent, Message, Role};
use leptos::prelude::*;

use super::Proposal;
use crate::apps::editor::EditorState;
use crate::apps::editor::prompts::{self, Command};

/// One turn shown in the chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Turn {
    pub role: Role,
    pub text: String,
}

/// The panel's state (`Copy`).
#[derive(Clone, Copy)]
pub struct Chat {
    pub turns: RwSignal<Vec<Turn>>,
    /// The request id of the answer streaming now.
    pub streaming: RwSignal<Option<String>>,
    pub error: RwSignal<Option<(ErrorCode, String)>>,
    pub input: RwSignal<String>,
}

impl Chat {
    pub fn new() -> Chat {
        Chat {
            turns: RwSignal::new(Vec::new()),
            streaming: RwSignal::new(None),
            error: RwSignal::new(None),
            input: RwSignal::new(String::new()),
        }
    }
}

/// Asks `question` (free chat) or runs `command`.
pub fn ask(state: EditorState, chat: Chat, question: Option<String>, command: Option<Command>) {
    if chat.streaming.get_untracked().is_some() {
        return;
    }
    let file = state.file_context();
    let (messages, shown) = match (command, &file) {
        (Some(command), Some(file)) => (
            prompts::command(command, file, &state.last_stderr()),
            command.label().to_owned(),
        ),
        (Some(_), None) => {
            chat.error.set(Some((
                ErrorCode::BadRequest,
                "Open a file first: the commands work on the file in front.".into(),
            )));
            return;
        }
        (None, _) => {
            let question = question.unwrap_or_default();
            let history: Vec<Message> = chat
                .turns
                .get_untracked()
                .into_iter()
                .map(|t| Message::new(t.role, t.text))
                .collect();
            (prompts::chat(&history, file.as_ref(), &question), question)
        }
    };
    chat.error.set(None);
    chat.turns.update(|t| {
        t.push(Turn {
            role: Role::User,
            text: shown,
        });
        t.push(Turn {
            role: Role::Assistant,
            text: String::new(),
        });
    });
    let started = state.ai().chat(messages, move |event| match event {
        ChatEvent::Started(_) => {}
        ChatEvent::Chunk(chunk) => {
            chat.turns.try_update(|t| {
                if let Some(last) = t.last_mut() {
                    last.text.push_str(&chunk.delta);
                }
            });
        }
        ChatEvent::Done(_) => {
            chat.streaming.try_set(None);
            let answer = chat
                .turns
                .try_with_untracked(|t| t.last().map(|l| l.text.clone()))
                .flatten()
                .unwrap_or_default();
            if let (Some(command), Some(file)) = (command, &file)
                && command.proposes_edit()
                && let Some(proposed) = prompts::code_block(&answer)
            {
                state.proposal.try_set(Some(Proposal {
                    path: file.path.clone(),
                    language: file.language.clone(),
                    original: file.text.clone(),
                    proposed,
                }));
            }
        }
        ChatEvent::Failed(error) => {
            chat.streaming.try_set(None);
            chat.error.try_set(Some((error.code, error.error)));
        }
    });
    match started {
        Ok(id) => chat.streaming.set(Some(id)),
        Err(e) => chat.error.set(Some((e.code(), e.to_string()))),
    }
}

/// The panel.
#[component]
pub fn AiPanel(state: EditorState, chat: Chat) -> impl IntoView {
    let send = move || {
        let question = chat.input.get_untracked().trim().to_owned();
        if !question.is_empty() {
            chat.input.set(String::new());
            ask(state, chat, Some(question), None);
        }
    };
    let stop = move |_| {
        if let Some(id) = chat.streaming.get_untracked() {
            state.ai().cancel(&id);
        }
    };
    let busy = move || chat.streaming.get().is_some();
    view! {
        <aside class="ai-panel" data-testid="ai-panel" data-streaming=move || busy().to_string() aria-label="AI assistant">
            <div class="ai-commands">
                <button data-testid="ai-explain" disabled=busy on:click=move |_| ask(state, chat, None, Some(Command::Explain))>"Explain selection"</button>
                <button data-testid="ai-fix" disabled=busy on:click=move |_| ask(state, chat, None, Some(Command::Fix))>"Fix this"</button>
                <button data-testid="ai-test" disabled=busy on:click=move |_| ask(state, chat, None, Some(Command::WriteTest))>"Write a test"</button>
            </div>
            <ol class="ai-messages">
                <For each=move || chat.turns.get().into_iter().enumerate() key=|(i, t)| (*i, t.text.len()) let:item>
                    <li class="ai-message" data-testid="ai-message" data-role=match item.1.role {
                        Role::User => "user",
                        Role::Assistant => "assistant",
                        Role::System => "system",
                    }>{item.1.text.clone()}</li>
                </For>
            </ol>
            {move || chat.error.get().map(|(code, text)| view! {
                <p class="ai-error" data-testid="ai-error" data-code=code.as_str() role="alert">{text}</p>
            })}
            <form class="ai-ask" on:submit=move |ev| { ev.prevent_default(); send(); }>
                <textarea
                    data-testid="ai-input"
                    rows="2"
                    placeholder="Ask about this file… (Enter sends, Shift+Enter is a new line)"
                    prop:value=move || chat.input.get()
                    on:input=move |ev| chat.input.set(event_target_value(&ev))
                    on:keydown=move |ev: web_sys::KeyboardEvent| {
                        if ev.key() == "Enter" && !ev.shift_key() {
                            ev.prevent_default();
                            send();
                        }
                    }
                ></textarea>
                {move || if busy() {
                    view! { <button type="button" data-testid="ai-stop" on:click=stop>"Stop"</button> }.into_any()
                } else {
                    view! { <button type="submit" data-testid="ai-send">"Send"</button> }.into_any()
                }}
            </form>
        </aside>
    }
}
