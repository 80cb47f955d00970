//! The toasts: every error that reaches this page on an error topic of SPEC §2 pops up
//! bottom-right with its code and sentence, except the errors of requests the page made on its
//! own (sent with the bus client's `silent` option, e.g. inline completions), which are reported
//! where they were made.
//!
//! The kernel addresses errors to the client whose request caused them, so the toasts listen
//! locally (`BusClient::on_errors`) and ask the kernel for nothing. The shell also shows notices
//! here through the [`Notifier`] in context (the `ask_watch`'s "an outside agent asks").
//! Identical toasts in a burst share one with a count; toasts leave after `TOAST_LIFETIME_MS` or
//! on ×. The container is a live region and each error an alert (a notice a status), so screen
//! readers announce them. DOM contract for tests: `[data-testid=toasts]`,
//! `.toast[data-kind=error|notice][data-topic]` (an error's also `[data-code]`), `.toast-count`,
//! `.toast-dismiss`.

use std::time::Duration;

use aether_shared::{Envelope, ErrorCode, ErrorPayload};
use leptos::prelude::*;

use super::icons::{self, Icon};
use super::toast_stack::{TOAST_LIFETIME_MS, ToastKind, ToastStack};
use crate::services::bus::BusClient;

/// The page's toasts, for the shell to post notices to. `Copy`; the desktop provides it as
/// context and [`Toasts`] draws it.
#[derive(Clone, Copy)]
pub struct Notifier(RwSignal<ToastStack>);

impl Notifier {
    pub fn new() -> Notifier {
        Notifier(RwSignal::new(ToastStack::default()))
    }

    /// Shows a notice: `title` in the code's place, then `sentence`; it goes like an error's.
    pub fn notify(self, topic: &str, title: &str, sentence: &str) {
        let stack = self.0;
        let now = js_sys::Date::now();
        if stack
            .try_update(|s| s.notify(topic, title, sentence, now))
            .is_some()
        {
            expire_later(stack);
        }
    }
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier::new()
    }
}

/// The toast area: the [`Notifier`] in context (a stack of its own without one), and every
/// error that reaches the page.
#[component]
pub fn Toasts() -> impl IntoView {
    let bus = expect_context::<BusClient>();
    let stack = use_context::<Notifier>().unwrap_or_default().0;
    let handle = bus.on_errors(move |envelope| show(stack, envelope));
    on_cleanup(move || {
        bus.off(handle);
    });
    let ids = move || stack.with(|s| s.toasts().iter().map(|t| t.id).collect::<Vec<_>>());

    view! {
        <section
            class="toasts"
            data-testid="toasts"
            role="region"
            aria-live="polite"
            aria-label="Notifications"
        >
            <For each=ids key=|id| *id let:id>
                <ToastView stack id />
            </For>
        </section>
    }
}

/// One toast; reads its count from the stack, so a repeat updates it in place.
#[component]
fn ToastView(stack: RwSignal<ToastStack>, id: u32) -> impl IntoView {
    let Some(toast) = stack.with_untracked(|s| s.get(id).cloned()) else {
        return ().into_any();
    };
    let (code, topic) = (toast.code.clone(), toast.topic.clone());
    let (role, data_code) = match toast.kind {
        ToastKind::Error => ("alert", Some(code)),
        ToastKind::Notice => ("status", None),
    };
    let count = move || stack.with(|s| s.get(id).map_or(1, |t| t.count));
    view! {
        <div
            class="toast"
            role=role
            data-kind=toast.kind.as_str()
            data-code=data_code
            data-topic=topic
        >
            <div class="toast-head">
                <span class="toast-code">{toast.code}</span>
                <span class="toast-topic">{toast.topic}</span>
                <Show when=move || { count() > 1 }>
                    <span class="toast-count" title="Times this arrived">
                        {move || format!("×{}", count())}
                    </span>
                </Show>
            </div>
            <p class="toast-message">{toast.error}</p>
            <button
                class="toast-dismiss"
                aria-label="Dismiss"
                title="Dismiss"
                on:click=move |_| {
                    stack.update(|s| {
                        s.dismiss(id);
                    })
                }
            >
                <Icon path=icons::CLOSE />
            </button>
        </div>
    }
    .into_any()
}

/// Shows the error in `envelope` and schedules its toast's departure.
fn show(stack: RwSignal<ToastStack>, envelope: &Envelope) {
    // Something the user cancelled (Kill, Stop, a task's Cancel, typing on past an inline
    // completion) is no error, unless the kernel's shutdown did it (`details.interrupted`).
    let user_cancelled = envelope.decode::<ErrorPayload>().is_ok_and(|e| {
        e.code == ErrorCode::Cancelled
            && !e
                .details
                .as_ref()
                .is_some_and(|d| d.contains_key("interrupted"))
    });
    if user_cancelled {
        return;
    }
    let (code, error) = match envelope.decode::<ErrorPayload>() {
        Ok(payload) => (payload.code.as_str(), payload.error),
        Err(e) => (
            ErrorCode::Internal.as_str(),
            format!(
                "An error arrived on `{}` that this desktop cannot read ({e}); report it as a kernel bug.",
                envelope.topic
            ),
        ),
    };
    let now = js_sys::Date::now();
    if stack
        .try_update(|s| s.push(envelope.topic.as_str(), code, &error, now))
        .is_some()
    {
        expire_later(stack);
    }
}

/// Schedules the departure of the toast just shown or repeated.
fn expire_later(stack: RwSignal<ToastStack>) {
    set_timeout(
        move || {
            let _ = stack.try_update(|s| s.expire(js_sys::Date::now()));
        },
        // A little after the deadline, so the toast is sure to be due.
        Duration::from_millis(TOAST_LIFETIME_MS as u64 + 50),
    );
}
