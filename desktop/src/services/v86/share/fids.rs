//! The guest's fids: each names a path of the shared namespace (`/`, `/files/…` the tab's files,
//! `/tools/…` the guest's tools) and whether it is open, and for writing. Fids are by path, so a
//! rename moves every fid under it ([`Fids::rebase`]); the table is kept with a saved machine
//! state ([`Fids::save`]) so a resumed guest's open files and working folders still resolve.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::wire::Qid;

/// A fid's open state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Open {
    #[default]
    No,
    Read,
    /// Open for writing (and reading): its file's bytes are held until the last writer closes.
    Write,
}

/// One listed folder entry, for `Treaddir`.
#[derive(Clone, Debug)]
pub struct Listed {
    pub name: String,
    pub qid: Qid,
    pub dtype: u8,
}

/// One fid.
#[derive(Clone, Debug, Default)]
pub struct Fid {
    pub path: String,
    pub open: Open,
    /// A folder's entries, read at its first `Treaddir` (offsets index into it).
    pub listing: Option<Vec<Listed>>,
}

/// The fid table.
#[derive(Default)]
pub struct Fids {
    map: HashMap<u32, Fid>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    fid: u32,
    path: String,
    open: Open,
}

impl Fids {
    pub fn get(&self, fid: u32) -> Option<&Fid> {
        self.map.get(&fid)
    }

    pub fn get_mut(&mut self, fid: u32) -> Option<&mut Fid> {
        self.map.get_mut(&fid)
    }

    /// Sets `fid` to a new, closed fid on `path` (replacing one of the same number).
    pub fn put(&mut self, fid: u32, path: String) {
        self.map.insert(
            fid,
            Fid {
                path,
                ..Fid::default()
            },
        );
    }

    pub fn remove(&mut self, fid: u32) -> Option<Fid> {
        self.map.remove(&fid)
    }

    /// True when a fid other than `except` has `path` open for writing.
    pub fn other_writer(&self, path: &str, except: u32) -> bool {
        self.map
            .iter()
            .any(|(n, f)| *n != except && f.open == Open::Write && f.path == path)
    }

    /// Every fid at `from` or under it now names the same place under `to`.
    pub fn rebase(&mut self, from: &str, to: &str) {
        for fid in self.map.values_mut() {
            if let Some(rest) = under(&fid.path, from) {
                fid.path = format!("{to}{rest}");
            }
        }
    }

    /// The table as JSON, to keep with a saved machine state.
    pub fn save(&self) -> String {
        let saved: Vec<Saved> = self
            .map
            .iter()
            .map(|(fid, f)| Saved {
                fid: *fid,
                path: f.path.clone(),
                open: f.open,
            })
            .collect();
        serde_json::to_string(&saved).unwrap_or_else(|_| "[]".into())
    }

    /// A table [`Fids::save`] wrote (an unreadable one is empty).
    pub fn load(json: &str) -> Fids {
        let saved: Vec<Saved> = serde_json::from_str(json).unwrap_or_default();
        Fids {
            map: saved
                .into_iter()
                .map(|s| {
                    let fid = Fid {
                        path: s.path,
                        open: s.open,
                        listing: None,
                    };
                    (s.fid, fid)
                })
                .collect(),
        }
    }
}

/// The part of `path` after `dir` when `path` is `dir` or inside it (`""` for `dir` itself).
pub fn under<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(dir)?;
    (rest.is_empty() || rest.starts_with('/') || dir == "/").then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rename_moves_the_fids_under_it_and_only_those() {
        let mut fids = Fids::default();
        fids.put(1, "/files/a".into());
        fids.put(2, "/files/a/b.txt".into());
        fids.put(3, "/files/ab".into());
        fids.rebase("/files/a", "/files/z");
        assert_eq!(fids.get(1).unwrap().path, "/files/z");
        assert_eq!(fids.get(2).unwrap().path, "/files/z/b.txt");
        assert_eq!(fids.get(3).unwrap().path, "/files/ab");
    }

    #[test]
    fn the_table_survives_a_save_and_load() {
        let mut fids = Fids::default();
        fids.put(7, "/files/notes.txt".into());
        fids.get_mut(7).unwrap().open = Open::Write;
        let back = Fids::load(&fids.save());
        assert_eq!(back.get(7).unwrap().path, "/files/notes.txt");
        assert_eq!(back.get(7).unwrap().open, Open::Write);
        assert!(back.other_writer("/files/notes.txt", 1));
        assert!(Fids::load("not json").get(7).is_none());
    }
}
