//! Local listeners and the kernel-side subscription set.
//!
//! [`Listeners`] holds the callbacks of this page, each with a [`Pattern`]; an incoming envelope
//! goes to every listener whose pattern matches its topic. [`KernelPatterns`] counts how many
//! listeners asked the kernel for each pattern, so `bus.subscribe` is sent for the first and
//! `bus.unsubscribe` for the last, and the whole set can be re-sent after a reconnect.
//!
//! Pure bookkeeping, generic over the callback type: this module never calls a callback and
//! never talks to the kernel.

use std::collections::BTreeMap;

use aether_shared::{Pattern, Topic};

/// Identifies one listener; returned by `on`/`listen`, given back to `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionHandle(pub u32);

#[derive(Debug)]
struct Listener<F> {
    handle: SubscriptionHandle,
    pattern: Pattern,
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
        self.issued += 1;
        let handle = SubscriptionHandle(self.issued);
        self.entries.push(Listener {
            handle,
            pattern,
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

    /// The callbacks whose pattern matches `topic`, in registration order.
    pub fn matching(&self, topic: &Topic) -> Vec<F> {
        self.entries
            .iter()
            .filter(|l| l.pattern.matches(topic))
            .map(|l| l.callback.clone())
            .collect()
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
        assert_eq!(listeners.matching(&t("vm.exit")), ["vm", "exit", "all"]);
        assert_eq!(listeners.matching(&t("vfs:write:ack")), ["all", "vfs"]);
        assert_eq!(listeners.matching(&t("kernel.hello")), ["all"]);
    }

    #[test]
    fn a_removed_listener_hears_nothing_and_cannot_be_removed_twice() {
        let mut listeners = Listeners::default();
        let a = listeners.add(p("vm.*"), "a", true);
        let b = listeners.add(p("vm.*"), "b", false);
        assert_ne!(a, b);
        assert_eq!(listeners.remove(a), Some((p("vm.*"), true)));
        assert_eq!(listeners.remove(a), None);
        assert_eq!(listeners.matching(&t("vm.stdout")), ["b"]);
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
