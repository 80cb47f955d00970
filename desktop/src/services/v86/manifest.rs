//! `/v86/manifest.json`: the hashed names of the files `cargo xtask` placed for the x86 machine
//! and the Terminal (v86, the guest, xterm.js), fetched once per page.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_net::http::Request;
use serde::Deserialize;

/// Where the manifest is served.
pub const URL: &str = "/v86/manifest.json";

/// The manifest's fields (URLs under `/v86/`).
#[derive(Clone, Debug, Deserialize)]
pub struct Manifest {
    pub worker: String,
    pub libv86: String,
    pub wasm: String,
    pub bios: String,
    pub bzimage: String,
    pub initrd: String,
    pub cmdline: String,
    pub ready_marker: String,
    pub xterm_js: String,
    pub xterm_css: String,
    pub fit_js: String,
    /// The index of the guest's tools (absent from builds without them).
    #[serde(default)]
    pub tools: Option<String>,
}

thread_local! {
    static LOADED: RefCell<Option<Rc<Manifest>>> = const { RefCell::new(None) };
}

/// The manifest, fetched on first use.
pub async fn load() -> Result<Rc<Manifest>, String> {
    if let Some(m) = LOADED.with(|l| l.borrow().clone()) {
        return Ok(m);
    }
    let response = Request::get(URL)
        .send()
        .await
        .map_err(|e| format!("{URL}: {e}"))?;
    if !response.ok() {
        return Err(format!("{URL} answered {}", response.status()));
    }
    let text = response.text().await.map_err(|e| format!("{URL}: {e}"))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| format!("{URL}: {e}"))?;
    let manifest = Rc::new(manifest);
    LOADED.with(|l| *l.borrow_mut() = Some(Rc::clone(&manifest)));
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_xtask_writes_parses() {
        let text = r#"{"worker":"/v86/w.js","libv86":"/v86/l.js","wasm":"/v86/v.wasm",
            "bios":"/v86/b.bin","bzimage":"/v86/k.bin","initrd":"/v86/i.img",
            "cmdline":"console=ttyS0","ready_marker":"ready","xterm_js":"/v86/x.js",
            "xterm_css":"/v86/x.css","fit_js":"/v86/f.js"}"#;
        let m: Manifest = serde_json::from_str(text).unwrap();
        assert_eq!(m.cmdline, "console=ttyS0");
    }
}
