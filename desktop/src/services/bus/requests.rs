//! Requests answered by one reply: [`BusClient::send_request`] and its variants, and
//! [`PendingReply`], a request on its way whose id is known before its answer. Typed replies and
//! raw payloads are read in the text form of SPEC §5; [`BusClient::exchange`] is for the callers
//! that send or receive bytes beside the payload (binary frames, `aether_shared::frame`).
//!
//! Every request id of this page is minted here (through `request_id`), never by a caller: a
//! caller that needs the id (to cancel the request, say) reads it from the [`PendingReply`]. The
//! request is settled by its reply or an error topic with its id (see `pending`), its timeout,
//! or the connection dropping, whichever comes first.

use std::marker::PhantomData;

use aether_shared::envelope::REQUEST_ID_FIELD;
use aether_shared::{BusRequest, Bytes, Correlated, Envelope, Payload, Topic, frame};
use futures_channel::oneshot;
use serde::de::DeserializeOwned;

use super::client::{BusClient, InFlight};
use super::connection;
use super::error::BusError;
use super::options::RequestOptions;
use super::pending::Expectation;

/// What settles a request: its reply envelope or why it failed.
type Answer = oneshot::Receiver<Result<Envelope, BusError>>;

/// A request sent (or refused before sending), waiting for its reply.
#[must_use = "a request's reply is read with `reply().await`"]
pub struct PendingReply<T> {
    request_id: String,
    topic: &'static str,
    answer: Result<Answer, BusError>,
    reply: PhantomData<T>,
}

impl<T: DeserializeOwned> PendingReply<T> {
    /// The request's `_request_id` (what `ai.cancel` names, for instance).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The typed reply. Errors as [`BusClient::send_request`].
    pub async fn reply(self) -> Result<T, BusError> {
        let topic = self.topic;
        let envelope = self.answer?.await.unwrap_or(Err(BusError::Dropped {
            topic: topic.to_owned(),
        }))?;
        frame::into_text(envelope)
            .decode::<Correlated<T>>()
            .map(|correlated| correlated.body)
            .map_err(|e| BusError::BadReply {
                topic: topic.to_owned(),
                why: e.to_string(),
            })
    }
}

impl BusClient {
    /// Sends `request` and waits for its typed reply.
    ///
    /// Errors: [`BusError::Remote`] when the kernel answers on the error topic (early, without
    /// waiting for the timeout); `timeout` when no answer comes within `timeout_ms` or the
    /// connection drops first; `backend_unavailable` when not connected (nothing was sent).
    pub async fn send_request<R: BusRequest>(
        &self,
        request: &R,
        timeout_ms: u32,
    ) -> Result<R::Reply, BusError> {
        self.call(request, RequestOptions::timeout(timeout_ms))
            .reply()
            .await
    }

    /// [`BusClient::send_request`] addressed `to` a client or session (the relay, SPEC §3).
    pub async fn send_request_to<R: BusRequest>(
        &self,
        request: &R,
        to: &str,
        timeout_ms: u32,
    ) -> Result<R::Reply, BusError> {
        let options = RequestOptions {
            to: Some(to.to_owned()),
            ..RequestOptions::timeout(timeout_ms)
        };
        self.call(request, options).reply().await
    }

    /// Sends `request` now with `options`; the reply is read later from the [`PendingReply`],
    /// which knows the request id at once. Dropping it leaves the request to end by itself.
    pub fn call<R: BusRequest>(
        &self,
        request: &R,
        options: RequestOptions,
    ) -> PendingReply<R::Reply> {
        let (request_id, answer) = self.begin_typed(request, None, options);
        PendingReply {
            request_id,
            topic: R::TOPIC,
            answer,
            reply: PhantomData,
        }
    }

    /// Sends `request` without waiting for its reply (reports that need no answer); returns
    /// its request id. Errors with `backend_unavailable` when not connected.
    pub fn post<R: BusRequest>(&self, request: &R) -> Result<String, BusError> {
        let request_id = self.next_request_id();
        self.publish(Envelope::request(request, &request_id))?;
        Ok(request_id)
    }

