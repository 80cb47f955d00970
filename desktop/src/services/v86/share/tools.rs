//! The guest's tools (git, Python, curl and their libraries), read-only and loaded lazily: an
//! index `cargo xtask` wrote (`tools-<hash>.json`, named in the manifest) lists every folder,
//! file and link of the tree; a file's bytes are fetched from the kernel (`/v86/tools/t-<hash>.bin`,
//! immutable) the first time the guest reads it, then kept for the page's life. So the tools
//! cost the boot nothing, and `python3` fetches only the modules it imports.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use serde::Deserialize;

use super::Errno;
use super::tree::{Kind, Node, Tree};

/// Fetches a URL's bytes.
#[allow(async_fn_in_trait)]
pub trait Fetch {
    async fn get(&self, url: &str) -> Result<Vec<u8>, String>;
}

/// One line of the index (see `xtask/src/guest_image`'s tools module).
#[derive(Clone, Debug, Deserialize)]
struct Line {
    /// The path, relative to the tree's root.
    p: String,
    /// `d`, `f` or `l`.
    k: String,
    #[serde(default)]
    m: Option<u32>,
    #[serde(default)]
    s: u64,
    /// A file's blob URL.
    #[serde(default)]
    b: Option<String>,
    /// A link's target.
    #[serde(default)]
    t: Option<String>,
}

#[derive(Deserialize)]
struct IndexFile {
    entries: Vec<Line>,
}

/// An entry of the tree: its node, and a file's blob URL.
#[derive(Clone, Debug)]
struct Item {
    node: Node,
    blob: Option<String>,
}

/// The index, by absolute path, and each folder's children.
#[derive(Default)]
pub struct Index {
    items: HashMap<String, Item>,
    children: BTreeMap<String, Vec<String>>,
}

impl Index {
    /// Reads the index's JSON.
    pub fn parse(text: &str) -> Result<Index, String> {
        let file: IndexFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut index = Index::default();
        index.items.insert("/".into(), dir_item(""));
        for line in file.entries {
            let path = format!("/{}", line.p.trim_matches('/'));
            let (parent, name) = match path.rfind('/') {
                Some(0) => ("/".to_owned(), path[1..].to_owned()),
                Some(i) => (path[..i].to_owned(), path[i + 1..].to_owned()),
                None => continue,
            };
            let kind = match line.k.as_str() {
                "d" => Kind::Dir,
                "f" => Kind::File,
                "l" => Kind::Link(line.t.clone().unwrap_or_default()),
                other => return Err(format!("`{}` has an unknown kind `{other}`", line.p)),
            };
            let node = Node {
                name: name.clone(),
                kind,
                size: line.s,
                mtime_ms: 0,
                mode: line.m,
            };
            index.children.entry(parent).or_default().push(name);
            index.items.insert(path, Item { node, blob: line.b });
        }
        Ok(index)
    }
}

fn dir_item(name: &str) -> Item {
    Item {
        node: Node {
            name: name.to_owned(),
            kind: Kind::Dir,
            size: 0,
            mtime_ms: 0,
            mode: Some(0o755),
        },
        blob: None,
    }
}

/// The tools tree: its index (fetched on first use) and the file bytes fetched so far.
pub struct Tools<F: Fetch> {
    index_url: String,
    fetch: F,
    index: RefCell<Option<Rc<Index>>>,
    blobs: RefCell<HashMap<String, Rc<Vec<u8>>>>,
}

impl<F: Fetch> Tools<F> {
    pub fn new(index_url: String, fetch: F) -> Tools<F> {
        Tools {
            index_url,
            fetch,
            index: RefCell::new(None),
            blobs: RefCell::new(HashMap::new()),
        }
    }

