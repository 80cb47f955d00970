//! The toasts: every error that reaches this page on an error topic of SPEC §2 pops up
//! bottom-right with its code and sentence, except the errors of requests the page made on its
//! own (sent with the bus client's `silent` option, e.g. inline completions), which are reported
//! where they were made.
//!
//! The kernel addresses errors to the client whose request caused them, so the toasts listen
//! locally (`BusClient::on_errors`) and ask the kernel for nothing. Identical errors in a burst share
//! one toast with a count; toasts leave after `TOAST_LIFETIME_MS` or on ×. The container is a
//! live region and each toast an alert, so screen readers announce them. DOM contract for
//! tests: `[data-testid=toasts]`, `.toast[data-code][data-topic]`, `.toast-count`,
//! `.toast-dismiss`.

use std::time::Duration;

use aether_shared::{Envelope, ErrorCode, ErrorPayload};
use leptos::prelude::*;

use super::icons::{self, Icon};
use super::toast_stack::{TOAST_LIFETIME_MS, ToastStack};
use crate::services::bus::BusClient;

/// The toast area.
#[component]
pub fn Toasts() -> impl IntoView {
    let bus = expect_context::<BusClient>();
    let stack = RwSignal::new(ToastStack::default());
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
    let count = move || stack.with(|s| s.get(id).map_or(1, |t| t.count));
    view! {
        <div class="toast" role="alert" data-code=code data-topic=topic>
            <div class="toast-head">
                <span class="toast-code">{toast.code}</span>
                <span class="toast-topic">{toast.topic}</span>
                <Show when=move || { count() > 1 }>
                    <span class="toast-count" title="Times this error arrived">
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
        .is_none()
    {
        return;
    }
    set_timeout(
        move || {
            let _ = stack.try_update(|s| s.expire(js_sys::Date::now()));
        },
        // A little after the deadline, so the toast is sure to be due.
        Duration::from_millis(TOAST_LIFETIME_MS as u64 + 50),
    );
}
