//! The tab's watch for outside agents' calls that wait for the person (`mcp.ask`: a call of one
//! of this tab's `ask` grants waits for Allow or Deny). However the desktop looks when one
//! arrives, the person gets to see it: an Agent window with the focus is left as it is (its card
//! is there); otherwise the frontmost Agent window is brought forward (restored if minimized),
//! or an Agent window is opened — which reads the waiting call from `mcp.grants`'s `pending`,
//! the `mcp.ask` having gone out before it listened — and a toast says which tool asks.
//!
//! One listener per tab, installed by the desktop, not one per Agent window; a local listener,
//! as `mcp.ask` is addressed to this tab. It never decides and never sends anything: the cards
//! and the decisions are the Agent window's (`apps/agent/asks`).

use aether_shared::mcp::{self, Ask};
use aether_shared::{Pattern, Topic};

use super::toasts::Notifier;
use super::windows::{BroughtForward, WindowManager};
use crate::apps::agent;
use crate::services::bus::{BusClient, SubscriptionHandle};

/// The title of the toast (in the place of an error's code).
const TITLE: &str = "approval needed";

/// Starts watching; hand the handle to [`BusClient::off`] to stop.
pub fn install(bus: &BusClient, wm: WindowManager, notifier: Notifier) -> SubscriptionHandle {
    bus.on(Pattern::Exact(Topic::from_static(mcp::ASK)), move |env| {
        if let Ok(ask) = env.decode::<Ask>() {
            heard(&ask, wm, notifier);
        }
    })
}

/// Puts the Agent in front and, unless it had the focus already, says why.
fn heard(ask: &Ask, wm: WindowManager, notifier: Notifier) {
    match wm.bring_forward(&agent::META) {
        BroughtForward::AlreadyFocused(_) => {}
        BroughtForward::Raised(_) | BroughtForward::Opened(_) => {
            notifier.notify(mcp::ASK, TITLE, &sentence(&ask.tool));
        }
    }
}

/// What the toast says about a call of `tool` that waits.
fn sentence(tool: &str) -> String {
    format!("An outside agent asks to run `{tool}` — see Agent to allow or deny it.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toast_names_the_tool_and_where_to_answer() {
        let said = sentence("write_file");
        assert!(said.starts_with("An outside agent asks to run `write_file` — see Agent"));
    }
}
