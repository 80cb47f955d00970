//! The Editor's AI: the chat panel beside the editor ([`panel`]), edit proposals shown as a diff
//! to accept or reject ([`diff`]), inline ghost-text completion ([`inline`]), all over the
//! kernel's `ai.*` service through one [`client::AiClient`] per window.

pub mod client;
pub mod diff;
pub mod inline;
pub mod panel;

/// An edit the AI proposed for a file, waiting for the user's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub path: String,
    pub language: String,
    /// The buffer when the proposal was asked for.
    pub original: String,
    pub proposed: String,
}
