//! One tool call of a run, in order: counted against `max_tool_calls`; its arguments read (bad
//! ones go back to the model as a `bad_request` result); the policy asked (`allow`, `ask`,
//! `deny`, or a tool the user allowed for the run); for `write_file` the file's current bytes
//! read as the caller, announced (`checkpoint`) and shown with the new text; the `tool_call`
//! event with the full arguments; the user's decision awaited when asked; the before-state kept
//! for undo; the call executed as the caller (a built-in tool), or sent to its outside MCP
//! server (a `<server>__<tool>` the run was offered, through `mcp_client`; the policy applies to
//! it by that name like to any tool); its `tool_result` sent; the loop guard told of a
//! failure. Each call is audited (`run_id`, `call_id`, tool, outcome) with the kernel's own time
//! for it (`kernel_us`: from the call taken out of the model's answer to its result ready for
//! the model, minus `tool_us`, the tool's own work, and minus the wait for the user's decision).
//!
//! Returns what the model reads; an `Err` ends the run.

use aether_shared::agent::tools::ToolCall;
use aether_shared::agent::{Decision, EventKind, WritePreview};
use aether_shared::{ErrorCode, ErrorPayload};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::Run;
use crate::config::ToolAction;
use crate::services::agent::checkpoint::Before;
use crate::services::agent::error::AgentError;
use crate::services::agent::mcp_client::OutsideTool;
use crate::services::agent::prompt;
use crate::services::agent::tools;
use crate::services::ai::tool_calls::Call;

/// A write about to happen: the normalized path and its state before.
struct Pending {
    path: String,
    before: Before,
}

/// What a call asks for: a built-in tool with its typed arguments, or a tool of an outside MCP
/// server with the model's arguments as they are (its server checks them).
enum Invocation {
    Builtin(ToolCall),
    Outside(OutsideTool, Map<String, Value>),
}

impl Invocation {
    fn name(&self) -> &str {
        match self {
            Invocation::Builtin(tool) => tool.name(),
            Invocation::Outside(tool, _) => &tool.name,
        }
    }
}

impl Run {
    /// Handles one call; returns the text of its result for the model.
    pub(super) async fn call(&mut self, call: &Call) -> Result<String, AgentError> {
        let taken = Instant::now();
        self.elsewhere = std::time::Duration::ZERO;
        let span = tracing::info_span!(
            "agent_call",
            run_id = %self.ctx.live.run_id,
            call_id = %call.id,
            tool = %call.name
        );
        self.meter
            .start_call(&self.ctx.limits)
            .map_err(|l| self.exhausted(l))?;
        self.sync_summary();
        let arguments: Value = serde_json::from_str(&call.arguments)
            .unwrap_or_else(|_| Value::String(call.arguments.clone()));
        let outcome = match self.invocation(&call.name, &arguments) {
            Ok(invocation) => {
                self.decide_and_run(&call.id, invocation, &arguments)
                    .await?
            }
            Err(error) => {
                self.announce(&call.id, &call.name, &arguments, false, None);
                Err(error)
            }
        };
        let max_chars = self.ctx.config.max_result_chars.get() as usize;
        let (shown, ok, code) = match &outcome {
            Ok(result) => (prompt::tool_result(result, max_chars), true, None),
            Err(error) => {
                let said =
                    json!({"error": error.code, "message": error.error, "details": error.details});
                (
                    prompt::tool_result(&said, max_chars),
                    false,
                    Some(error.code),
                )
            }
        };
        let event = match outcome {
            Ok(result) => EventKind::ToolResult {
                call_id: call.id.clone(),
                ok: true,
                result: Some(self.fit(result, &shown)),
                error: None,
            },
            Err(error) => EventKind::ToolResult {
                call_id: call.id.clone(),
                ok: false,
                result: None,
                error: Some(error),
            },
        };
        self.events.emit(event);
        let tool_us = self.elsewhere.as_micros() as u64;
        let kernel_us = (taken.elapsed().as_micros() as u64).saturating_sub(tool_us);
        span.in_scope(|| tracing::info!(ok, code = ?code, kernel_us, tool_us, "agent tool call"));
        if !ok && self.guard.failed(&call.name, &arguments) {
            return Err(AgentError::RepeatedFailure {
                tool: call.name.clone(),
                times: self.ctx.config.max_repeated_failures.get(),
            });
        }
        Ok(shown)
    }

    /// What `name` called with `arguments` asks for: an outside tool this run was offered, or a
    /// built-in one with arguments that fit its schema; else the `bad_request` the model reads.
    fn invocation(&self, name: &str, arguments: &Value) -> Result<Invocation, ErrorPayload> {
        match (self.outside.get(name), arguments) {
            (Some(tool), Value::Object(arguments)) => {
                Ok(Invocation::Outside(tool.clone(), arguments.clone()))
            }
            (Some(_), _) => Err(not_an_object(name)),
            (None, _) => parse(name, arguments).map(Invocation::Builtin),
        }
    }

