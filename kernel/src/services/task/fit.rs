//! Byte caps on what the task engine keeps and sends: one node's result
//! (`task.max_result_bytes`), a run's results together (`task.max_run_result_bytes`) and every
//! outgoing `task.*` message (`limits.max_frame_bytes`).
//!
//! A result over its cap keeps its shape: its strings are shortened (all to the same longest
//! length that fits, so short fields such as `code` or `pid` survive whole) and it is marked
//! `truncated: true` with `original_bytes`; a result that still does not fit keeps only the
//! marker. Sizes are measured by counting JSON bytes, never by building the text. This module
//! never drops a whole message: it only cuts the results inside it.

use aether_shared::Payload;
use aether_shared::task::{
    Done, Event, ORIGINAL_BYTES_FIELD, RunRecord, TRUNCATED_FIELD, TaskList,
};
use serde_json::Value;

pub use aether_shared::json_size::json_len;

/// Room kept in a frame for the envelope around a payload (topic, addresses, time); the
/// request id, chosen by the client, is counted separately.
pub const ENVELOPE_ROOM: usize = 512;
/// Room for the marker fields (`,"truncated":true,"original_bytes":<u64>`).
const MARKER_ROOM: usize = 64;

/// The bytes a message's payload may take in a frame of `max_frame_bytes` answering a request
/// with `request_id`.
pub fn frame_room(max_frame_bytes: usize, request_id: Option<&str>) -> usize {
    max_frame_bytes.saturating_sub(ENVELOPE_ROOM + request_id.map_or(0, |id| id.len() + 20))
}

fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

fn longest(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(longest).max().unwrap_or(0),
        Value::Object(map) => map.values().map(longest).max().unwrap_or(0),
        _ => 0,
    }
}

/// Bytes of `map` as JSON with every string cut to `max` bytes.
fn cut_len(map: &Payload, max: usize) -> usize {
    fn value_len(value: &Value, max: usize) -> usize {
        match value {
            Value::String(s) => json_len(prefix(s, max)),
            Value::Array(items) => {
                2 + items.len().saturating_sub(1)
                    + items.iter().map(|v| value_len(v, max)).sum::<usize>()
            }
            Value::Object(map) => cut_len(map, max),
            other => json_len(other),
        }
    }
    2 + map.len().saturating_sub(1)
        + map
            .iter()
            .map(|(k, v)| json_len(k) + 1 + value_len(v, max))
            .sum::<usize>()
}

fn cut(map: &Payload, max: usize) -> Payload {
    fn value(v: &Value, max: usize) -> Value {
        match v {
            Value::String(s) => Value::String(prefix(s, max).to_owned()),
            Value::Array(items) => Value::Array(items.iter().map(|v| value(v, max)).collect()),
            Value::Object(map) => Value::Object(cut(map, max)),
            other => other.clone(),
        }
    }
    map.iter()
        .map(|(k, v)| (k.clone(), value(v, max)))
        .collect()
}

/// `result` within `max` bytes of JSON: itself when it fits, else cut and marked (see the
/// module doc). A result cut before keeps its first `original_bytes`.
pub fn result(result: &Payload, max: usize) -> Payload {
    let size = json_len(result);
    if size <= max {
        return result.clone();
    }
    let original = result
        .get(ORIGINAL_BYTES_FIELD)
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .max(size as u64);
    let room = max.saturating_sub(MARKER_ROOM);
    let mut kept = if cut_len(result, 0) <= room {
        // The longest string length at which the whole result fits.
        let (mut fits, mut over) = (0, result.values().map(longest).max().unwrap_or(0));
        while fits + 1 < over {
            let mid = fits + (over - fits) / 2;
            if cut_len(result, mid) <= room {
                fits = mid;
            } else {
                over = mid;
            }
        }
        cut(result, fits)
    } else {
        Payload::new()
    };
    kept.insert(TRUNCATED_FIELD.to_owned(), Value::Bool(true));
    kept.insert(ORIGINAL_BYTES_FIELD.to_owned(), Value::from(original));
    kept
}

