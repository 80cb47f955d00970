//! [`AiClient`]: the Editor window's requests to the kernel's `ai.*` service. A chat is a typed
//! stream (`BusClient::stream::<Chat>`: `ai.chunk`s, then `ai.done` or `ai.error`); an inline
//! completion is a silent request (the user did not ask for it, so its failure is not toasted)
//! whose id is known at once, so Monaco's cancellation can name it in `ai.cancel`. The client
//! remembers what is in flight so a closing window cancels it. A chat and a completion name the
//! model chosen in Settings (this browser's `Preferences`), if any. Never renders.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::rc::Rc;

use aether_shared::ai::{Cancel, Chat, ChatEvent, Complete, Completion, Message};
use leptos::prelude::{GetUntracked, use_context};
use leptos::task::spawn_local;

use crate::services::bus::{BusClient, BusError, RequestOptions, StreamHandle, StreamOptions};
use crate::services::preferences::Preferences;

/// How long an inline completion may take, in milliseconds (the provider answers a whole
/// completion at once, after its own time to think).
const COMPLETE_TIMEOUT_MS: u32 = 60_000;

/// The Editor window's AI requests (cheap to clone).
#[derive(Clone)]
pub struct AiClient {
    bus: BusClient,
    /// Chats whose answer still streams, by request id.
    chats: Rc<RefCell<HashMap<String, StreamHandle>>>,
    /// Completions waiting for their answer, by request id.
    completing: Rc<RefCell<HashSet<String>>>,
    /// This browser's preferences (the model a chat names).
    preferences: Option<Preferences>,
}

impl AiClient {
    pub fn new(bus: BusClient) -> AiClient {
        AiClient {
            bus,
            chats: Rc::default(),
            completing: Rc::default(),
            preferences: use_context::<Preferences>(),
        }
    }

    /// Starts a chat; `on` hears its events, ending with `Done` or `Failed`. Returns the
    /// request id (for [`AiClient::cancel`]), or why nothing was sent.
    pub fn chat(
        &self,
        messages: Vec<Message>,
        on: impl Fn(ChatEvent) + 'static,
    ) -> Result<String, BusError> {
        let chats = Rc::clone(&self.chats);
        let request = Chat {
            messages,
            model: self.preferences.and_then(|p| p.model.get_untracked()),
        };
        let stream = self
            .bus
            .stream(&request, StreamOptions::default(), move |event| {
                let last = matches!(event, ChatEvent::Done(_) | ChatEvent::Failed(_));
                on(event);
                if last {
                    chats.borrow_mut().retain(|_, stream| stream.is_open());
                }
            })?;
        let id = stream.request_id().to_owned();
        self.chats.borrow_mut().insert(id.clone(), stream);
        Ok(id)
    }

    /// Asks for an inline completion (naming the model of Settings, if any): its request id
    /// now, and the answer when it comes.
    pub fn complete(
        &self,
        request: Complete,
    ) -> (String, impl Future<Output = Result<Completion, BusError>> + 'static) {
        let request = Complete {
            model: self.preferences.and_then(|p| p.model.get_untracked()),
            ..request
        };
        let call = self.bus.call(
            &request,
            RequestOptions::timeout(COMPLETE_TIMEOUT_MS).silent(),
        );
        let id = call.request_id().to_owned();
        self.completing.borrow_mut().insert(id.clone());
        let (completing, key) = (Rc::clone(&self.completing), id.clone());
        let answer = async move {
            let answer = call.reply().await;
            completing.borrow_mut().remove(&key);
            answer
        };
        (id, answer)
    }

    /// Cancels request `id`: it then ends with `ai.error {code: cancelled}`, which is no error
    /// to show. The cancel is silent (the request may have ended meanwhile: `not_found`).
    pub fn cancel(&self, id: &str) {
        let bus = self.bus.clone();
        let cancel = Cancel {
            request_id: id.to_owned(),
        };
        spawn_local(async move {
            let _ = bus
                .call(&cancel, RequestOptions::default().silent())
                .reply()
                .await;
        });
    }

    /// Cancels everything still in flight (the window is closing); the chats' events stop.
    pub fn stop(&self) {
        let chats: Vec<String> = self.chats.borrow_mut().drain().map(|(id, _)| id).collect();
        let completing: Vec<String> = self.completing.borrow_mut().drain().collect();
        for id in chats.iter().chain(&completing) {
            self.cancel(id);
        }
    }
}
