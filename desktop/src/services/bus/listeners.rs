//! Local listeners and the kernel-side subscription set.
//!
//! [`Listeners`] holds the callbacks of this page, each with a [`Pattern`]; an incoming envelope
//! goes to every listener whose pattern matches its topic. [`KernelPatterns`] counts how many
//! listeners asked the kernel for each pattern, so `bus.subscribe` is sent for the first and
//! `bus.unsubscribe` for the last, and the whole set can be re-sent after a reconnect.
//!
//! A listener may hear only some of the envelopes its pattern matches ([`Hears`]): the toasts
//! skip the errors of silent requests, a stream tap skips the replies and errors of plain
//! requests. What an envelope is to this page ([`Delivery`]) is decided by the client, which
//! knows its requests; the choice of listeners is made here.
//!
//! Pure bookkeeping, generic over the callback type: this module never calls a callback and
//! never talks to the kernel.

use std::collections::BTreeMap;

use aether_shared::{Namespace, Pattern, Topic};

/// The pattern of every topic of namespace `ns` (`vm.*`, `vfs:*`), built from the contract's
/// namespace rather than spelled out.
pub fn namespace_pattern(ns: Namespace) -> Pattern {
    Pattern::Prefix(format!("{ns}{}", ns.separator()))
}

/// Identifies one listener; returned by `on`/`listen`, given back to `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionHandle(pub u32);

/// Which of the envelopes matching its pattern a listener hears.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Hears {
    /// Every one.
    #[default]
    Everything,
    /// Error topics only, except the errors of requests sent with the `silent` option.
    LoudErrors,
    /// Everything but the replies and errors that answered a plain (non-stream) request of this
    /// page: the events of streams, whoever opened them.
    StreamEvents,
}

/// What an incoming envelope is to this page, as far as the listeners care.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// It answers a request sent with the `silent` option.
    pub silent: bool,
    /// It settled a plain request waiting for its reply.
    pub settled_request: bool,
}

#[derive(Debug)]
struct Listener<F> {
    handle: SubscriptionHandle,
    pattern: Pattern,
    hears: Hears,
    callback: F,
    /// True when this listener holds a kernel subscription for its pattern.
    kernel: bool,
}

/// The callbacks registered on this page.
#[derive(Debug)]
pub struct Listeners<F> {
    issued: u32,
    entries: Vec<Listener<F>>,
}

impl<F> Default for Listeners<F> {
    fn default() -> Self {
        Listeners {
            issued: 0,
            entries: Vec::new(),
        }
    }
}

impl<F: Clone> Listeners<F> {
    /// Adds a listener; `kernel` records whether it holds a kernel subscription.
    pub fn add(&mut self, pattern: Pattern, callback: F, kernel: bool) -> SubscriptionHandle {
        self.add_filtered(pattern, Hears::Everything, callback, kernel)
    }

    /// Adds a listener that hears only what `hears` lets through.
    pub fn add_filtered(
        &mut self,
        pattern: Pattern,
        hears: Hears,
        callback: F,
        kernel: bool,
    ) -> SubscriptionHandle {
        self.issued += 1;
        let handle = SubscriptionHandle(self.issued);
        self.entries.push(Listener {
            handle,
            pattern,
            hears,
            callback,
            kernel,
        });
        handle
    }

    /// Removes a listener: its pattern and whether it held a kernel subscription, or `None`
    /// for an unknown (or already removed) handle.
    pub fn remove(&mut self, handle: SubscriptionHandle) -> Option<(Pattern, bool)> {
        let index = self.entries.iter().position(|l| l.handle == handle)?;
        let listener = self.entries.remove(index);
        Some((listener.pattern, listener.kernel))
    }

    /// The callbacks whose pattern matches `topic` and that hear an envelope delivered as
    /// `delivery`, in registration order.
    pub fn matching(&self, topic: &Topic, delivery: Delivery) -> Vec<F> {
        self.entries
            .iter()
            .filter(|l| l.pattern.matches(topic) && l.hears.hears(topic, delivery))
            .map(|l| l.callback.clone())
            .collect()
    }
}

impl Hears {
    fn hears(self, topic: &Topic, delivery: Delivery) -> bool {
        match self {
            Hears::Everything => true,
            Hears::LoudErrors => topic.is_error() && !delivery.silent,
            Hears::StreamEvents => !delivery.settled_request,
        }
    }
}

/// Reference counts of the patterns this page asked the kernel for.
#[derive(Debug, Default)]
pub struct KernelPatterns {
    counts: BTreeMap<String, (Pattern, u32)>,
}

