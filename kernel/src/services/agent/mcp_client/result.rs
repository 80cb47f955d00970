//! An outside tool's answer as the agent hands it on: the text of its content blocks joined by
//! newlines (a text resource's text included; images, audio and binary resources named, not
//! shown), or its structured content as JSON when it sent no blocks. An answer marked `isError`
//! is a failed call (`bad_request`, with the tool's own words), which the model reads like any
//! refused call. Never I/O.

use aether_shared::{ErrorCode, ErrorPayload};
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::Value;

/// The call's result for the model and the `tool_result` event.
pub fn outcome(server: &str, tool: &str, result: CallToolResult) -> Result<Value, ErrorPayload> {
    let mut text = result
        .content
        .iter()
        .map(block_text)
        .collect::<Vec<_>>()
        .join("\n");
    if result.content.is_empty()
        && let Some(structured) = &result.structured_content
    {
        text = structured.to_string();
    }
    if result.is_error == Some(true) {
        let said = if text.is_empty() {
            "(no message)".to_owned()
        } else {
            text
        };
        return Err(ErrorPayload::new(
            ErrorCode::BadRequest,
            format!("The tool `{tool}` of the MCP server `{server}` reported an error: {said}"),
        )
        .with_detail("server", server));
    }
    Ok(Value::String(text))
}

/// One block as text.
fn block_text(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(t) => t.text.clone(),
        ContentBlock::Resource(r) => match &r.resource {
            ResourceContents::TextResourceContents { text, .. } => text.clone(),
            ResourceContents::BlobResourceContents { uri, mime_type, .. } => format!(
                "[binary resource {uri} ({}), not shown]",
                mime_type.as_deref().unwrap_or("unknown type")
            ),
            _ => "[a resource of a kind the agent does not read, not shown]".to_owned(),
        },
        ContentBlock::Image(i) => format!("[image ({}), not shown]", i.mime_type),
        ContentBlock::Audio(a) => format!("[audio ({}), not shown]", a.mime_type),
        ContentBlock::ResourceLink(link) => format!("[resource {} ({})]", link.uri, link.name),
        _ => "[content of a kind the agent does not read, not shown]".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(value: Value) -> CallToolResult {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn text_blocks_are_joined_and_other_kinds_named() {
        let answer = result(json!({"content": [
            {"type": "text", "text": "Echo: hi"},
            {"type": "image", "data": "AAAA", "mimeType": "image/png"},
            {"type": "resource", "resource": {"uri": "file:///a", "text": "inside"}}
        ]}));
        assert_eq!(
            outcome("s", "t", answer).unwrap(),
            json!("Echo: hi\n[image (image/png), not shown]\ninside")
        );
        let structured = result(json!({"content": [], "structuredContent": {"sum": 3}}));
        assert_eq!(outcome("s", "t", structured).unwrap(), json!("{\"sum\":3}"));
    }

    #[test]
    fn an_error_result_is_a_failed_call_in_the_tools_words() {
        let answer =
            result(json!({"content": [{"type": "text", "text": "no such city"}], "isError": true}));
        let error = outcome("weather", "forecast", answer).unwrap_err();
        assert_eq!(error.code, ErrorCode::BadRequest);
        assert!(error.error.contains("no such city") && error.error.contains("`weather`"));
    }
}