    /// Sends a request known only by its topic (the devtools hook) and returns the reply payload.
    ///
    /// The reply is the catalog's `:ack` or `:resp` for `topic`, or either for a topic the
    /// catalog does not know. Errors as [`BusClient::send_request`], plus [`BusError::Invalid`]
    /// for a topic that breaks the grammar.
    pub async fn request_raw(
        &self,
        topic: &str,
        mut payload: Payload,
        options: RequestOptions,
    ) -> Result<Payload, BusError> {
        let topic = Topic::parse(topic)?;
        let request_id = self.next_request_id();
        payload.insert(REQUEST_ID_FIELD.to_owned(), request_id.clone().into());
        let expectation = Expectation::for_topic(&topic);
        let name = topic.to_string();
        let mut envelope = Envelope::new(topic);
        envelope.payload = Some(payload);
        envelope.to = options.to;
        let answer = self.begin(
            envelope,
            &request_id,
            expectation,
            options.timeout_ms,
            options.silent,
        )?;
        let reply = answer
            .await
            .unwrap_or(Err(BusError::Dropped { topic: name }))?;
        Ok(frame::into_text(reply).payload.unwrap_or_default())
    }

    /// Sends `request` with `bytes` beside it (a binary frame when the kernel agreed to them,
    /// else its text form) and resolves with the reply envelope as it arrived, bytes and all: for
    /// the callers that move file bytes (`vfs::remote`). Errors as [`BusClient::send_request`].
    pub async fn exchange<R: BusRequest>(
        &self,
        request: &R,
        bytes: Option<Bytes>,
        options: RequestOptions,
    ) -> Result<Envelope, BusError> {
        let (_, answer) = self.begin_typed(request, bytes, options);
        answer?.await.unwrap_or(Err(BusError::Dropped {
            topic: R::TOPIC.to_owned(),
        }))
    }

    /// True when this connection takes and sends binary frames (its `kernel.hello` said so).
    pub fn binary_frames(&self) -> bool {
        connection::binary_frames(self.shared())
    }

    /// Registers the request and sends it; the receiver hears whatever settles it first: its
    /// reply, an error topic, its timeout, or the connection dropping.
    /// Sends a typed `request` (with `bytes` beside it, if any) as `options` say; its request
    /// id, and the answer to come (or why nothing was sent).
    fn begin_typed<R: BusRequest>(
        &self,
        request: &R,
        bytes: Option<Bytes>,
        options: RequestOptions,
    ) -> (String, Result<Answer, BusError>) {
        let request_id = self.next_request_id();
        let mut envelope = Envelope::request(request, &request_id);
        envelope.to = options.to;
        envelope.bytes = bytes;
        let answer = self.begin(
            envelope,
            &request_id,
            Expectation::typed::<R>(),
            options.timeout_ms,
            options.silent,
        );
        (request_id, answer)
    }

    fn begin(
        &self,
        envelope: Envelope,
        request_id: &str,
        expectation: Expectation,
        timeout_ms: u32,
        silent: bool,
    ) -> Result<Answer, BusError> {
        let topic = envelope.topic.to_string();
        if !self.state_untracked().is_connected() {
            return Err(BusError::NotConnected { topic });
        }
        let (tx, rx) = oneshot::channel();
        let timer = connection::expiry_timer(self.shared(), request_id.to_owned(), timeout_ms);
        self.shared().inner.borrow_mut().pending.insert(
            request_id.to_owned(),
            expectation,
            InFlight {
                tx,
                topic: topic.clone(),
                timer,
                silent,
            },
        );
        if !connection::send(self.shared(), envelope) {
            self.shared().inner.borrow_mut().pending.remove(request_id);
            return Err(BusError::NotConnected { topic });
        }
        Ok(rx)
    }
}