impl KernelPatterns {
    /// Counts one more holder; true when the kernel must now be asked (first holder).
    pub fn acquire(&mut self, pattern: &Pattern) -> bool {
        let entry = self
            .counts
            .entry(pattern.to_string())
            .or_insert_with(|| (pattern.clone(), 0));
        entry.1 += 1;
        entry.1 == 1
    }

    /// Counts one holder less; true when the kernel must now be told (last holder gone).
    pub fn release(&mut self, pattern: &Pattern) -> bool {
        let key = pattern.to_string();
        let Some(entry) = self.counts.get_mut(&key) else {
            return false;
        };
        entry.1 -= 1;
        if entry.1 == 0 {
            self.counts.remove(&key);
            return true;
        }
        false
    }

    /// Every pattern held, for re-subscribing after a reconnect.
    pub fn all(&self) -> Vec<Pattern> {
        self.counts.values().map(|(p, _)| p.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::parse(s).unwrap()
    }

    fn t(s: &str) -> Topic {
        Topic::parse(s).unwrap()
    }

    #[test]
    fn envelopes_reach_every_listener_whose_pattern_matches() {
        let mut listeners = Listeners::default();
        listeners.add(p("vm.*"), "vm", false);
        listeners.add(p("vm.exit"), "exit", false);
        listeners.add(p("*"), "all", false);
        listeners.add(p("vfs:*"), "vfs", false);
        let plain = Delivery::default();
        assert_eq!(
            listeners.matching(&t("vm.exit"), plain),
            ["vm", "exit", "all"]
        );
        assert_eq!(
            listeners.matching(&t("vfs:write:ack"), plain),
            ["all", "vfs"]
        );
        assert_eq!(listeners.matching(&t("kernel.hello"), plain), ["all"]);
    }

    #[test]
    fn a_removed_listener_hears_nothing_and_cannot_be_removed_twice() {
        let mut listeners = Listeners::default();
        let a = listeners.add(p("vm.*"), "a", true);
        let b = listeners.add(p("vm.*"), "b", false);
        assert_ne!(a, b);
        assert_eq!(listeners.remove(a), Some((p("vm.*"), true)));
        assert_eq!(listeners.remove(a), None);
        assert_eq!(
            listeners.matching(&t("vm.stdout"), Delivery::default()),
            ["b"]
        );
    }

    #[test]
    fn loud_error_listeners_skip_silent_requests_and_taps_skip_settled_replies() {
        let mut listeners = Listeners::default();
        listeners.add_filtered(p("*"), Hears::LoudErrors, "toasts", false);
        listeners.add_filtered(p("vm.*"), Hears::StreamEvents, "tap", false);
        listeners.add(p("*"), "all", false);
        let plain = Delivery::default();
        let silent = Delivery {
            silent: true,
            ..plain
        };
        let settled = Delivery {
            settled_request: true,
            ..plain
        };
        assert_eq!(
            listeners.matching(&t("vm.error"), plain),
            ["toasts", "tap", "all"]
        );
        assert_eq!(listeners.matching(&t("vm.error"), silent), ["tap", "all"]);
        assert_eq!(
            listeners.matching(&t("vm.error"), settled),
            ["toasts", "all"]
        );
        assert_eq!(listeners.matching(&t("vm.stdout"), plain), ["tap", "all"]);
        assert_eq!(listeners.matching(&t("ai.error"), silent), ["all"]);
    }

    #[test]
    fn a_namespace_pattern_is_the_namespace_and_its_separator() {
        assert_eq!(namespace_pattern(Namespace::Vm), p("vm.*"));
        assert_eq!(namespace_pattern(Namespace::Vfs), p("vfs:*"));
        assert!(namespace_pattern(Namespace::Compute).matches(&t("compute:spawn")));
    }

    #[test]
    fn the_kernel_is_asked_on_the_first_holder_and_told_on_the_last() {
        let mut kernel = KernelPatterns::default();
        assert!(kernel.acquire(&p("vm.*")));
        assert!(!kernel.acquire(&p("vm.*")));
        assert!(kernel.acquire(&p("task.done")));
        assert_eq!(kernel.all(), [p("task.done"), p("vm.*")]);
        assert!(!kernel.release(&p("vm.*")));
        assert!(kernel.release(&p("vm.*")));
        assert!(
            !kernel.release(&p("vm.*")),
            "releasing an unheld pattern is a no-op"
        );
        assert_eq!(kernel.all(), [p("task.done")]);
    }
}
