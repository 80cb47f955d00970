//! One WebSocket connection to the hub, reduced to the events the client cares about.
//!
//! [`Socket`] owns the browser `WebSocket` and the JS closures wired to it; dropping it detaches
//! the handlers and closes the socket, so a stale connection can never call back into the
//! client. It always asks for binary frames (the `aether.binary` subprotocol, SPEC §1 binary
//! frames) and reads them as `ArrayBuffer`s; whether the kernel agreed is in `kernel.hello`. It
//! knows nothing of envelopes, requests or reconnects (see `connection`).

use std::rc::Rc;

use aether_shared::frame::SUBPROTOCOL;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

/// What the socket reports.
#[derive(Debug)]
pub enum SocketEvent {
    /// A text frame.
    Text(String),
    /// A binary frame, copied out of its `ArrayBuffer`.
    Binary(Vec<u8>),
    /// The connection closed or never opened (the browser reports both as `close`).
    Closed { code: u16, reason: String },
}

/// An open (or opening) WebSocket with its event handlers.
pub struct Socket {
    ws: WebSocket,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Starts connecting to `url`, asking for binary frames; `on_event` hears every frame and the
    /// final close.
    ///
    /// Errors with the browser's reason when the URL is refused outright (bad scheme, bad port).
    pub fn open(url: &str, on_event: impl Fn(SocketEvent) + 'static) -> Result<Socket, String> {
        let ws = WebSocket::new_with_str(url, SUBPROTOCOL).map_err(|e| format!("{e:?}"))?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let on_event = Rc::new(on_event);
        let on_frame = Rc::clone(&on_event);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            if let Some(text) = data.as_string() {
                on_frame(SocketEvent::Text(text));
            } else if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
                on_frame(SocketEvent::Binary(Uint8Array::new(buffer).to_vec()));
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            on_event(SocketEvent::Closed {
                code: event.code(),
                reason: event.reason(),
            });
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Sends one text frame; false when the socket is not open or the browser refused it.
    pub fn send(&self, text: &str) -> bool {
        self.ws.ready_state() == WebSocket::OPEN && self.ws.send_with_str(text).is_ok()
    }

    /// Sends one binary frame; false when the socket is not open or the browser refused it.
    pub fn send_binary(&self, frame: &[u8]) -> bool {
        self.ws.ready_state() == WebSocket::OPEN && self.ws.send_with_u8_array(frame).is_ok()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}