/// Cuts the results so that `size` (the message's bytes) is within `room`: results smaller than
/// an equal share of the room left for results stay whole, the others are cut to that share.
fn shrink<'a>(size: usize, room: usize, results: impl Iterator<Item = &'a mut Payload>) {
    if size <= room {
        return;
    }
    let mut results: Vec<(usize, &'a mut Payload)> = results.map(|r| (json_len(&*r), r)).collect();
    let fixed = size - results.iter().map(|(len, _)| len).sum::<usize>();
    let mut budget = room.saturating_sub(fixed);
    results.sort_by_key(|(len, _)| *len);
    let count = results.len();
    for (k, (len, result)) in results.into_iter().enumerate() {
        let share = budget / (count - k);
        if len > share {
            *result = self::result(result, share);
        }
        budget = budget.saturating_sub(json_len(&*result));
    }
}

/// Cuts `event`'s result so the event fits `room` bytes.
pub fn event(event: &mut Event, room: usize) {
    let size = json_len(event);
    shrink(size, room, event.result.iter_mut());
}

/// Cuts `done`'s results (see [`shrink`]) so the message fits `room` bytes.
pub fn done(done: &mut Done, room: usize) {
    let size = json_len(done);
    shrink(size, room, done.results.values_mut());
}

/// Cuts `record`'s node results (see [`shrink`]) so the record fits `room` bytes.
pub fn record(record: &mut RunRecord, room: usize) {
    let size = json_len(record);
    shrink(
        size,
        room,
        record.nodes.iter_mut().filter_map(|n| n.result.as_mut()),
    );
}

/// Leaves out the oldest runs, then the oldest tasks, until `list` fits `room` bytes.
pub fn list(list: &mut TaskList, room: usize) {
    let mut size = json_len(list);
    while size > room {
        let dropped = if list.runs.len() > list.tasks.len() {
            list.runs.pop().map(|r| json_len(&r))
        } else {
            list.tasks.pop().map(|t| json_len(&t))
        };
        let Some(bytes) = dropped else {
            break;
        };
        size -= bytes.min(size);
        if !list.truncated {
            list.truncated = true;
            size += 20;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(v: Value) -> Payload {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_small_result_is_kept_whole() {
        let small = payload(json!({"code": 0, "stdout": "ok"}));
        assert_eq!(result(&small, 1024), small);
    }

    #[test]
    fn a_large_result_keeps_its_short_fields_and_is_marked() {
        let big = payload(
            json!({"code": 0, "pid": 7, "stdout": "x".repeat(100_000), "stderr": "é".repeat(50_000)}),
        );
        let kept = result(&big, 4096);
        assert!(json_len(&kept) <= 4096, "{}", json_len(&kept));
        assert!(
            json_len(&kept) > 3000,
            "the room is used: {}",
            json_len(&kept)
        );
        assert_eq!(kept["code"], 0);
        assert_eq!(kept["pid"], 7);
        assert_eq!(kept[TRUNCATED_FIELD], true);
        assert_eq!(kept[ORIGINAL_BYTES_FIELD], json_len(&big) as u64);
        // Cutting again keeps the first original size.
        let again = result(&kept, 1024);
        assert_eq!(again[ORIGINAL_BYTES_FIELD], json_len(&big) as u64);
    }

    #[test]
    fn a_result_that_cannot_fit_keeps_only_the_marker() {
        let wide = payload(json!({"n": (0..1000).collect::<Vec<u32>>()}));
        let kept = result(&wide, 100);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[TRUNCATED_FIELD], true);
    }

    #[test]
    fn a_done_message_cuts_its_large_results_to_fit_and_keeps_the_small_ones() {
        let mut message = Done {
            run_id: "r".into(),
            results: [
                (
                    "a".to_owned(),
                    payload(json!({"stdout": "x".repeat(50_000)})),
                ),
                (
                    "b".to_owned(),
                    payload(json!({"stdout": "x".repeat(10_000)})),
                ),
                ("c".to_owned(), payload(json!({"code": 0}))),
            ]
            .into(),
        };
        done(&mut message, 30_000);
        assert!(json_len(&message) <= 30_000);
        assert_eq!(message.results["a"][TRUNCATED_FIELD], true);
        assert_eq!(message.results["c"], payload(json!({"code": 0})));
        assert_eq!(
            message.results["b"]["stdout"].as_str().unwrap().len(),
            10_000
        );
    }

    #[test]
    fn a_list_drops_its_oldest_entries_to_fit() {
        let task = |i: usize| aether_shared::task::TaskSummary {
            task_id: format!("t-{i}"),
            name: "n".repeat(100),
            nodes: 1,
            defined: "now".into(),
        };
        let mut tasks = TaskList {
            tasks: (0..100).map(task).collect(),
            ..TaskList::default()
        };
        list(&mut tasks, 2_000);
        assert!(json_len(&tasks) <= 2_000, "{}", json_len(&tasks));
        assert!(tasks.truncated);
        assert_eq!(tasks.tasks[0].task_id, "t-0");
    }
}
