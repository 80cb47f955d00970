//! One WebSocket connection to the hub, reduced to the two events the client cares about.
//!
//! [`Socket`] owns the browser `WebSocket` and the JS closures wired to it; dropping it detaches
//! the handlers and closes the socket, so a stale connection can never call back into the
//! client. It knows nothing of envelopes, requests or reconnects (see `connection`).

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// What the socket reports.
#[derive(Debug)]
pub enum SocketEvent {
    /// A text frame (binary frames are not part of the protocol and are ignored).
    Text(String),
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
    /// Starts connecting to `url`; `on_event` hears every frame and the final close.
    ///
    /// Errors with the browser's reason when the URL is refused outright (bad scheme, bad port).
    pub fn open(url: &str, on_event: impl Fn(SocketEvent) + 'static) -> Result<Socket, String> {
        let ws = WebSocket::new(url).map_err(|e| format!("{e:?}"))?;
        let on_event = Rc::new(on_event);
        let on_text = Rc::clone(&on_event);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(text) = event.data().as_string() {
                on_text(SocketEvent::Text(text));
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
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}
