//! What `ai.agent.undo` puts back: the bytes of every file a run wrote, as they were before the
//! run's first write to it (or that the file did not exist).
//!
//! The run reads a file before its first write (the `checkpoint` event); later writes to the
//! same path keep that first state, so undo returns to the state before the run, not before the
//! last write.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A file as it was before the run touched it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "was", rename_all = "snake_case")]
pub enum Before {
    /// The file did not exist: undo deletes it.
    Absent,
    /// The file held these bytes (base64): undo writes them back.
    Bytes { base64: String },
}

/// The first state of every path a run wrote, in path order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoints {
    files: BTreeMap<String, Before>,
}

impl Checkpoints {
    /// Whether `path` already has its first state recorded.
    pub fn has(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// Records the state of `path` before the run's first write to it; a later call for the
    /// same path changes nothing.
    pub fn record(&mut self, path: &str, before: Before) {
        self.files.entry(path.to_owned()).or_insert(before);
    }

    /// The paths the run wrote.
    pub fn paths(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }

    /// What to put back, path by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Before)> {
        self.files
            .iter()
            .map(|(path, before)| (path.as_str(), before))
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_state_of_a_path_is_kept() {
        let mut cp = Checkpoints::default();
        cp.record("/b.txt", Before::Absent);
        cp.record(
            "/a.txt",
            Before::Bytes {
                base64: "b2xk".into(),
            },
        );
        cp.record(
            "/a.txt",
            Before::Bytes {
                base64: "bmV3".into(),
            },
        );
        cp.record(
            "/b.txt",
            Before::Bytes {
                base64: "eA==".into(),
            },
        );
        assert_eq!(cp.paths(), ["/a.txt", "/b.txt"]);
        let kept: Vec<_> = cp.iter().map(|(p, b)| (p.to_owned(), b.clone())).collect();
        assert_eq!(
            kept[0].1,
            Before::Bytes {
                base64: "b2xk".into()
            }
        );
        assert_eq!(kept[1].1, Before::Absent);
        let json = serde_json::to_string(&cp).unwrap();
        assert_eq!(serde_json::from_str::<Checkpoints>(&json).unwrap(), cp);
    }
}
