//! One agent run: the loop of model turns and tool calls, as the caller, until the model answers
//! without calling a tool (done), or a budget, the loop guard, the wall clock, an unanswered
//! approval, a cancel, the caller leaving or the kernel stopping ends it.
//!
//! A turn streams the model's text to the requester (`message` events) and reports the tokens
//! used so far (`usage`); each tool call it made is then handled in order by [`call`] (policy,
//! approval, checkpoint, execution through [`tools`], or through
//! [`mcp_client`](super::mcp_client) for a tool of an outside MCP server) and its result goes
//! back to the model. The run is offered the outside servers' tools at its start, next to the
//! built-in ones; a server that cannot be reached then is left out, and the system prompt says
//! so. Every wait (the model, a tool, an approval) is cut short by a stop
//! ([`Stops::guard`]): the model's request is dropped, a running program is killed and waited
//! for, and the agent leaves the bus, so nothing the run started outlives it. The caller
//! ([`super`]) records and announces how it ended.

mod call;
mod events;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aether_shared::agent::{EventKind, Start};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::budget::{Exhausted, Limits, Meter};
use super::caller::{Caller, Seat};
use super::error::AgentError;
use super::live::LiveRun;
use super::loop_guard::LoopGuard;
use super::mcp_client::{OutsideServers, OutsideTool};
use super::prompt;
use super::store::Store;
use super::tools::{self, RunningProgram};
use crate::config::AgentConfig;
use crate::services::ai::conversation::{self, CallMade, ChatMessage, ToolSpec};
use crate::services::ai::provider::{Ask, Provider};
use events::Events;

/// How long a stopped run waits for its killed program's last word.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Everything a run needs.
pub struct RunContext {
    pub seat: Seat,
    pub provider: Arc<Provider>,
    pub config: Arc<AgentConfig>,
    pub limits: Limits,
    pub live: Arc<LiveRun>,
    /// The client whose tab the run works in (the requester, or the client a kernel-made
    /// requester acts for).
    pub acting_for: String,
    /// The `ai.agent.start` request, answered by every message of the run.
    pub start: aether_shared::Envelope,
    pub request: Start,
    pub store: Arc<Store>,
    /// The kernel's frame cap: a tool result larger than half of it is sent to the requester cut.
    pub max_frame_bytes: usize,
    /// The outside MCP servers whose tools the run is offered.
    pub outside: Arc<OutsideServers>,
    pub shutdown: CancellationToken,
}

/// How a run ended: the model's last words, or why it stopped.
pub type Ending = Result<String, AgentError>;

/// What ends any wait of the run.
struct Stops {
    live: Arc<LiveRun>,
    shutdown: CancellationToken,
    deadline: Instant,
    wall_timeout_ms: u64,
}

impl Stops {
    /// Runs `work` unless the run is stopped first (cancel, the caller leaving, shutdown, the
    /// wall clock); a stop drops `work`.
    async fn guard<T>(&self, work: impl Future<Output = T>) -> Result<T, AgentError> {
        tokio::select! {
            biased;
            _ = self.live.cancel.cancelled() => Err(self.live.stop_reason()),
            _ = self.shutdown.cancelled() => Err(AgentError::Shutdown),
            _ = tokio::time::sleep_until(self.deadline) => {
                Err(AgentError::WallTimeout(self.wall_timeout_ms))
            }
            out = work => Ok(out),
        }
    }
}

/// A run under way.
struct Run {
    ctx: RunContext,
    caller: Caller,
    events: Events,
    stops: Stops,
    meter: Meter,
    guard: LoopGuard,
    /// Tools the user allowed for the rest of the run (`allow_tool_for_run`).
    allowed: HashSet<String>,
    tools: Vec<ToolSpec>,
    /// The outside tools offered at the run's start, by the name the model calls.
    outside: HashMap<String, OutsideTool>,
    messages: Vec<ChatMessage>,
    program: Option<RunningProgram>,
    /// Time the current call spent outside the kernel (the tool's work, the user's decision).
    elsewhere: Duration,
}

