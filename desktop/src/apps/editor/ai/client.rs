//! [`AiClient`]: the Editor's requests to the kernel's `ai.*` service, each sent with a request
//! id of our own so its stream (`ai.chunk`…, then `ai.done` or `ai.error`) and its cancel can be
//! matched to it. One local `ai.*` listener routes every answer to the handler of its id; a
//! handler is dropped when its request ends. Never renders.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use aether_shared::ai::{CHUNK, Cancel, Chat, Chunk, Complete, Completion, DONE, Done, Message};
use aether_shared::{BusRequest as _, Envelope, ErrorCode, ErrorPayload, Pattern};

use crate::services::bus::{BusClient, SubscriptionHandle};
use crate::shell::toasts::SILENT_REQUEST_PREFIX;

/// Something the kernel said about one AI request.
#[derive(Clone, Debug, PartialEq)]
pub enum AiEvent {
    Chunk(String),
    Done(Done),
    Completion(String),
    Failed(ErrorPayload),
}

type Handler = Rc<dyn Fn(AiEvent)>;

/// The Editor window's AI requests (cheap to clone).
#[derive(Clone)]
pub struct AiClient {
    bus: BusClient,
    handlers: Rc<RefCell<HashMap<String, Handler>>>,
    listener: Rc<RefCell<Option<SubscriptionHandle>>>,
    prefix: String,
    next: Rc<RefCell<u32>>,
}

impl AiClient {
    /// A client for window `window`; starts routing at once.
    pub fn new(bus: BusClient, window: u32) -> AiClient {
        let client = AiClient {
            bus: bus.clone(),
            handlers: Rc::default(),
            listener: Rc::default(),
            prefix: format!("editor-{window}-ai-"),
            next: Rc::default(),
        };
        let handlers = Rc::clone(&client.handlers);
        let pattern = Pattern::parse("ai.*").expect("`ai.*` is a valid pattern");
        let handle = bus.on(pattern, move |envelope| route(&handlers, envelope));
        *client.listener.borrow_mut() = Some(handle);
        client
    }

    /// Stops routing (the window is closing) and cancels what still runs.
    pub fn stop(&self) {
        if let Some(handle) = self.listener.borrow_mut().take() {
            self.bus.off(handle);
        }
        let ids: Vec<String> = self.handlers.borrow_mut().drain().map(|(id, _)| id).collect();
        for id in ids {
            self.cancel(&id);
        }
    }

    fn fresh_id(&self, silent: bool) -> String {
        let mut next = self.next.borrow_mut();
        *next += 1;
        let entropy = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
        let quiet = if silent { SILENT_REQUEST_PREFIX } else { "" };
        format!("{quiet}{}{}-{entropy:x}", self.prefix, *next)
    }

    fn send<R: aether_shared::BusRequest>(
        &self,
        request: &R,
        silent: bool,
        on: impl Fn(AiEvent) + 'static,
    ) -> String {
        let id = self.fresh_id(silent);
        self.handlers.borrow_mut().insert(id.clone(), Rc::new(on));
        if let Err(e) = self.bus.publish(Envelope::request(request, &id)) {
            let handler = self.handlers.borrow_mut().remove(&id);
            if let Some(handler) = handler {
                handler(AiEvent::Failed(ErrorPayload::new(e.code(), e.to_string())));
            }
        }
        id
    }

    /// Starts a chat; `on` hears its chunks and its end. Returns the request id.
    pub fn chat(&self, messages: Vec<Message>, on: impl Fn(AiEvent) + 'static) -> String {
        self.send(&Chat { messages, model: None }, false, on)
    }

    /// Asks for an inline completion; `on` hears the text or the failure (which is not toasted:
    /// the user did not ask for it). Returns the id.
    pub fn complete(&self, request: Complete, on: impl Fn(AiEvent) + 'static) -> String {
        self.send(&request, true, on)
    }

    /// Cancels request `id` (its handler hears `cancelled` from the kernel, if still there).
    pub fn cancel(&self, id: &str) {
        let cancel = Cancel {
            request_id: id.to_owned(),
        };
        let cancel_id = self.fresh_id(true);
        let _ = self.bus.publish(Envelope::request(&cancel, &cancel_id));
    }

}

/// Hands an `ai.*` envelope to the handler of its request id; ends the handler on the end.
fn route(handlers: &Rc<RefCell<HashMap<String, Handler>>>, envelope: &Envelope) {
    let Some(id) = envelope.request_id() else { return };
    let Some(handler) = handlers.borrow().get(id).cloned() else {
        return;
    };
    let (event, last) = match envelope.topic.as_str() {
        CHUNK => match envelope.decode::<Chunk>() {
            Ok(chunk) => (AiEvent::Chunk(chunk.delta), false),
            Err(_) => return,
        },
        DONE => (AiEvent::Done(envelope.decode::<Done>().unwrap_or_default()), true),
        topic if topic == Complete::reply_topic().as_str() => (
            AiEvent::Completion(envelope.decode::<Completion>().map(|c| c.text).unwrap_or_default()),
            true,
        ),
        "ai.error" => (
            AiEvent::Failed(envelope.decode::<ErrorPayload>().unwrap_or_else(|e| {
                ErrorPayload::new(ErrorCode::Internal, format!("an unreadable ai.error: {e}"))
            })),
            true,
        ),
        _ => return,
    };
    if last {
        handlers.borrow_mut().remove(id);
    }
    handler(event);
}
