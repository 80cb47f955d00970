//! The Files app's doors to the computer: reading picked or dropped files, saving bytes as a
//! download, and telling the desktop that a file should be opened.
//!
//! Browser glue only; what to do with the bytes is decided by the caller.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The DOM event the Open action dispatches on `window` (`detail: {path, sessionId}`), for the
/// Editor app once it exists.
pub const OPEN_FILE_EVENT: &str = "aether:open-file";

/// The files of `list`, taken now: a `FileList` is live (clearing its input empties it) and a
/// drop's `DataTransfer` is unreadable once the event is over.
pub fn take_files(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length()).filter_map(|i| list.item(i)).collect()
}

/// The name and bytes of every file in `files`.
pub async fn read_files(files: Vec<web_sys::File>) -> Vec<(String, Result<Vec<u8>, String>)> {
    let mut out = Vec::new();
    for file in files {
        let bytes = JsFuture::from(file.array_buffer())
            .await
            .map(|buffer| js_sys::Uint8Array::new(&buffer).to_vec())
            .map_err(|e| format!("{e:?}"));
        out.push((file.name(), bytes));
    }
    out
}

/// Offers `bytes` to the user as a download named `name`.
pub fn download(name: &str, bytes: &[u8], mime: &str) -> Result<(), JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let anchor: web_sys::HtmlAnchorElement = document.create_element("a")?.unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url)
}

/// Announces that `path` should be opened (see [`OPEN_FILE_EVENT`]).
pub fn announce_open(path: &str, session_id: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let detail = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&detail, &"path".into(), &path.into());
    let _ = js_sys::Reflect::set(&detail, &"sessionId".into(), &session_id.into());
    let init = web_sys::CustomEventInit::new();
    init.set_detail(&detail);
    if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict(OPEN_FILE_EVENT, &init) {
        let _ = window.dispatch_event(&event);
    }
}
