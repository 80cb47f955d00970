//! What an envelope delivered to a run's agent means for the run: a node's reply, its error, a
//! program's output or exit, or nothing.
//!
//! Node requests carry `_request_id` `node-<index>`, and so does everything the kernel sends
//! about them (a program's output, an answer's `ai.chunk`s); the `vm.kill`s and `ai.cancel`s the
//! engine sends carry `kill-<index>`. Everything else delivered to the agent is ignored.

use aether_shared::ai::Chunk;
use aether_shared::vm::{Exit, Output, Spawned};
use aether_shared::{Envelope, ErrorCode, ErrorPayload, Payload};

/// The `_request_id` of node `index`'s request.
pub fn node_request_id(index: usize) -> String {
    format!("node-{index}")
}

/// The `_request_id` of the `vm.kill` sent for node `index`.
pub fn kill_request_id(index: usize) -> String {
    format!("kill-{index}")
}

/// One thing that happened to the run.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Node `index` was answered on its reply topic (the `_request_id` removed).
    Reply { index: usize, payload: Payload },
    /// A program started by a `vm.spawn` node was acknowledged with its pid.
    Spawned { index: usize, pid: u64 },
    /// Node `index` was answered on its error topic.
    Error { index: usize, error: ErrorPayload },
    /// A program wrote to stdout or stderr.
    Output {
        pid: u64,
        stderr: bool,
        data: String,
    },
    /// A program ended.
    Exit(Exit),
    /// A piece of node `index`'s streamed `ai.chat` answer.
    AiChunk { index: usize, delta: String },
    /// Node `index`'s `ai.chat` answer is complete (`ai.done`, the `_request_id` removed).
    AiDone { index: usize, payload: Payload },
    /// Not for the engine (answers to its `vm.kill`s, stray messages).
    Ignored,
}

fn node_index(env: &Envelope) -> Option<usize> {
    env.request_id()?.strip_prefix("node-")?.parse().ok()
}

/// Reads an envelope delivered to a run's agent. `spawns(index)` tells whether node `index` is a
/// program (`vm.spawn` / `wasm.run`), whose ack carries a pid rather than its result.
pub fn read(env: Envelope, spawns: impl Fn(usize) -> bool) -> Outcome {
    let topic = env.topic.as_str();
    if env.topic.is_error() {
        let Some(index) = node_index(&env) else {
            return Outcome::Ignored;
        };
        let error = env.decode::<ErrorPayload>().unwrap_or_else(|e| {
            ErrorPayload::new(
                ErrorCode::Internal,
                format!("The node's error does not match the contract: {e}"),
            )
        });
        return Outcome::Error { index, error };
    }
    if env.topic.request_of_reply().is_some() {
        let Some(index) = node_index(&env) else {
            return Outcome::Ignored;
        };
        if spawns(index) {
            return match env.decode::<Spawned>() {
                Ok(Spawned { pid }) => Outcome::Spawned { index, pid },
                Err(e) => Outcome::Error {
                    index,
                    error: ErrorPayload::new(
                        ErrorCode::Internal,
                        format!("The spawn's answer has no pid: {e}"),
                    ),
                },
            };
        }
        let mut payload = env.payload.unwrap_or_default();
        payload.remove("_request_id");
        return Outcome::Reply { index, payload };
    }
    match topic {
        "vm.stdout" | "vm.stderr" => match env.decode::<Output>() {
            Ok(out) => Outcome::Output {
                pid: out.pid,
                stderr: topic == "vm.stderr",
                data: out.data,
            },
            Err(_) => Outcome::Ignored,
        },
        "vm.exit" => env.decode::<Exit>().map_or(Outcome::Ignored, Outcome::Exit),
        aether_shared::ai::CHUNK => match (node_index(&env), env.decode::<Chunk>()) {
            (Some(index), Ok(chunk)) => Outcome::AiChunk {
                index,
                delta: chunk.delta,
            },
            _ => Outcome::Ignored,
        },
        aether_shared::ai::DONE => match node_index(&env) {
            Some(index) => {
                let mut payload = env.payload.unwrap_or_default();
                payload.remove("_request_id");
                Outcome::AiDone { index, payload }
            }
            None => Outcome::Ignored,
        },
        _ => Outcome::Ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(json: &str) -> Envelope {
        Envelope::from_json(json).unwrap()
    }

    #[test]
    fn replies_errors_and_program_messages_are_told_apart() {
        let no = |_| false;
        let yes = |_| true;
        assert_eq!(
            read(
                env(
                    r#"{"topic":"kernel.ping:resp","payload":{"_request_id":"node-3","pong":true}}"#
                ),
                no
            ),
            Outcome::Reply {
                index: 3,
                payload: serde_json::from_str(r#"{"pong":true}"#).unwrap()
            }
        );
        assert_eq!(
            read(
                env(r#"{"topic":"vm.spawn:ack","payload":{"_request_id":"node-0","pid":7}}"#),
                yes
            ),
            Outcome::Spawned { index: 0, pid: 7 }
        );
        let Outcome::Error { index: 1, error } = read(
            env(
                r#"{"topic":"vm.error","payload":{"_request_id":"node-1","code":"timeout","error":"slow"}}"#,
            ),
            yes,
        ) else {
            panic!()
        };
        assert_eq!(error.code, ErrorCode::Timeout);
        assert_eq!(
            read(
                env(r#"{"topic":"vm.kill:ack","payload":{"_request_id":"kill-1"}}"#),
                yes
            ),
            Outcome::Ignored
        );
        assert_eq!(
            read(
                env(
                    r#"{"topic":"ai.chunk","payload":{"_request_id":"node-2","seq":0,"delta":"Hi"}}"#
                ),
                no
            ),
            Outcome::AiChunk {
                index: 2,
                delta: "Hi".into()
            }
        );
        assert!(matches!(
            read(
                env(r#"{"topic":"ai.done","payload":{"_request_id":"node-2","usage":null}}"#),
                no
            ),
            Outcome::AiDone { index: 2, .. }
        ));
        assert_eq!(
            read(
                env(r#"{"topic":"vm.stderr","payload":{"pid":7,"seq":0,"data":"x"}}"#),
                no
            ),
            Outcome::Output {
                pid: 7,
                stderr: true,
                data: "x".into()
            }
        );
    }
}
