//! A gateway's record of what its clients run on other kernels: spawns sent to the runners and
//! not yet acknowledged, programs running there (by client and pid, with the runner that holds
//! each), and the requests runners sent to this kernel's tabs (a `vfs:read` of a module), so the
//! tab's answer goes back to the runner that asked. The record is what `vm.kill`, `vm.stdin` and
//! `vm.list` are routed by, and what ends a program whose runner is gone.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aether_shared::ai;
use aether_shared::envelope::REQUEST_ID_FIELD;
use aether_shared::vm::{self, ProgramInfo};
use aether_shared::{BusRequest, Envelope};

/// How long a runner's request to a tab is remembered for its answer (longer than any such
/// request's own timeout).
const ASK_TTL: Duration = Duration::from_secs(120);

/// A program of a client of this kernel, on another kernel.
struct Run {
    /// The runner that holds it; `None` until one took the spawn.
    kernel: Option<String>,
    /// The spawn request cut to what answering it needs (topic, requester, request id).
    answer: Envelope,
    label: String,
    since: Instant,
}

/// A request a runner sent to a tab of this kernel.
struct Ask {
    kernel: String,
    /// The client that must answer it.
    peer: String,
    since: Instant,
}

#[derive(Default)]
struct Inner {
    /// Spawns in flight, by client and request id.
    spawning: HashMap<(String, String), Run>,
    /// Programs running, by client and pid.
    running: HashMap<(String, u64), Run>,
    /// Runners' requests to this kernel's tabs, by request id.
    asks: HashMap<String, Ask>,
    /// The other kernels each client had serve a request (told when it leaves).
    served: HashMap<String, HashSet<String>>,
}

/// A program (or a spawn) that cannot end well: the answer to send its requester.
pub struct Lost {
    pub answer: Envelope,
    pub pid: Option<u64>,
}

/// See the module docs.
#[derive(Default)]
pub struct RemoteRuns {
    inner: Mutex<Inner>,
}

fn request_id(env: &Envelope) -> String {
    env.request_id().unwrap_or_default().to_owned()
}

impl RemoteRuns {
    /// A spawn of `client` is on its way to the runners; `answer` is the request, cut down.
    pub fn spawning(&self, client: &str, answer: Envelope, label: String) {
        let key = (client.to_owned(), request_id(&answer));
        let run = Run {
            kernel: None,
            answer,
            label,
            since: Instant::now(),
        };
        self.lock().spawning.insert(key, run);
    }

    /// Runner `kernel` took the spawn `answer` is for.
    pub fn taken(&self, client: &str, answer: &Envelope, kernel: &str) {
        let key = (client.to_owned(), request_id(answer));
        if let Some(run) = self.lock().spawning.get_mut(&key) {
            run.kernel.get_or_insert_with(|| kernel.to_owned());
        }
    }

    /// The spawn `answer` is for ended before it ran (refused, or no runner took it).
    pub fn abandon(&self, client: &str, answer: &Envelope) {
        let key = (client.to_owned(), request_id(answer));
        self.lock().spawning.remove(&key);
    }

    /// Notes what `env`, from runner `kernel` to `client`, says of a program: an
    /// acknowledgement starts one, an exit or an error ends one.
    pub fn observe(&self, kernel: &str, client: &str, env: &Envelope) {
        let topic = env.topic.as_str();
        let pid = || {
            let payload = env.payload.as_ref()?;
            payload
                .get("pid")
                .or_else(|| payload.get("details")?.get("pid"))?
                .as_u64()
        };
        let mut inner = self.lock();
        if topic == <vm::Spawn as BusRequest>::REPLY_TOPIC {
            let key = (client.to_owned(), request_id(env));
            if let (Some(mut run), Some(pid)) = (inner.spawning.remove(&key), pid()) {
                run.kernel = Some(kernel.to_owned());
                run.since = Instant::now();
                inner.running.insert((client.to_owned(), pid), run);
            }
        } else if topic == ai::DONE
            || topic == ai::ERROR
            || topic == <ai::Complete as BusRequest>::REPLY_TOPIC
        {
            inner.spawning.remove(&(client.to_owned(), request_id(env)));
        } else if topic == vm::EXIT || topic == vm::ERROR {
            if let Some(pid) = pid() {
                inner.running.remove(&(client.to_owned(), pid));
            }
            if topic == vm::ERROR {
                inner.spawning.remove(&(client.to_owned(), request_id(env)));
            }
        }
    }

    /// The kernel serving `client`'s request `request_id` (a prompt it streams the answer of).
    pub fn serving(&self, client: &str, request_id: &str) -> Option<String> {
        let key = (client.to_owned(), request_id.to_owned());
        self.lock().spawning.get(&key)?.kernel.clone()
    }

    /// The runner holding `client`'s program `pid`.
    pub fn runner_of(&self, client: &str, pid: u64) -> Option<String> {
        let inner = self.lock();
        inner.running.get(&(client.to_owned(), pid))?.kernel.clone()
    }

    /// `client`'s programs on other kernels, for `vm.list`.
    pub fn list(&self, client: &str) -> Vec<ProgramInfo> {
        self.lock()
            .running
            .iter()
            .filter(|((owner, _), _)| owner == client)
            .map(|((_, pid), run)| ProgramInfo {
                pid: *pid,
                module: run.label.clone(),
                running_ms: run.since.elapsed().as_millis() as u64,
            })
            .collect()
    }

