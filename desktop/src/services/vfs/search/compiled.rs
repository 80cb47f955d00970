//! A `vfs:search` request compiled once: its query ([`Matcher`]) and its path glob
//! ([`PathGlob`]) behind one [`CompiledQuery`].
//!
//! [`compile`] is a split point in release wasm builds (`cfg(aether_split)`, see
//! `apps/on_demand.rs`): the regular-expression engine and its Unicode tables are reached only
//! through it, so the splitter moves them into the `search` chunk, fetched by the first search
//! (from the overlay or the kernel's relay) instead of with the page. Elsewhere (dev, native
//! tests) it is an ordinary function. A chunk that fails to load is [`CompileError::Load`].

use aether_shared::vfs::{Search, SearchMatch};

use super::glob::PathGlob;
use super::matcher::{Matcher, QueryError};

/// What a search looks for.
pub trait CompiledQuery {
    /// True when the file at `path` is to be searched (the glob accepts it, or there is none).
    fn wants(&self, path: &str) -> bool;
    /// The lines of `text` (the file at `path`) with a match, at most `room`, and whether more
    /// matched (see [`Matcher::lines_in`]).
    fn lines_in(&self, path: &str, text: &str, room: usize) -> (Vec<SearchMatch>, bool);
}

/// Why a request could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The query or the glob is unusable: a sentence for the user.
    #[error("{0}")]
    Refused(String),
    /// The search chunk did not load.
    #[cfg(aether_split)]
    #[error("{0}")]
    Load(#[from] leptos::wasm_split::SplitLoaderError),
}

struct Compiled {
    matcher: Matcher,
    glob: Option<PathGlob>,
}

impl CompiledQuery for Compiled {
    fn wants(&self, path: &str) -> bool {
        self.glob.as_ref().is_none_or(|g| g.matches(path))
    }

    fn lines_in(&self, path: &str, text: &str, room: usize) -> (Vec<SearchMatch>, bool) {
        self.matcher.lines_in(path, text, room)
    }
}

/// Compiles `request`'s query and glob (an empty glob is none). Errors: an empty query, an
/// invalid regex, an invalid glob, each with its sentence.
#[cfg_attr(
    aether_split,
    leptos::wasm_split::wasm_split(search, wasm_split_path = ::leptos::wasm_split, fallible)
)]
pub fn compile(request: &Search) -> Result<Box<dyn CompiledQuery>, CompileError> {
    let matcher = Matcher::new(request).map_err(|e| {
        CompileError::Refused(match e {
            QueryError::Empty => {
                "`query` is empty; give the text to find (plain text, or a regex with `regex: true`)"
                    .to_owned()
            }
            bad => bad.to_string(),
        })
    })?;
    let glob = request
        .glob
        .as_deref()
        .filter(|g| !g.is_empty())
        .map(PathGlob::new)
        .transpose()
        .map_err(|e| CompileError::Refused(e.to_string()))?;
    Ok(Box::new(Compiled { matcher, glob }))
}
