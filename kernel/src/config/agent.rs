//! The `ai.agent:` section: what the agent may do without asking, and the budgets of one run.
//!
//! `policy` is an ordered list, first match wins: each rule names a tool (or `*`) and an action
//! (`allow` runs the call, `ask` waits for the user's `ai.agent.approve`, `deny` refuses it and
//! the model hears so). A tool of an outside MCP server is named `<server>__<tool>`, and
//! `<server>__*` covers all of that server's tools; a call no rule matches asks. A built-in tool
//! name the agent does not have is refused at start-up with the list of those it has, and a
//! `<server>__…` naming no server of `ai.mcp_servers` is refused by
//! [`Config::validate`](super::Config::validate). A request's `budget` may only tighten the limits here.

use std::num::{NonZeroU32, NonZeroU64};

use aether_shared::agent::tools::TOOLS;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::mcp_servers::{ServerName, split_tool_name};

/// What a policy rule does to the calls it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolAction {
    /// Run the call.
    Allow,
    /// Show the call with its full arguments and wait for the user's decision.
    Ask,
    /// Refuse the call; the model hears that the policy forbids it.
    Deny,
}

/// A tool name of the agent, `*` for every tool, `<server>__<tool>` for a tool of an outside
/// MCP server, or `<server>__*` for all of that server's tools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolPattern(String);

impl ToolPattern {
    /// Parses `*`, a built-in tool the agent has, or `<server>__<tool>` / `<server>__*` with a
    /// well-formed server name (whether that server is configured is checked by
    /// `Config::validate`).
    pub fn parse(s: &str) -> Result<ToolPattern, String> {
        if s == "*" || TOOLS.iter().any(|t| t.name == s) {
            return Ok(ToolPattern(s.to_owned()));
        }
        if let Some((server, tool)) = split_tool_name(s)
            && ServerName::parse(server).is_ok()
            && (tool == "*"
                || tool
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            return Ok(ToolPattern(s.to_owned()));
        }
        let names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
        Err(format!(
            "tool `{s}` is not a tool of the agent; use `*`, one of {}, or `<server>__<tool>` / `<server>__*` for a server of ai.mcp_servers",
            names.join(", ")
        ))
    }

    /// True when the pattern covers `tool`.
    pub fn matches(&self, tool: &str) -> bool {
        match self.0.strip_suffix('*') {
            Some("") => true,
            Some(server) => tool.starts_with(server),
            None => self.0 == tool,
        }
    }

    /// The outside server the pattern names (`everything` of `everything__echo`), if any.
    pub fn server(&self) -> Option<&str> {
        split_tool_name(&self.0).map(|(server, _)| server)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for ToolPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ToolPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ToolPattern::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// `{tool, action}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRule {
    pub tool: ToolPattern,
    pub action: ToolAction,
}

/// The agent's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// Ordered, first match wins; a call no rule matches is `ask`.
    pub policy: Vec<ToolRule>,
    /// Model requests in one run.
    pub max_turns: NonZeroU64,
    /// Prompt plus completion tokens in one run, as the provider reports them.
    pub max_tokens: NonZeroU64,
    /// Tool calls in one run.
    pub max_tool_calls: NonZeroU64,
    /// Wall time of one run, approvals included, in milliseconds.
    pub wall_timeout_ms: NonZeroU64,
    /// How long a call may wait for the user's decision before the run ends with `timeout`.
    pub approval_timeout_ms: NonZeroU64,
    /// Runs one client may have going at once.
    pub max_runs_per_client: NonZeroU32,
    /// The same tool with the same arguments failing this often ends the run
    /// (`repeated_failure`).
    pub max_repeated_failures: NonZeroU32,
    /// Longest tool result the model is shown, in characters (longer ones are cut and say so).
    pub max_result_chars: NonZeroU32,
    /// Runs kept in the history (`ai.agent.list`), newest first, across all principals.
    pub runs_kept: NonZeroU32,
}

impl Default for AgentConfig {
    fn default() -> Self {
        let rule = |tool: &str, action| ToolRule {
            tool: ToolPattern::parse(tool).expect("a tool of the agent"),
            action,
        };
        AgentConfig {
            policy: vec![
                rule("read_file", ToolAction::Allow),
                rule("list_files", ToolAction::Allow),
                rule("search_files", ToolAction::Allow),
                rule("*", ToolAction::Ask),
            ],
            max_turns: NonZeroU64::new(20).expect("non-zero"),
            max_tokens: NonZeroU64::new(200_000).expect("non-zero"),
            max_tool_calls: NonZeroU64::new(50).expect("non-zero"),
            wall_timeout_ms: NonZeroU64::new(600_000).expect("non-zero"),
            approval_timeout_ms: NonZeroU64::new(300_000).expect("non-zero"),
            max_runs_per_client: NonZeroU32::new(2).expect("non-zero"),
            max_repeated_failures: NonZeroU32::new(3).expect("non-zero"),
            max_result_chars: NonZeroU32::new(8_000).expect("non-zero"),
            runs_kept: NonZeroU32::new(200).expect("non-zero"),
        }
    }
}

