//! Direct lines: a window of this tab (the Terminal) wired straight to the serial port of a
//! machine this same tab runs, with no bus crossing for keys or output.
//!
//! The kernel runs a `vm.spawn {backend: v86}` in the requester's own tab, and its
//! `vm.spawn:ack {pid}` reaches the requester before the `compute:spawn` that starts the machine
//! (both on the tab's one socket, ack first). A window that spawned a machine [claims](
//! super::V86Host::claim) its pid on the ack; when the `compute:spawn` for that pid then arrives,
//! the machine runs *direct*: its serial output goes to the window's callback instead of
//! `compute:output`, and the window's keys go to the worker instead of `vm.stdin`. Where a
//! machine's output goes is decided once, when it starts, so nothing is lost, doubled or
//! reordered between the two routes; a machine nobody claimed (another client's request, a
//! script's `vm.spawn`) keeps the kernel route. The kernel still hears of the machine's life: the
//! spawn, `vm.kill`, `vm.list` and the one `compute:exit`, which carries the bytes delivered
//! direct (`direct_output_bytes`) so the requester's `vm.exit` stats stay whole.
//!
//! This module never talks to the bus; the host does.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::V86Host;

/// What a window hears from its machine: serial output, decoded as UTF-8, in order.
pub type OutputSink = Rc<dyn Fn(&str)>;

/// One claimed pid.
struct Claim {
    /// The window's callback; `None` once its line was released (output is then dropped).
    sink: Option<OutputSink>,
    /// Keys typed before the machine started.
    early_keys: String,
    /// Bytes delivered (or dropped after release) on this line.
    output_bytes: u64,
    /// The machine started under this claim: it runs direct until it stops.
    started: bool,
}

/// The claims of this tab's windows, by pid.
#[derive(Default)]
pub(super) struct Claims(RefCell<HashMap<u64, Claim>>);

impl Claims {
    /// Claims `pid` for `sink`; false when the pid is already claimed.
    pub fn claim(&self, pid: u64, sink: OutputSink) -> bool {
        let mut claims = self.0.borrow_mut();
        if claims.contains_key(&pid) {
            return false;
        }
        claims.insert(
            pid,
            Claim {
                sink: Some(sink),
                early_keys: String::new(),
                output_bytes: 0,
                started: false,
            },
        );
        true
    }

    /// Machine `pid` is starting: true when it runs direct, with the keys typed so far.
    pub fn start(&self, pid: u64) -> Option<String> {
        let mut claims = self.0.borrow_mut();
        let claim = claims.get_mut(&pid)?;
        claim.started = true;
        Some(std::mem::take(&mut claim.early_keys))
    }

    /// Keeps `keys` for a claimed machine that has not started; false when `pid` is not waiting.
    pub fn keep_early(&self, pid: u64, keys: &str) -> bool {
        match self.0.borrow_mut().get_mut(&pid) {
            Some(claim) if !claim.started => {
                claim.early_keys.push_str(keys);
                true
            }
            _ => false,
        }
    }

    /// Delivers output of machine `pid` if it runs direct; false when it takes the kernel route.
    pub fn deliver(&self, pid: u64, data: &str) -> bool {
        let sink = {
            let mut claims = self.0.borrow_mut();
            let Some(claim) = claims.get_mut(&pid).filter(|c| c.started) else {
                return false;
            };
            claim.output_bytes += data.len() as u64;
            claim.sink.clone()
        };
        // Called outside the borrow: the window may type or release its line from here.
        if let Some(sink) = sink {
            sink(data);
        }
        true
    }

    /// Machine `pid` stopped: forgets its claim; the bytes it delivered direct.
    pub fn stopped(&self, pid: u64) -> u64 {
        let mut claims = self.0.borrow_mut();
        match claims.get(&pid) {
            Some(claim) if claim.started => claims.remove(&pid).map_or(0, |c| c.output_bytes),
            _ => 0,
        }
    }

