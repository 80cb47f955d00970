//! The Files app's doors to the computer: reading picked or dropped files and saving bytes as
//! a download.
//!
//! Browser glue only; what to do with the bytes is decided by the caller.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

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
