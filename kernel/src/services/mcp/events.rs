//! What the granting tab is told about its grants' calls (`mcp.ask`, `mcp.settled`,
//! `mcp.called`): events addressed to that one client, never to anyone else. A tab that left is
//! simply not told. This module never decides what happens to a call.

use aether_shared::mcp::{CALLED, Called};
use aether_shared::{Envelope, ErrorPayload, Topic};
use serde::Serialize;
use serde_json::Value;

use crate::bus::Bus;

/// Most characters of a call's arguments `mcp.called` carries when they are cut.
const CUT_ARGUMENTS_CHARS: usize = 256;

/// Sends event `topic` with `body` to client `owner`; false when it is not connected.
pub fn tell(bus: &Bus, owner: &str, topic: &'static str, body: &impl Serialize) -> bool {
    let env = Envelope::new(Topic::from_static(topic))
        .with_payload(body)
        .to(owner);
    match bus.publish_from_kernel(env) {
        Ok(_) => true,
        Err(e) => {
            tracing::debug!(topic, "an mcp event was not delivered: {e}");
            false
        }
    }
}

/// Tells `owner` that a call of `tool` made with `grant_id` ended, with its arguments (cut to a
/// short string when they would take more than half of `max_frame_bytes`).
pub fn called(
    bus: &Bus,
    owner: &str,
    grant_id: &str,
    tool: &str,
    arguments: &Value,
    outcome: &Result<Value, ErrorPayload>,
    max_frame_bytes: usize,
) {
    let event = Called {
        grant_id: grant_id.to_owned(),
        tool: tool.to_owned(),
        arguments: fit(arguments, max_frame_bytes),
        ok: outcome.is_ok(),
        error: outcome.as_ref().err().cloned(),
    };
    tell(bus, owner, CALLED, &event);
}

/// The arguments whole, or their JSON text's first [`CUT_ARGUMENTS_CHARS`] characters and how
/// long they were, when whole they would take more than half a frame.
fn fit(arguments: &Value, max_frame_bytes: usize) -> Value {
    let text = arguments.to_string();
    if text.len() <= max_frame_bytes / 2 {
        return arguments.clone();
    }
    let head: String = text.chars().take(CUT_ARGUMENTS_CHARS).collect();
    Value::String(format!("{head}… ({} bytes in all)", text.len()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn arguments_over_half_a_frame_are_cut_to_a_short_string() {
        let small = json!({"path": "/a"});
        assert_eq!(fit(&small, 1024), small);
        let big = json!({"path": "/a", "content": "x".repeat(600)});
        let cut = fit(&big, 1024);
        let said = cut.as_str().unwrap();
        assert!(said.starts_with('{') && said.contains("xxxx"), "{said}");
        assert!(said.ends_with("bytes in all)"), "{said}");
        assert!(said.len() < 300);
    }
}