    async fn index(&self) -> Result<Rc<Index>, Errno> {
        if let Some(index) = self.index.borrow().as_ref() {
            return Ok(Rc::clone(index));
        }
        let bytes = self.fetch.get(&self.index_url).await.map_err(|e| {
            warn(&format!("the guest's tools are unavailable: {e}"));
            Errno::IO
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let index = Rc::new(Index::parse(&text).map_err(|e| {
            warn(&format!("the guest's tools index is unreadable: {e}"));
            Errno::IO
        })?);
        *self.index.borrow_mut() = Some(Rc::clone(&index));
        Ok(index)
    }

    async fn blob(&self, url: &str) -> Result<Rc<Vec<u8>>, Errno> {
        if let Some(bytes) = self.blobs.borrow().get(url) {
            return Ok(Rc::clone(bytes));
        }
        let bytes = Rc::new(self.fetch.get(url).await.map_err(|e| {
            warn(&format!("a file of the guest's tools did not load: {e}"));
            Errno::IO
        })?);
        self.blobs
            .borrow_mut()
            .insert(url.to_owned(), Rc::clone(&bytes));
        Ok(bytes)
    }
}

fn warn(message: &str) {
    if cfg!(target_arch = "wasm32") {
        web_sys::console::warn_1(&format!("aether: {message}").into());
    }
}

impl<F: Fetch> Tree for Tools<F> {
    async fn stat(&self, path: &str) -> Result<Option<Node>, Errno> {
        Ok(self.index().await?.items.get(path).map(|i| i.node.clone()))
    }

    async fn list(&self, path: &str) -> Result<Vec<Node>, Errno> {
        let index = self.index().await?;
        let Some(item) = index.items.get(path) else {
            return Err(Errno::NOENT);
        };
        if item.node.kind != Kind::Dir {
            return Err(Errno::NOTDIR);
        }
        let names = index.children.get(path).map(Vec::as_slice).unwrap_or(&[]);
        let base = if path == "/" { "" } else { path };
        Ok(names
            .iter()
            .filter_map(|n| index.items.get(&format!("{base}/{n}")))
            .map(|i| i.node.clone())
            .collect())
    }

    async fn read(&self, path: &str, offset: u64, length: u64) -> Result<Vec<u8>, Errno> {
        let index = self.index().await?;
        let item = index.items.get(path).ok_or(Errno::NOENT)?;
        if item.node.kind == Kind::Dir {
            return Err(Errno::ISDIR);
        }
        let Some(url) = &item.blob else {
            return Ok(Vec::new());
        };
        let bytes = self.blob(url).await?;
        let start = (offset as usize).min(bytes.len());
        let end = start.saturating_add(length as usize).min(bytes.len());
        Ok(bytes[start..end].to_vec())
    }

    async fn write(&self, _: &str, _: &[u8]) -> Result<u64, Errno> {
        Err(Errno::ROFS)
    }
    async fn mkdir(&self, _: &str) -> Result<(), Errno> {
        Err(Errno::ROFS)
    }
    async fn delete(&self, _: &str) -> Result<(), Errno> {
        Err(Errno::ROFS)
    }
    async fn rename(&self, _: &str, _: &str) -> Result<(), Errno> {
        Err(Errno::ROFS)
    }
}

/// Fetches with the page's `fetch` (gloo-net).
pub struct PageFetch;

impl Fetch for PageFetch {
    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        let response = gloo_net::http::Request::get(url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !response.ok() {
            return Err(format!("{url} answered {}", response.status()));
        }
        response.binary().await.map_err(|e| format!("{url}: {e}"))
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Blobs by URL; counts the fetches.
    #[derive(Default)]
    pub struct MapFetch {
        pub files: HashMap<String, Vec<u8>>,
        pub fetched: RefCell<Vec<String>>,
    }

    impl Fetch for MapFetch {
        async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
            self.fetched.borrow_mut().push(url.to_owned());
            self.files
                .get(url)
                .cloned()
                .ok_or_else(|| format!("{url}: 404"))
        }
    }

    pub const INDEX: &str = r#"{"entries": [
        {"p": "usr", "k": "d", "m": 493},
        {"p": "usr/bin", "k": "d", "m": 493},
        {"p": "usr/bin/python3.11", "k": "f", "m": 493, "s": 5, "b": "/v86/tools/t-1.bin"},
        {"p": "usr/bin/python3", "k": "l", "t": "python3.11"}
    ]}"#;

    pub fn tools() -> Tools<MapFetch> {
        let mut fetch = MapFetch::default();
        fetch.files.insert("/idx".into(), INDEX.as_bytes().to_vec());
        fetch
            .files
            .insert("/v86/tools/t-1.bin".into(), b"\x7fELF!".to_vec());
        Tools::new("/idx".into(), fetch)
    }

    #[test]
    fn the_index_lists_folders_files_and_links_and_bytes_load_once() {
        super::super::run(async {
            let t = tools();
            let names: Vec<String> = t
                .list("/usr/bin")
                .await
                .unwrap()
                .into_iter()
                .map(|n| n.name)
                .collect();
            assert_eq!(names, ["python3.11", "python3"]);
            let link = t.stat("/usr/bin/python3").await.unwrap().unwrap();
            assert_eq!(link.kind, Kind::Link("python3.11".into()));
            assert_eq!(t.read("/usr/bin/python3.11", 1, 3).await.unwrap(), b"ELF");
            assert_eq!(t.read("/usr/bin/python3.11", 4, 9).await.unwrap(), b"!");
            assert_eq!(
                *t.fetch.fetched.borrow(),
                ["/idx", "/v86/tools/t-1.bin"],
                "the index and each blob are fetched once"
            );
            assert_eq!(t.write("/usr/x", b"").await, Err(Errno::ROFS));
            assert_eq!(t.stat("/nope").await, Ok(None));
        });
    }
}
