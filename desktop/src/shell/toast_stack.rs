//! [`ToastStack`]: the notifications on screen, as plain data.
//!
//! A toast shows one error (topic, code, sentence), or a notice of the shell's (topic, a short
//! title in the code's place, sentence) that asks the person to look somewhere. The same one
//! arriving again while its toast is still up (a burst) is not stacked twice: the toast's count goes up and its life starts
//! over. A toast lives [`TOAST_LIFETIME_MS`] after its last occurrence unless dismissed, and at
//! most [`MAX_TOASTS`] are kept (the oldest go first). Pure and clock-free: callers pass the time.

/// How long a toast stays after the last occurrence of its error, in milliseconds.
pub const TOAST_LIFETIME_MS: f64 = 6_000.0;

/// The most toasts on screen at once.
pub const MAX_TOASTS: usize = 5;

/// What a toast tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToastKind {
    /// An error that reached the page.
    Error,
    /// Something that wants the person's attention, not an error.
    Notice,
}

impl ToastKind {
    /// The word for the DOM (`data-kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            ToastKind::Error => "error",
            ToastKind::Notice => "notice",
        }
    }
}

/// One toast.
#[derive(Clone, Debug, PartialEq)]
pub struct Toast {
    pub id: u32,
    pub kind: ToastKind,
    /// The topic it came on (`vm.error`; `mcp.ask` for a notice about a waiting call).
    pub topic: String,
    /// The SPEC error code (`unknown_topic`); for a notice, its short title.
    pub code: String,
    /// The error's sentence.
    pub error: String,
    /// How many times this error arrived while the toast was up.
    pub count: u32,
    /// When it goes away, in the caller's clock (milliseconds).
    pub expires_at_ms: f64,
}

/// The toasts on screen, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToastStack {
    last_id: u32,
    toasts: Vec<Toast>,
}

impl ToastStack {
    /// Shows an error at `now_ms`: a new toast, or one more occurrence of an identical one that
    /// is still up. Returns the toast's id.
    pub fn push(&mut self, topic: &str, code: &str, error: &str, now_ms: f64) -> u32 {
        self.add(ToastKind::Error, topic, code, error, now_ms)
    }

    /// Shows a notice at `now_ms`, as [`ToastStack::push`] shows an error: `title` takes the
    /// code's place. Returns the toast's id.
    pub fn notify(&mut self, topic: &str, title: &str, sentence: &str, now_ms: f64) -> u32 {
        self.add(ToastKind::Notice, topic, title, sentence, now_ms)
    }

    fn add(&mut self, kind: ToastKind, topic: &str, code: &str, error: &str, now_ms: f64) -> u32 {
        let expires_at_ms = now_ms + TOAST_LIFETIME_MS;
        if let Some(toast) = self
            .toasts
            .iter_mut()
            .find(|t| t.kind == kind && t.topic == topic && t.code == code && t.error == error)
        {
            toast.count = toast.count.saturating_add(1);
            toast.expires_at_ms = expires_at_ms;
            return toast.id;
        }
        self.last_id += 1;
        self.toasts.push(Toast {
            id: self.last_id,
            kind,
            topic: topic.to_owned(),
            code: code.to_owned(),
            error: error.to_owned(),
            count: 1,
            expires_at_ms,
        });
        if self.toasts.len() > MAX_TOASTS {
            self.toasts.remove(0);
        }
        self.last_id
    }

    /// Removes toast `id`; false when it is already gone.
    pub fn dismiss(&mut self, id: u32) -> bool {
        let before = self.toasts.len();
        self.toasts.retain(|t| t.id != id);
        self.toasts.len() != before
    }

    /// Removes the toasts whose time is up at `now_ms`; returns how many went.
    pub fn expire(&mut self, now_ms: f64) -> usize {
        let before = self.toasts.len();
        self.toasts.retain(|t| t.expires_at_ms > now_ms);
        before - self.toasts.len()
    }

    /// The toasts, oldest first.
    pub fn toasts(&self) -> &[Toast] {
        &self.toasts
    }

    /// Toast `id`, if still up.
    pub fn get(&self, id: u32) -> Option<&Toast> {
        self.toasts.iter().find(|t| t.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_errors_in_a_burst_share_one_toast_with_a_count() {
        let mut stack = ToastStack::default();
        let a = stack.push("vm.error", "unknown_topic", "No handler.", 0.0);
        let b = stack.push("vm.error", "unknown_topic", "No handler.", 100.0);
        let c = stack.push("vm.error", "unknown_topic", "No handler.", 200.0);
        assert_eq!((a, b), (a, c));
        assert_eq!(stack.toasts().len(), 1);
        assert_eq!(stack.get(a).unwrap().count, 3);
        assert_eq!(
            stack.get(a).unwrap().expires_at_ms,
            200.0 + TOAST_LIFETIME_MS
        );

        // A different code, topic or sentence is another toast.
        stack.push("vm.error", "timeout", "No handler.", 300.0);
        stack.push("vfs:error", "unknown_topic", "No handler.", 300.0);
        stack.push("vm.error", "unknown_topic", "Other.", 300.0);
        assert_eq!(stack.toasts().len(), 4);
    }

    #[test]
    fn toasts_expire_after_their_last_occurrence_and_can_be_dismissed() {
        let mut stack = ToastStack::default();
        let a = stack.push("ai.error", "not_configured", "Set a model.", 0.0);
        let b = stack.push("task.error", "timeout", "Retry.", 1_000.0);
        assert_eq!(stack.expire(TOAST_LIFETIME_MS - 1.0), 0);
        assert_eq!(stack.expire(TOAST_LIFETIME_MS), 1);
        assert!(stack.get(a).is_none() && stack.get(b).is_some());
        assert!(stack.dismiss(b));
        assert!(!stack.dismiss(b));
        assert!(stack.toasts().is_empty());

        // After its toast went away, the same error starts a fresh one.
        let again = stack.push("ai.error", "not_configured", "Set a model.", 10_000.0);
        assert_ne!(again, a);
        assert_eq!(stack.get(again).unwrap().count, 1);
    }

    #[test]
    fn a_notice_is_a_toast_of_its_own_kind_that_repeats_and_expires_alike() {
        let mut stack = ToastStack::default();
        let a = stack.notify("mcp.ask", "approval", "Look at the Agent.", 0.0);
        let b = stack.notify("mcp.ask", "approval", "Look at the Agent.", 10.0);
        assert_eq!(a, b);
        assert_eq!(stack.get(a).unwrap().kind, ToastKind::Notice);
        assert_eq!(stack.get(a).unwrap().count, 2);
        let error = stack.push("mcp.ask", "approval", "Look at the Agent.", 10.0);
        assert_ne!(error, a, "an error is never folded into a notice");
        assert_eq!(stack.get(error).unwrap().kind, ToastKind::Error);
        assert_eq!(stack.expire(10.0 + TOAST_LIFETIME_MS), 2);
    }

    #[test]
    fn only_the_newest_toasts_are_kept() {
        let mut stack = ToastStack::default();
        for i in 0..(MAX_TOASTS + 3) {
            stack.push("kernel.error", "internal", &format!("error {i}"), 0.0);
        }
        assert_eq!(stack.toasts().len(), MAX_TOASTS);
        assert_eq!(stack.toasts()[0].error, "error 3");
        assert_eq!(
            stack.toasts().last().unwrap().error,
            format!("error {}", MAX_TOASTS + 2)
        );
    }
}
