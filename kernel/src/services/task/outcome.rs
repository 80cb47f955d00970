//! What an envelope delivered to a run's agent means for the run, found by request id, never by
//! pid (SPEC §1: every reply, stream message and error carries its request's `_request_id`).
//!
//! Node requests carry `_request_id` `node-<index>`, and so does everything the kernel sends
//! about them: a program's output and its `vm.exit`, an answer's `ai.chunk`s and `ai.done`. A
//! program node's stream is read with the contract's own decoder (`<Spawn as BusStream>`), a chat
//! node's with `<Chat as BusStream>`; any other node ends with its reply or its error. The
//! `vm.kill`s and `ai.cancel`s the engine sends carry `kill-<index>`: their answers, like
//! anything else, are [`Outcome::Ignored`].

use aether_shared::ai::{Chat, ChatEvent};
use aether_shared::envelope::REQUEST_ID_FIELD;
use aether_shared::vm::{self, Spawn, SpawnEvent};
use aether_shared::{BusStream, Envelope, ErrorPayload, Payload, Topic};

use super::error::TaskError;

/// The prefix of a node request's `_request_id`.
const NODE_PREFIX: &str = "node-";

/// The `_request_id` of node `index`'s request.
pub fn node_request_id(index: usize) -> String {
    format!("{NODE_PREFIX}{index}")
}

/// The `_request_id` of the `vm.kill` or `ai.cancel` sent for node `index`.
pub fn kill_request_id(index: usize) -> String {
    format!("kill-{index}")
}

/// How a node's request is answered, from its topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// Any request: it ends with its reply or its error.
    Request,
    /// `vm.spawn` / `wasm.run`: a pid, output, then `vm.exit` or `vm.error`.
    Program,
    /// `ai.chat`: an acknowledgement, chunks, then `ai.done` or `ai.error`.
    Chat,
}

impl NodeKind {
    pub fn of(topic: &Topic) -> NodeKind {
        match topic.as_str() {
            vm::SPAWN | vm::WASM_RUN => NodeKind::Program,
            <Chat as aether_shared::BusRequest>::TOPIC => NodeKind::Chat,
            _ => NodeKind::Request,
        }
    }
}

/// One thing that happened to node `index`.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Answered on its reply topic (the `_request_id` removed).
    Replied { index: usize, payload: Payload },
    /// Answered on its error topic.
    Failed { index: usize, error: ErrorPayload },
    /// A step of a program node's stream.
    Program { index: usize, event: SpawnEvent },
    /// A step of a chat node's stream.
    Chat { index: usize, event: ChatEvent },
    /// Not about a node (answers to the engine's `vm.kill`s, stray messages).
    Ignored,
}

fn node_index(env: &Envelope) -> Option<usize> {
    env.request_id()?.strip_prefix(NODE_PREFIX)?.parse().ok()
}

/// Reads an envelope delivered to a run's agent. `kind_of(index)` is node `index`'s kind, `None`
/// for an index the run does not have.
pub fn read(env: &Envelope, kind_of: impl Fn(usize) -> Option<NodeKind>) -> Outcome {
    let Some(index) = node_index(env) else {
        return Outcome::Ignored;
    };
    let Some(kind) = kind_of(index) else {
        return Outcome::Ignored;
    };
    let decoded = match kind {
        NodeKind::Program => {
            <Spawn as BusStream>::decode(env).map(|event| Outcome::Program { index, event })
        }
        NodeKind::Chat => {
            <Chat as BusStream>::decode(env).map(|event| Outcome::Chat { index, event })
        }
        NodeKind::Request if env.topic.request_of_reply().is_some() => {
            let mut payload = env.payload.clone().unwrap_or_default();
            payload.remove(REQUEST_ID_FIELD);
            Some(Outcome::Replied { index, payload })
        }
        NodeKind::Request => env
            .topic
            .is_error()
            .then(|| env.decode::<ErrorPayload>().ok())
            .flatten()
            .map(|error| Outcome::Failed { index, error }),
    };
    // An answer to the node that breaks the contract ends it rather than leaving it waiting.
    decoded.unwrap_or_else(|| {
        let broken = env.topic.is_error() || env.topic.request_of_reply().is_some();
        if broken {
            let why = match env.decode::<ErrorPayload>() {
                Err(e) => e.to_string(),
                Ok(_) => format!("`{}` does not read as its node's answer", env.topic),
            };
            Outcome::Failed {
                index,
                error: TaskError::BrokenAnswer(why).into(),
            }
        } else {
            Outcome::Ignored
        }
    })
}

#[cfg(test)]
mod tests {
    use aether_shared::ErrorCode;
    use aether_shared::vm::{Output, Spawned};

    use super::*;

    fn env(json: &str) -> Envelope {
        Envelope::from_json(json).unwrap()
    }