    /// The window let go of `pid`: its output is dropped from now on (the machine, powered off by
    /// the window, keeps running direct until it stops); a claim whose machine never started is
    /// forgotten.
    fn release(&self, pid: u64) {
        let mut claims = self.0.borrow_mut();
        let Some(claim) = claims.get_mut(&pid) else {
            return;
        };
        if claim.started {
            claim.sink = None;
        } else {
            claims.remove(&pid);
        }
    }
}

/// A window's end of a direct line to machine `pid`. Dropping it releases the claim.
pub struct DirectLine {
    host: V86Host,
    pid: u64,
}

impl DirectLine {
    pub(super) fn new(host: V86Host, pid: u64) -> DirectLine {
        DirectLine { host, pid }
    }

    /// The machine's pid.
    pub fn pid(&self) -> u64 {
        self.pid
    }

    /// Types `keys` on the machine's serial port (kept until it runs when it is starting).
    pub fn send(&self, keys: &str) {
        self.host.type_direct(self.pid, keys);
    }

    /// Tells the guest its terminal is `rows` × `cols` (now, or as soon as it runs).
    pub fn resize(&self, rows: u32, cols: u32) {
        self.host.resize(self.pid, rows, cols);
    }
}

impl Drop for DirectLine {
    fn drop(&mut self) {
        self.host.claims().release(self.pid);
        self.host.forget_size(self.pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn recorder() -> (Rc<RefCell<String>>, OutputSink) {
        let seen = Rc::new(RefCell::new(String::new()));
        let into = Rc::clone(&seen);
        (seen, Rc::new(move |d: &str| into.borrow_mut().push_str(d)))
    }

    #[test]
    fn a_claimed_machine_runs_direct_from_its_start_with_the_keys_typed_before() {
        let claims = Claims::default();
        let (seen, sink) = recorder();
        assert!(claims.claim(7, sink));
        assert!(claims.keep_early(7, "ls"));
        assert!(claims.keep_early(7, "\n"));
        assert!(
            !claims.deliver(7, "not started"),
            "no output before the start"
        );
        assert_eq!(claims.start(7).as_deref(), Some("ls\n"));
        assert!(
            !claims.keep_early(7, "x"),
            "a running machine takes its keys itself"
        );
        assert!(claims.deliver(7, "héllo"));
        assert!(claims.deliver(7, "!"));
        assert_eq!(*seen.borrow(), "héllo!");
        assert_eq!(claims.stopped(7), 7);
        assert!(
            !claims.deliver(7, "late"),
            "a stopped machine's claim is gone"
        );
    }

    #[test]
    fn an_unclaimed_machine_keeps_the_kernel_route() {
        let claims = Claims::default();
        assert_eq!(claims.start(3), None);
        assert!(!claims.deliver(3, "x"));
        assert!(!claims.keep_early(3, "x"));
        assert_eq!(claims.stopped(3), 0);
    }

    #[test]
    fn a_released_line_drops_output_but_the_machine_stays_direct_until_it_stops() {
        let claims = Claims::default();
        let (seen, sink) = recorder();
        assert!(claims.claim(5, sink));
        claims.start(5);
        claims.deliver(5, "ab");
        claims.release(5);
        assert!(
            claims.deliver(5, "cd"),
            "never switches to the kernel route mid-stream"
        );
        assert_eq!(*seen.borrow(), "ab");
        assert_eq!(claims.stopped(5), 4);

        let (_, sink) = recorder();
        assert!(claims.claim(6, sink));
        claims.release(6);
        assert_eq!(
            claims.start(6),
            None,
            "a released claim that never started is gone"
        );
    }

    #[test]
    fn a_pid_is_claimed_once() {
        let claims = Claims::default();
        assert!(claims.claim(1, recorder().1));
        assert!(!claims.claim(1, recorder().1));
    }
}