/// Executes a run to its end; the agent has left the bus when this returns.
pub async fn execute(ctx: RunContext) -> Ending {
    let live = Arc::clone(&ctx.live);
    let caller = Caller::attach(
        &ctx.seat,
        format!("agent-{}", live.run_id),
        live.principal,
        &ctx.acting_for,
    );
    let events = Events::new(ctx.seat.bus.clone(), ctx.start.clone(), Arc::clone(&live));
    let stops = Stops {
        live: Arc::clone(&live),
        shutdown: ctx.shutdown.clone(),
        deadline: Instant::now() + Duration::from_millis(ctx.limits.wall_timeout_ms),
        wall_timeout_ms: ctx.limits.wall_timeout_ms,
    };
    let mut run = Run {
        guard: LoopGuard::new(ctx.config.max_repeated_failures.get()),
        ctx,
        caller,
        events,
        stops,
        meter: Meter::default(),
        allowed: HashSet::new(),
        tools: Vec::new(),
        outside: HashMap::new(),
        messages: Vec::new(),
        program: None,
        elsewhere: Duration::ZERO,
    };
    let ending = match run.prepare().await {
        Ok(()) => run.drive().await,
        Err(stopped) => Err(stopped),
    };
    if run.program.is_some() {
        let stopping = tools::stop_program(&mut run.caller, &mut run.program);
        if tokio::time::timeout(STOP_GRACE, stopping).await.is_err() {
            tracing::warn!("a stopped agent run's program did not end within the grace period");
        }
    }
    run.caller.release();
    ending
}

impl Run {
    /// The tools the run is offered (the built-in ones, then the outside servers' as they are
    /// now, started as needed) and the model's first messages.
    async fn prepare(&mut self) -> Result<(), AgentError> {
        let offer = self.stops.guard(self.ctx.outside.offer()).await?;
        self.tools = conversation::agent_tools();
        self.tools.extend(offer.tools.iter().map(|tool| {
            ToolSpec::function(
                tool.name.clone(),
                tool.description.clone(),
                tool.parameters.clone(),
            )
        }));
        self.messages = vec![
            ChatMessage::System {
                content: prompt::system(&offer),
            },
            ChatMessage::User {
                content: prompt::goal(&self.ctx.request.goal, self.ctx.request.context.as_ref()),
            },
        ];
        self.outside = offer
            .tools
            .into_iter()
            .map(|tool| (tool.name.clone(), tool))
            .collect();
        Ok(())
    }

    async fn drive(&mut self) -> Ending {
        loop {
            self.meter
                .start_turn(&self.ctx.limits)
                .map_err(|l| self.exhausted(l))?;
            self.sync_summary();
            let ask = Ask {
                model: self.ctx.request.model.clone(),
                messages: self.messages.clone(),
                tools: self.tools.clone(),
                max_tokens: None,
                temperature: None,
            };
            let mut text = String::new();
            let turn = {
                let events = &mut self.events;
                let answer = self.ctx.provider.turn(ask, |delta| {
                    text.push_str(delta);
                    events.emit(EventKind::Message {
                        delta: delta.to_owned(),
                    });
                });
                self.stops.guard(answer).await??
            };
            if let Some(usage) = turn.done.usage {
                let over = self.meter.add_usage(usage, &self.ctx.limits);
                let used = self.meter.usage;
                self.events.emit(EventKind::Usage {
                    prompt_tokens: used.prompt_tokens,
                    completion_tokens: used.completion_tokens,
                    total: used.total_tokens,
                });
                self.sync_summary();
                over.map_err(|l| self.exhausted(l))?;
            }
            let made = turn
                .calls
                .iter()
                .map(|c| CallMade::new(&c.id, &c.name, &c.arguments))
                .collect();
            self.messages.push(ChatMessage::Assistant {
                content: text.clone(),
                tool_calls: made,
            });
            if turn.calls.is_empty() {
                return Ok(text);
            }
            for call in turn.calls {
                let content = self.call(&call).await?;
                self.messages.push(ChatMessage::Tool {
                    tool_call_id: call.id,
                    content,
                });
            }
        }
    }

    /// The error of a used-up budget, with the limit's value.
    fn exhausted(&self, limit: Exhausted) -> AgentError {
        let limits = &self.ctx.limits;
        let value = match limit {
            Exhausted::Turns => limits.max_turns,
            Exhausted::Tokens => limits.max_tokens,
            Exhausted::ToolCalls => limits.max_tool_calls,
        };
        AgentError::Budget { limit, value }
    }

    /// Copies the meter into the live record.
    fn sync_summary(&self) {
        let mut record = self.ctx.live.record.lock().expect("agent run lock");
        record.summary.turns = self.meter.turns;
        record.summary.tool_calls = self.meter.tool_calls;
        record.summary.usage = self.meter.usage;
    }

    /// Writes the record as it stands (after a checkpoint: an undo must survive a crash).
    async fn persist(&self) {
        let (store, run) = (Arc::clone(&self.ctx.store), self.ctx.live.snapshot());
        match tokio::task::spawn_blocking(move || store.put(&run)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("agent store: {e}"),
            Err(e) => tracing::error!("agent store thread: {e}"),
        }
    }
}
