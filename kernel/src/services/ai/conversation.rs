//! A conversation as the chat-completions API carries it, tools included: the messages the
//! kernel sends (system, user, an assistant turn with the tool calls it made, each tool's result
//! by `tool_call_id`) and the function tools offered to the model: the contract's, with the JSON
//! Schemas derived from its types, and any other function (an outside MCP server's tool, with
//! the schema its server gave) by [`ToolSpec::function`]. `ai.chat` and `ai.complete` send plain
//! text messages only; the agent sends the rest. This module never does I/O.

use std::borrow::Cow;

use aether_shared::agent::tools;
use aether_shared::ai::{Message, Role};
use serde::Serialize;
use serde_json::Value;

/// One message of the conversation sent to the provider.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum ChatMessage {
    System {
        content: String,
    },
    User {
        content: String,
    },
    /// What the model answered: its text (possibly empty) and the tools it called.
    Assistant {
        content: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<CallMade>,
    },
    /// The result of one tool call, answering the call with that id.
    Tool {
        tool_call_id: String,
        content: String,
    },
}

impl From<Message> for ChatMessage {
    fn from(message: Message) -> ChatMessage {
        let content = message.content;
        match message.role {
            Role::System => ChatMessage::System { content },
            Role::User => ChatMessage::User { content },
            Role::Assistant => ChatMessage::Assistant {
                content,
                tool_calls: Vec::new(),
            },
        }
    }
}

/// A tool call the model made, as it is sent back in the assistant's message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallMade {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionCalled,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FunctionCalled {
    pub name: String,
    /// The arguments as the model wrote them (JSON text).
    pub arguments: String,
}

impl CallMade {
    /// The call `id` of `name` with `arguments` (JSON text).
    pub fn new(id: &str, name: &str, arguments: &str) -> CallMade {
        CallMade {
            id: id.to_owned(),
            kind: "function",
            function: FunctionCalled {
                name: name.to_owned(),
                arguments: arguments.to_owned(),
            },
        }
    }
}

/// One function tool offered to the model (`tools[]` of the request).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolSpec {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionSpec,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FunctionSpec {
    pub name: Cow<'static, str>,
    pub description: Cow<'static, str>,
    /// The JSON Schema of the arguments (derived from the contract's type for its tools).
    pub parameters: Value,
}

impl ToolSpec {
    /// A function tool named `name`, described by `description`, taking arguments that match
    /// the JSON Schema `parameters`.
    pub fn function(
        name: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
        parameters: Value,
    ) -> ToolSpec {
        ToolSpec {
            kind: "function",
            function: FunctionSpec {
                name: name.into(),
                description: description.into(),
                parameters,
            },
        }
    }
}

/// Every tool of the agent's contract, with its derived schema, in the contract's order.
pub fn agent_tools() -> Vec<ToolSpec> {
    tools::TOOLS
        .iter()
        .map(|tool| {
            ToolSpec::function(
                tool.name,
                tool.description,
                tools::parameters(tool.name)
                    .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_have_the_chat_completions_shape() {
        let call = CallMade::new("call_1", "read_file", r#"{"path":"/a"}"#);
        let assistant = ChatMessage::Assistant {
            content: String::new(),
            tool_calls: vec![call],
        };
        assert_eq!(
            serde_json::to_value(&assistant).unwrap(),
            json!({"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "read_file", "arguments": "{\"path\":\"/a\"}"}}]})
        );
        let result = ChatMessage::Tool {
            tool_call_id: "call_1".into(),
            content: "hi".into(),
        };
        assert_eq!(
            serde_json::to_value(&result).unwrap(),
            json!({"role": "tool", "tool_call_id": "call_1", "content": "hi"})
        );
        let plain: ChatMessage = Message::new(Role::User, "hello").into();
        assert_eq!(
            serde_json::to_value(&plain).unwrap(),
            json!({"role": "user", "content": "hello"})
        );
        let said: ChatMessage = Message::new(Role::Assistant, "ok").into();
        assert_eq!(
            serde_json::to_value(&said).unwrap(),
            json!({"role": "assistant", "content": "ok"})
        );
    }

    #[test]
    fn every_contract_tool_is_offered_with_its_derived_schema() {
        let tools = agent_tools();
        assert_eq!(tools.len(), tools::TOOLS.len());
        let write = serde_json::to_value(&tools[3]).unwrap();
        assert_eq!(write["type"], "function");
        assert_eq!(write["function"]["name"], "write_file");
        assert_eq!(
            write["function"]["parameters"]["required"],
            json!(["path", "content"])
        );
    }

    #[test]
    fn any_function_is_offered_with_the_schema_it_came_with() {
        let schema = json!({"type": "object", "properties": {"message": {"type": "string"}}});
        let echo = ToolSpec::function(
            "everything__echo".to_owned(),
            "Echoes".to_owned(),
            schema.clone(),
        );
        assert_eq!(
            serde_json::to_value(&echo).unwrap(),
            json!({"type": "function", "function": {"name": "everything__echo",
                   "description": "Echoes", "parameters": schema}})
        );
    }
}
