//! Topics as NATS subjects. A bus event on topic `t` travels on the subject
//! [`EVENTS`]`.` + the escape of `t`; every kernel of a cluster subscribes to [`EVENTS_ALL`] and
//! applies the contract's own pattern matcher locally, because the contract's patterns are
//! prefixes (`vfs:*` matches `vfs:write:ack`) where NATS wildcards match whole tokens.
//!
//! The escape keeps a topic's `.` as the subject's token separator (so a subject reads like its
//! topic in `nats sub` output) and writes every other byte outside `[A-Za-z0-9-]` as `_` and two
//! upper-case hex digits: `vfs:write` → `vfs_3Awrite`, `a_b` → `a_5Fb`. `:`, `*`, `>` and white
//! space never reach NATS, an empty token (`a..b`) becomes `_` (which no escape produces
//! alone), and [`topic_of`] undoes it exactly.

/// The queue group every runner serves spawns on (one runner of the group takes each).
pub const RUNNERS: &str = "aether.svc.vm";
/// The queue group's name.
pub const RUNNERS_GROUP: &str = "runners";
/// The queue group every kernel with an AI provider serves `ai.chat` and `ai.complete` on.
pub const AI: &str = "aether.svc.ai";
/// That queue group's name.
pub const AI_GROUP: &str = "ai";
/// What each kernel listens to for the others' heartbeats.
pub const HEARTBEATS: &str = "aether.hb.*";

/// The subject a kernel hears its own letters on (kernel ids are letters, digits, `-`, `_`).
pub fn kernel_subject(kernel_id: &str) -> String {
    format!("aether.k.{kernel_id}")
}

/// The subject a kernel says it is up on.
pub fn heartbeat_subject(kernel_id: &str) -> String {
    format!("aether.hb.{kernel_id}")
}

/// The kernel a heartbeat subject names.
pub fn heartbeat_of(subject: &str) -> Option<&str> {
    subject.strip_prefix("aether.hb.")
}

/// The subject prefix of cross-kernel events.
pub const EVENTS: &str = "aether.ev";
/// What each kernel subscribes to: every cross-kernel event.
pub const EVENTS_ALL: &str = "aether.ev.>";

/// The subject an event on `topic` travels on.
pub fn event_subject(topic: &str) -> String {
    let mut subject = String::with_capacity(EVENTS.len() + 1 + topic.len() + 8);
    subject.push_str(EVENTS);
    for token in topic.split('.') {
        subject.push('.');
        if token.is_empty() {
            subject.push('_');
            continue;
        }
        escape_into(&mut subject, token);
    }
    subject
}

/// Writes `text` with `[A-Za-z0-9-]` kept and every other byte as `_` and two upper-case hex
/// digits: safe in a NATS subject token and in a key-value key.
pub fn escape_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("_{byte:02X}"));
        }
    }
}

/// Undoes [`escape_into`], appending the bytes to `out`; `None` for text no escape produces.
pub fn unescape_into(out: &mut Vec<u8>, escaped: &str) -> Option<()> {
    let bytes = escaped.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'_' {
            let hex = std::str::from_utf8(bytes.get(at + 1..at + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    Some(())
}

/// The topic of an event subject, or `None` for a subject no kernel would publish.
pub fn topic_of(subject: &str) -> Option<String> {
    let rest = subject.strip_prefix(EVENTS)?.strip_prefix('.')?;
    let mut topic = Vec::with_capacity(rest.len());
    for (i, token) in rest.split('.').enumerate() {
        if i > 0 {
            topic.push(b'.');
        }
        if token == "_" {
            continue;
        }
        unescape_into(&mut topic, token)?;
    }
    String::from_utf8(topic).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_becomes_a_safe_subject_and_comes_back_exactly() {
        for (topic, subject) in [
            ("task.event", "aether.ev.task.event"),
            ("vfs:write", "aether.ev.vfs_3Awrite"),
            ("vfs:write:ack", "aether.ev.vfs_3Awrite_3Aack"),
            ("a_b.c-d", "aether.ev.a_5Fb.c-d"),
            ("a..b", "aether.ev.a._.b"),
            ("x*>y z", "aether.ev.x_2A_3Ey_20z"),
            ("é", "aether.ev._C3_A9"),
        ] {
            assert_eq!(event_subject(topic), subject, "{topic}");
            assert_eq!(topic_of(subject).as_deref(), Some(topic), "{subject}");
        }
    }

    #[test]
    fn no_subject_carries_a_nats_wildcard_or_separator_from_the_topic() {
        let subject = event_subject("*.>:a b\t.");
        let tokens: Vec<&str> = subject.split('.').collect();
        assert!(tokens.iter().all(|t| !t.is_empty()));
        assert!(!subject.contains(['*', '>', ' ', '\t', ':']));
    }

    #[test]
    fn subjects_no_kernel_publishes_read_as_none() {
        for subject in [
            "aether.ev",
            "other.task",
            "aether.ev.x_4",
            "aether.ev.x_ZZ",
            "aether.ev._FF",
        ] {
            assert_eq!(topic_of(subject), None, "{subject}");
        }
    }
}