    /// The policy, the preview and checkpoint of a write, the decision, the execution.
    async fn decide_and_run(
        &mut self,
        call_id: &str,
        invocation: Invocation,
        arguments: &Value,
    ) -> Result<Result<Value, ErrorPayload>, AgentError> {
        let name = invocation.name().to_owned();
        let name = name.as_str();
        let action = if self.allowed.contains(name) {
            ToolAction::Allow
        } else {
            // The request's `ask_before_reads` can only tighten the policy.
            self.ctx
                .config
                .action_in_run(name, self.ctx.request.ask_before_reads)
        };
        let mut pending = None;
        let mut preview = None;
        if let (Invocation::Builtin(ToolCall::WriteFile(write)), true) =
            (&invocation, action != ToolAction::Deny)
        {
            let reading = Instant::now();
            let prepared = self
                .stops
                .guard(tools::prepare_write(&self.caller, write))
                .await?;
            self.elsewhere += reading.elapsed();
            match prepared {
                Ok(tools::PreparedWrite {
                    path,
                    before,
                    preview: shown,
                }) => {
                    self.events.emit(EventKind::Checkpoint {
                        paths: vec![path.clone()],
                    });
                    preview = Some(shown);
                    pending = Some(Pending { path, before });
                }
                Err(error) => {
                    self.announce(call_id, name, arguments, false, None);
                    return Ok(Err(error));
                }
            }
        }
        self.announce(call_id, name, arguments, action == ToolAction::Ask, preview);
        match action {
            ToolAction::Deny => {
                return Ok(Err(ErrorPayload::new(
                    ErrorCode::PermissionDenied,
                    format!(
                        "The agent's policy (ai.agent.policy) does not allow `{name}`; reach the goal without it, or say what the user should do."
                    ),
                )));
            }
            ToolAction::Ask => match self.approval(call_id).await? {
                Decision::Deny => {
                    return Ok(Err(ErrorPayload::new(
                        ErrorCode::PermissionDenied,
                        format!(
                            "The user declined this `{name}` call. Do not repeat it; adapt, or ask the user in your answer."
                        ),
                    )));
                }
                Decision::AllowToolForRun => {
                    self.allowed.insert(name.to_owned());
                }
                Decision::Allow => {}
            },
            ToolAction::Allow => {}
        }
        if let Some(Pending { path, before }) = pending {
            let first = {
                let mut record = self.ctx.live.record.lock().expect("agent run lock");
                let first = !record.checkpoints.has(&path);
                record.checkpoints.record(&path, before);
                if first {
                    record.summary.changed = record.checkpoints.paths();
                }
                first
            };
            if first {
                self.persist().await;
            }
        }
        let kept = self.ctx.config.max_result_chars.get() as usize;
        let working = Instant::now();
        let outcome = match invocation {
            Invocation::Builtin(tool) => {
                let work = tools::execute(&mut self.caller, tool, kept, &mut self.program);
                self.stops.guard(work).await
            }
            // Dropped by a stop, the call is cancelled at its server.
            Invocation::Outside(tool, arguments) => {
                let work = self.ctx.outside.call(&tool, arguments);
                self.stops.guard(work).await
            }
        };
        self.elsewhere += working.elapsed();
        outcome
    }

    /// Waits for the user's decision on `call_id`, within `approval_timeout_ms`.
    async fn approval(&mut self, call_id: &str) -> Result<Decision, AgentError> {
        let waiting = Instant::now();
        let live = &self.ctx.live;
        let decision = live.wait_for(call_id);
        let ms = self.ctx.config.approval_timeout_ms.get();
        let waited = self
            .stops
            .guard(tokio::time::timeout(
                std::time::Duration::from_millis(ms),
                decision,
            ))
            .await;
        live.stop_waiting();
        self.elsewhere += waiting.elapsed();
        match waited? {
            Ok(Ok(decision)) => Ok(decision),
            Ok(Err(_)) => Err(live.stop_reason()),
            Err(_) => Err(AgentError::ApprovalTimeout {
                call_id: call_id.to_owned(),
                ms,
            }),
        }
    }

    /// The `tool_call` event: the full arguments as the model wrote them.
    fn announce(
        &mut self,
        call_id: &str,
        tool: &str,
        arguments: &Value,
        needs_approval: bool,
        write: Option<WritePreview>,
    ) {
        self.events.emit(EventKind::ToolCall {
            call_id: call_id.to_owned(),
            tool: tool.to_owned(),
            arguments: arguments.clone(),
            needs_approval,
            write,
        });
    }

    /// A result as the requester gets it: whole, unless it would take more than half a frame;
    /// then the text the model read.
    fn fit(&self, result: Value, shown: &str) -> Value {
        let size = serde_json::to_string(&result).map_or(usize::MAX, |s| s.len());
        if size <= self.ctx.max_frame_bytes / 2 {
            result
        } else {
            Value::String(shown.to_owned())
        }
    }
}

/// A call's typed arguments, or the `bad_request` the model reads.
fn parse(tool: &str, arguments: &Value) -> Result<ToolCall, ErrorPayload> {
    if !arguments.is_object() {
        return Err(not_an_object(tool));
    }
    ToolCall::parse(tool, arguments).map_err(|e| ErrorPayload::new(ErrorCode::BadRequest, e))
}

fn not_an_object(tool: &str) -> ErrorPayload {
    ErrorPayload::new(
        ErrorCode::BadRequest,
        format!("The arguments of `{tool}` are not a JSON object; send them as one."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_that_are_not_an_object_or_break_the_schema_are_bad_requests() {
        let text = Value::String("{not json".into());
        assert_eq!(
            parse("read_file", &text).unwrap_err().code,
            ErrorCode::BadRequest
        );
        let wrong = json!({"file": "/a"});
        let error = parse("read_file", &wrong).unwrap_err();
        assert!(
            error.error.contains("do not match its schema"),
            "{}",
            error.error
        );
        assert!(parse("read_file", &json!({"path": "/a"})).is_ok());
    }
}