    fn kinds(index: usize) -> Option<NodeKind> {
        [
            NodeKind::Program,
            NodeKind::Request,
            NodeKind::Chat,
            NodeKind::Request,
        ]
        .get(index)
        .copied()
    }

    #[test]
    fn replies_errors_and_stream_steps_are_told_apart_by_request_id() {
        assert_eq!(
            read(
                &env(
                    r#"{"topic":"kernel.ping:resp","payload":{"_request_id":"node-3","pong":true}}"#
                ),
                kinds
            ),
            Outcome::Replied {
                index: 3,
                payload: serde_json::from_str(r#"{"pong":true}"#).unwrap()
            }
        );
        assert_eq!(
            read(
                &env(r#"{"topic":"vm.spawn:ack","payload":{"_request_id":"node-0","pid":7}}"#),
                kinds
            ),
            Outcome::Program {
                index: 0,
                event: SpawnEvent::Spawned(Spawned { pid: 7 })
            }
        );
        let Outcome::Program {
            index: 0,
            event: SpawnEvent::Failed(error),
        } = read(
            &env(
                r#"{"topic":"vm.error","payload":{"_request_id":"node-0","code":"timeout","error":"slow"}}"#,
            ),
            kinds,
        )
        else {
            panic!()
        };
        assert_eq!(error.code, ErrorCode::Timeout);
        let Outcome::Failed { index: 1, error } = read(
            &env(
                r#"{"topic":"kernel.error","payload":{"_request_id":"node-1","code":"rate_limited","error":"wait"}}"#,
            ),
            kinds,
        ) else {
            panic!()
        };
        assert_eq!(error.code, ErrorCode::RateLimited);
        assert_eq!(
            read(
                &env(r#"{"topic":"vm.kill:ack","payload":{"_request_id":"kill-0"}}"#),
                kinds
            ),
            Outcome::Ignored
        );
        assert!(matches!(
            read(
                &env(r#"{"topic":"ai.chunk","payload":{"_request_id":"node-2","seq":0,"delta":"Hi"}}"#),
                kinds
            ),
            Outcome::Chat { index: 2, event: ChatEvent::Chunk(c) } if c.delta == "Hi"
        ));
        assert!(matches!(
            read(
                &env(r#"{"topic":"ai.done","payload":{"_request_id":"node-2","usage":null}}"#),
                kinds
            ),
            Outcome::Chat {
                index: 2,
                event: ChatEvent::Done(_)
            }
        ));
    }

    #[test]
    fn a_programs_output_and_exit_are_found_by_request_id_never_by_pid() {
        let out = read(
            &env(
                r#"{"topic":"vm.stderr","payload":{"_request_id":"node-0","pid":7,"seq":0,"data":"x"}}"#,
            ),
            kinds,
        );
        assert_eq!(
            out,
            Outcome::Program {
                index: 0,
                event: SpawnEvent::Stderr(Output {
                    pid: 7,
                    seq: 0,
                    data: "x".into()
                })
            }
        );
        // The same pid without the node's request id is nobody's.
        assert_eq!(
            read(
                &env(r#"{"topic":"vm.stderr","payload":{"pid":7,"seq":0,"data":"x"}}"#),
                kinds
            ),
            Outcome::Ignored
        );
        let stats = r#""stats":{"fuel_used":0,"peak_memory_bytes":0,"output_bytes":0}"#;
        let exit = format!(
            r#"{{"topic":"vm.exit","payload":{{"_request_id":"node-0","pid":9,"code":0,"duration_ms":1,{stats}}}}}"#
        );
        assert!(matches!(
            read(&env(&exit), kinds),
            Outcome::Program { index: 0, event: SpawnEvent::Exited(e) } if e.pid == 9
        ));
        // An index the run does not have is ignored.
        assert_eq!(
            read(
                &env(r#"{"topic":"kernel.ping:resp","payload":{"_request_id":"node-9"}}"#),
                kinds
            ),
            Outcome::Ignored
        );
    }

    #[test]
    fn an_answer_that_breaks_the_contract_fails_its_node() {
        let Outcome::Failed { index: 0, error } = read(
            &env(r#"{"topic":"vm.spawn:ack","payload":{"_request_id":"node-0"}}"#),
            kinds,
        ) else {
            panic!()
        };
        assert_eq!(error.code, ErrorCode::Internal);
        let Outcome::Failed { index: 1, error } = read(
            &env(r#"{"topic":"kernel.error","payload":{"_request_id":"node-1","code":"nope"}}"#),
            kinds,
        ) else {
            panic!()
        };
        assert_eq!(error.code, ErrorCode::Internal);
        // A malformed chunk is not an answer: the node goes on.
        assert_eq!(
            read(
                &env(r#"{"topic":"ai.chunk","payload":{"_request_id":"node-2","delta":1}}"#),
                kinds
            ),
            Outcome::Ignored
        );
    }
}