    /// Programs and spawns held by a kernel `alive` says is gone, removed.
    pub fn lost(&self, alive: impl Fn(&str) -> bool) -> Vec<Lost> {
        let mut inner = self.lock();
        let gone = |run: &Run| run.kernel.as_deref().is_some_and(|k| !alive(k));
        let mut lost = Vec::new();
        inner.spawning.retain(|_, run| {
            let keep = !gone(run);
            if !keep {
                lost.push(Lost {
                    answer: run.answer.clone(),
                    pid: None,
                });
            }
            keep
        });
        inner.running.retain(|(_, pid), run| {
            let keep = !gone(run);
            if !keep {
                lost.push(Lost {
                    answer: run.answer.clone(),
                    pid: Some(*pid),
                });
            }
            keep
        });
        inner.asks.retain(|_, ask| ask.since.elapsed() < ASK_TTL);
        lost
    }

    /// Kernel `kernel` serves a request of `client` (told when the client leaves).
    pub fn serves(&self, client: &str, kernel: &str) {
        let mut inner = self.lock();
        let kernels = inner.served.entry(client.to_owned()).or_default();
        if !kernels.contains(kernel) {
            kernels.insert(kernel.to_owned());
        }
    }

    /// Forgets what `client` ran elsewhere; returns the kernels that ran it, to be told.
    pub fn client_gone(&self, client: &str) -> HashSet<String> {
        let mut inner = self.lock();
        let mut kernels = inner.served.remove(client).unwrap_or_default();
        let mut take = |owner: &String, run: &Run| {
            if owner != client {
                return true;
            }
            kernels.extend(run.kernel.clone());
            false
        };
        inner.spawning.retain(|(owner, _), run| take(owner, run));
        inner.running.retain(|(owner, _), run| take(owner, run));
        kernels
    }

    /// Programs of this kernel's clients running elsewhere.
    pub fn count(&self) -> usize {
        self.lock().running.len()
    }

    /// Runner `kernel` asked client `peer` the request `request_id`.
    pub fn asked(&self, request_id: &str, kernel: &str, peer: &str) {
        self.lock().asks.insert(
            request_id.to_owned(),
            Ask {
                kernel: kernel.to_owned(),
                peer: peer.to_owned(),
                since: Instant::now(),
            },
        );
    }

    /// The runner that asked the request `env` answers, when `from` is the client it asked
    /// (`Err(())` when another client answers it: refused, and the ask stays).
    pub fn answered(&self, env: &Envelope, from: &str) -> Option<Result<String, ()>> {
        let id = env.payload.as_ref()?.get(REQUEST_ID_FIELD)?.as_str()?;
        let mut inner = self.lock();
        let ask = inner.asks.get(id)?;
        if ask.peer != from {
            return Some(Err(()));
        }
        inner.asks.remove(id).map(|ask| Ok(ask.kernel))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("remote runs lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::Topic;
    use serde_json::json;

    fn env(topic: &'static str, payload: serde_json::Value) -> Envelope {
        Envelope::new(Topic::from_static(topic)).with_payload(&payload)
    }

    #[test]
    fn a_spawn_becomes_a_run_on_its_ack_and_ends_on_its_exit() {
        let runs = RemoteRuns::default();
        let spawn = env("vm.spawn", json!({"_request_id": "r-1"}));
        runs.spawning("c-1", spawn.clone(), "/hello.wasm".into());
        runs.taken("c-1", &spawn, "runner-1");
        let ack = env("vm.spawn:ack", json!({"_request_id": "r-1", "pid": 7}));
        runs.observe("runner-1", "c-1", &ack);
        assert_eq!(runs.runner_of("c-1", 7).as_deref(), Some("runner-1"));
        assert_eq!(
            runs.runner_of("c-2", 7),
            None,
            "another client's pid is not its"
        );
        assert_eq!(runs.list("c-1")[0].module, "/hello.wasm");
        runs.observe("runner-1", "c-1", &env("vm.exit", json!({"pid": 7})));
        assert_eq!(runs.count(), 0);
    }

    #[test]
    fn what_a_gone_runner_held_is_lost_once() {
        let runs = RemoteRuns::default();
        let spawn = env("vm.spawn", json!({"_request_id": "r-1"}));
        runs.spawning("c-1", spawn.clone(), "<wat>".into());
        runs.observe(
            "runner-1",
            "c-1",
            &env("vm.spawn:ack", json!({"_request_id": "r-1", "pid": 3})),
        );
        assert!(runs.lost(|_| true).is_empty());
        let lost = runs.lost(|k| k != "runner-1");
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].pid, Some(3));
        assert!(runs.lost(|_| false).is_empty(), "reported once");
    }

    #[test]
    fn only_the_asked_tab_answers_a_runners_request() {
        let runs = RemoteRuns::default();
        runs.asked("k-1", "runner-1", "c-tab");
        let answer = env("vfs:read:ack", json!({"_request_id": "k-1"}));
        assert_eq!(runs.answered(&answer, "c-other"), Some(Err(())));
        assert_eq!(runs.answered(&answer, "c-tab"), Some(Ok("runner-1".into())));
        assert_eq!(runs.answered(&answer, "c-tab"), None, "answered once");
    }
}
