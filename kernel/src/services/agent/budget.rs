//! The budget of one run: the config's limits, tightened by the request's, and a meter that says
//! which limit a run has reached.

use aether_shared::agent::Budget;
use aether_shared::ai::Usage;

use crate::config::AgentConfig;

/// The limits one run is held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_turns: u64,
    pub max_tokens: u64,
    pub max_tool_calls: u64,
    pub wall_timeout_ms: u64,
}

impl Limits {
    /// The config's limits, each lowered to the request's when it asks for less (a request can
    /// never loosen them; a zero is read as "none at all" of that thing).
    pub fn of(config: &AgentConfig, requested: Option<&Budget>) -> Limits {
        let tighten =
            |configured: u64, asked: Option<u64>| asked.map_or(configured, |a| a.min(configured));
        let asked = requested.cloned().unwrap_or_default();
        Limits {
            max_turns: tighten(config.max_turns.get(), asked.max_turns),
            max_tokens: tighten(config.max_tokens.get(), asked.max_tokens),
            max_tool_calls: tighten(config.max_tool_calls.get(), asked.max_tool_calls),
            wall_timeout_ms: tighten(config.wall_timeout_ms.get(), asked.wall_timeout_ms),
        }
    }
}

/// Which budget a run has used up; its name is the `details.limit` of the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exhausted {
    Turns,
    Tokens,
    ToolCalls,
}

impl Exhausted {
    /// The key of the limit, as in the config and the request's `budget`.
    pub fn limit(self) -> &'static str {
        match self {
            Exhausted::Turns => "max_turns",
            Exhausted::Tokens => "max_tokens",
            Exhausted::ToolCalls => "max_tool_calls",
        }
    }
}

/// What a run has used so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meter {
    pub turns: u64,
    pub tool_calls: u64,
    pub usage: Usage,
}

impl Meter {
    /// Counts one model request, refusing it when the turns are used up.
    pub fn start_turn(&mut self, limits: &Limits) -> Result<(), Exhausted> {
        if self.turns >= limits.max_turns {
            return Err(Exhausted::Turns);
        }
        self.turns += 1;
        Ok(())
    }

    /// Adds a turn's token usage; the run is over budget once the total passes the limit.
    pub fn add_usage(&mut self, usage: Usage, limits: &Limits) -> Result<(), Exhausted> {
        self.usage.prompt_tokens += usage.prompt_tokens;
        self.usage.completion_tokens += usage.completion_tokens;
        self.usage.total_tokens += if usage.total_tokens > 0 {
            usage.total_tokens
        } else {
            usage.prompt_tokens + usage.completion_tokens
        };
        if self.usage.total_tokens > limits.max_tokens {
            return Err(Exhausted::Tokens);
        }
        Ok(())
    }

    /// Counts one tool call, refusing it when the calls are used up.
    pub fn start_call(&mut self, limits: &Limits) -> Result<(), Exhausted> {
        if self.tool_calls >= limits.max_tool_calls {
            return Err(Exhausted::ToolCalls);
        }
        self.tool_calls += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_may_tighten_but_never_loosen_the_config() {
        let config = AgentConfig::default();
        let asked = Budget {
            max_turns: Some(5),
            max_tokens: Some(u64::MAX),
            max_tool_calls: None,
            wall_timeout_ms: Some(1_000),
        };
        let limits = Limits::of(&config, Some(&asked));
        assert_eq!(limits.max_turns, 5);
        assert_eq!(limits.max_tokens, config.max_tokens.get());
        assert_eq!(limits.max_tool_calls, config.max_tool_calls.get());
        assert_eq!(limits.wall_timeout_ms, 1_000);
        assert_eq!(Limits::of(&config, None).max_turns, config.max_turns.get());
    }

    #[test]
    fn the_meter_refuses_at_each_limit_exactly() {
        let limits = Limits {
            max_turns: 2,
            max_tokens: 100,
            max_tool_calls: 1,
            wall_timeout_ms: 1,
        };
        let mut meter = Meter::default();
        assert_eq!(meter.start_turn(&limits), Ok(()));
        assert_eq!(meter.start_turn(&limits), Ok(()));
        assert_eq!(meter.start_turn(&limits), Err(Exhausted::Turns));
        assert_eq!(meter.start_call(&limits), Ok(()));
        assert_eq!(meter.start_call(&limits), Err(Exhausted::ToolCalls));
        let usage = |p, c| Usage {
            prompt_tokens: p,
            completion_tokens: c,
            total_tokens: 0,
        };
        assert_eq!(
            meter.add_usage(usage(60, 40), &limits),
            Ok(()),
            "exactly at the limit"
        );
        assert_eq!(
            meter.add_usage(usage(1, 0), &limits),
            Err(Exhausted::Tokens)
        );
        assert_eq!(meter.usage.total_tokens, 101);
        assert_eq!(Exhausted::Tokens.limit(), "max_tokens");
    }
}