impl AgentConfig {
    /// The action of the first rule matching `tool` (`ask` when none does).
    pub fn action_for(&self, tool: &str) -> ToolAction {
        self.policy
            .iter()
            .find(|rule| rule.tool.matches(tool))
            .map_or(ToolAction::Ask, |rule| rule.action)
    }

    /// The action for `tool` in a run whose request said `ask_before_reads`: as
    /// [`AgentConfig::action_for`], except that a read-only tool of the agent the policy would
    /// run at once waits for the user. Never looser than the policy: `ask` and `deny` stay.
    pub fn action_in_run(&self, tool: &str, ask_before_reads: bool) -> ToolAction {
        let action = self.action_for(tool);
        let reads = TOOLS.iter().any(|t| t.name == tool && t.read_only);
        if ask_before_reads && reads && action == ToolAction::Allow {
            ToolAction::Ask
        } else {
            action
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_before_reads_only_tightens_the_policy() {
        let rule = |tool: &str, action| ToolRule {
            tool: ToolPattern::parse(tool).unwrap(),
            action,
        };
        let mut config = AgentConfig::default();
        assert_eq!(config.action_in_run("read_file", true), ToolAction::Ask);
        assert_eq!(config.action_in_run("search_files", true), ToolAction::Ask);
        assert_eq!(config.action_in_run("read_file", false), ToolAction::Allow);
        // Tools that do more than read keep their action either way.
        assert_eq!(config.action_in_run("write_file", true), ToolAction::Ask);
        config
            .policy
            .insert(0, rule("run_program", ToolAction::Allow));
        config
            .policy
            .insert(0, rule("list_files", ToolAction::Deny));
        assert_eq!(config.action_in_run("run_program", true), ToolAction::Allow);
        // A refused read stays refused, never asked.
        assert_eq!(config.action_in_run("list_files", true), ToolAction::Deny);
        // Never looser than the policy, for every tool and both settings.
        for tool in TOOLS {
            for ask in [false, true] {
                let (policy, run) = (
                    config.action_for(tool.name),
                    config.action_in_run(tool.name, ask),
                );
                let strictness = |a: ToolAction| match a {
                    ToolAction::Allow => 0,
                    ToolAction::Ask => 1,
                    ToolAction::Deny => 2,
                };
                assert!(strictness(run) >= strictness(policy), "{} {ask}", tool.name);
            }
        }
    }

    #[test]
    fn the_default_policy_reads_freely_and_asks_for_the_rest() {
        let config = AgentConfig::default();
        assert_eq!(config.action_for("read_file"), ToolAction::Allow);
        assert_eq!(config.action_for("search_files"), ToolAction::Allow);
        assert_eq!(config.action_for("write_file"), ToolAction::Ask);
        assert_eq!(config.action_for("run_program"), ToolAction::Ask);
        assert_eq!(config.action_for("shell"), ToolAction::Ask);
    }

    #[test]
    fn first_match_wins_and_unmatched_calls_ask() {
        let config: AgentConfig = serde_norway::from_str(
            "policy:\n  - {tool: write_file, action: deny}\n  - {tool: '*', action: allow}\n",
        )
        .unwrap();
        assert_eq!(config.action_for("write_file"), ToolAction::Deny);
        assert_eq!(config.action_for("run_task"), ToolAction::Allow);
        let empty: AgentConfig = serde_norway::from_str("policy: []\n").unwrap();
        assert_eq!(empty.action_for("read_file"), ToolAction::Ask);
    }

    #[test]
    fn an_unknown_tool_or_action_is_refused_with_the_choices() {
        let err =
            serde_norway::from_str::<AgentConfig>("policy:\n  - {tool: rm_rf, action: allow}\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("rm_rf") && err.contains("write_file"), "{err}");
        assert!(
            serde_norway::from_str::<AgentConfig>("policy:\n  - {tool: '*', action: maybe}\n")
                .is_err()
        );
        assert!(serde_norway::from_str::<AgentConfig>("max_turns: 0\n").is_err());
    }

    #[test]
    fn outside_tools_are_named_by_server_and_patterns_cover_a_whole_server() {
        let config: AgentConfig = serde_norway::from_str(
            "policy:\n  - {tool: everything__echo, action: allow}\n  - {tool: 'everything__*', action: deny}\n  - {tool: git-hub__get-issue, action: allow}\n",
        )
        .unwrap();
        assert_eq!(config.action_for("everything__echo"), ToolAction::Allow);
        assert_eq!(config.action_for("everything__add"), ToolAction::Deny);
        assert_eq!(config.action_for("git-hub__get-issue"), ToolAction::Allow);
        assert_eq!(
            config.action_for("other__echo"),
            ToolAction::Ask,
            "no match: ask"
        );
        assert_eq!(config.policy[1].tool.server(), Some("everything"));
        for bad in ["Every__echo", "a__b c", "__echo", "everything__", "a__b*"] {
            let yaml = format!("policy:\n  - {{tool: '{bad}', action: allow}}\n");
            assert!(
                serde_norway::from_str::<AgentConfig>(&yaml).is_err(),
                "{bad}"
            );
        }
    }
}
