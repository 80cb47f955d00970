//! The one shape of a request handler, shared by every service: [`serve`] decodes the typed
//! request (a payload that breaks the contract is `bad_request`), runs the handler, and answers
//! with what it returned: its reply on the request's reply topic, or its [`ServiceError`] on the
//! namespace's error topic (counted under its code in `kernel.stats`). A handler that streams
//! returns its acknowledgement and what to start once the acknowledgement is on its way
//! ([`Answer::ReplyThen`]), so no stream message can overtake it; a handler whose reply comes
//! later hands the request on ([`Answer::Later`]).
//!
//! Error types say their code and their sentence here (the [`ServiceError`] trait); nothing in a
//! service builds an [`ErrorPayload`] by hand. This module never decides what a request means:
//! it only carries requests in and answers out.

use std::convert::Infallible;

use aether_shared::{BusRequest, Envelope, ErrorCode, ErrorPayload};

use crate::bus::Bus;

/// An error a service answers a request with: its SPEC §4 code, its sentence (`Display`, saying
/// what to do next) and the details its code promises (`limit`, `value`, `pid`, …).
pub trait ServiceError: std::error::Error {
    /// The wire code.
    fn code(&self) -> ErrorCode;

    /// Adds this error's details to `error`; none by default.
    fn details(&self, error: ErrorPayload) -> ErrorPayload {
        error
    }

    /// The payload of the error topic: code, sentence and details.
    fn to_payload(&self) -> ErrorPayload {
        self.details(ErrorPayload::new(self.code(), self.to_string()))
    }
}

/// A request no handler can take: its payload breaks the contract, or its topic has no handler.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRequest {
    #[error("{0}; fix the payload and resend.")]
    Payload(String),
    #[error("No handler for `{0}`; see SPEC §5 for the topics of this namespace.")]
    UnknownTopic(String),
}

impl ServiceError for InvalidRequest {
    fn code(&self) -> ErrorCode {
        match self {
            InvalidRequest::Payload(_) => ErrorCode::BadRequest,
            InvalidRequest::UnknownTopic(_) => ErrorCode::UnknownTopic,
        }
    }
}

/// A handler that cannot fail.
impl ServiceError for Infallible {
    fn code(&self) -> ErrorCode {
        match *self {}
    }
}

/// What a handler does with a request it accepted.
pub enum Answer<T> {
    /// Reply now.
    Reply(T),
    /// Reply now, then run this with the request envelope: what must follow the reply, such as
    /// the stream a request opens (every stream message answers the request).
    ReplyThen(T, Box<dyn FnOnce(Envelope)>),
    /// Nothing now: this takes the request envelope and answers it later, reply or error.
    Later(Box<dyn FnOnce(Envelope)>),
}

impl<T> From<T> for Answer<T> {
    fn from(reply: T) -> Answer<T> {
        Answer::Reply(reply)
    }
}

/// Serves one request of type `R`: decodes it, runs `handler` with it and its envelope, and
/// answers with what the handler returned (see [`Answer`]) or with its error.
pub fn serve<R, A, E>(bus: &Bus, env: Envelope, handler: impl FnOnce(R, &Envelope) -> Result<A, E>)
where
    R: BusRequest,
    A: Into<Answer<R::Reply>>,
    E: ServiceError,
{
    let request = match env.decode::<R>() {
        Ok(request) => request,
        Err(e) => return refuse(bus, &env, &InvalidRequest::Payload(e.to_string())),
    };
    match handler(request, &env).map(Into::into) {
        Ok(Answer::Reply(reply)) => bus.reply::<R>(&env, &reply),
        Ok(Answer::ReplyThen(reply, then)) => {
            bus.reply::<R>(&env, &reply);
            then(env);
        }
        Ok(Answer::Later(answer)) => answer(env),
        Err(e) => refuse(bus, &env, &e),
    }
}

/// Serves one request of type `R` with an async handler on a task of its own: the handler gets
/// the request and its envelope, and its reply or error is sent when its future ends.
pub fn serve_async<R, E, Fut>(
    bus: &Bus,
    env: Envelope,
    handler: impl FnOnce(R, &Envelope) -> Fut + Send + 'static,
) where
    R: BusRequest + Send + 'static,
    E: ServiceError + Send + 'static,
    Fut: Future<Output = Result<R::Reply, E>> + Send + 'static,
{
    let answering = bus.clone();
    serve::<R, Answer<R::Reply>, E>(bus, env, move |request, _| {
        Ok(Answer::Later(Box::new(move |env: Envelope| {
            let work = handler(request, &env);
            tokio::spawn(async move {
                match work.await {
                    Ok(reply) => answering.reply::<R>(&env, &reply),
                    Err(e) => refuse(&answering, &env, &e),
                }
            });
        })))
    });
}

/// Answers `env` with `error` on its namespace's error topic, counted under its code.
pub fn refuse(bus: &Bus, env: &Envelope, error: &impl ServiceError) {
    bus.emit_error(env, error.to_payload());
}

/// Answers a topic of a served namespace that has no handler (`unknown_topic`).
pub fn unknown(bus: &Bus, env: &Envelope) {
    refuse(
        bus,
        env,
        &InvalidRequest::UnknownTopic(env.topic.to_string()),
    );
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aether_shared::kernel::{Ping, Pong};
    use aether_shared::vm::{self, Kill};
    use aether_shared::{BusRequest as _, Topic};
    use tokio::sync::mpsc;

    use super::*;
    use crate::bus::{ClientHandle, Queued};
    use crate::guard::Principal;

    /// A bus with one client, `c1`, and what it receives.
    fn bus_with_client() -> (Bus, mpsc::Receiver<Queued>) {
        let bus = Bus::new();
        let (handle, rx) = ClientHandle::new("c1".to_owned(), Principal::Local, 16);
        assert!(bus.attach(Arc::new(handle)));
        (bus, rx)
    }

    /// A request from `c1` with `_request_id: r1`.
    fn request(topic: &'static str, payload: serde_json::Value) -> Envelope {
        let mut env = Envelope::new(Topic::from_static(topic));
        env.from = Some("c1".to_owned());
        let mut payload = payload.as_object().cloned().unwrap_or_default();
        payload.insert("_request_id".into(), "r1".into());
        env.payload = Some(payload);
        env
    }

    fn received(rx: &mut mpsc::Receiver<Queued>) -> Vec<Envelope> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|frame| Envelope::from_json(&frame).unwrap())
            .collect()
    }

    #[derive(Debug, thiserror::Error)]
    #[error("Program {0} is not yours; see `vm.list`.")]
    struct NotYours(u64);

    impl ServiceError for NotYours {
        fn code(&self) -> ErrorCode {
            ErrorCode::NotFound
        }
        fn details(&self, error: ErrorPayload) -> ErrorPayload {
            error.with_detail("pid", self.0)
        }
    }

    #[test]
    fn a_bad_payload_and_an_unknown_topic_say_their_code_and_what_to_do() {
        let bad = InvalidRequest::Payload("`pid` is missing".into()).to_payload();
        assert_eq!(bad.code, ErrorCode::BadRequest);
        assert_eq!(bad.error, "`pid` is missing; fix the payload and resend.");
        assert_eq!(bad.details, None);
        let unknown = InvalidRequest::UnknownTopic("vm.nope".into()).to_payload();
        assert_eq!(unknown.code, ErrorCode::UnknownTopic);
        assert_eq!(
            unknown.error,
            "No handler for `vm.nope`; see SPEC §5 for the topics of this namespace."
        );
    }

    #[test]
    fn a_handlers_reply_goes_to_the_requester_on_the_reply_topic() {
        let (bus, mut rx) = bus_with_client();
        serve::<Ping, _, _>(&bus, request(Ping::TOPIC, serde_json::json!({})), |_, _| {
            Ok::<_, Infallible>(Pong { uptime_ms: 5 })
        });
        let got = received(&mut rx);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].topic.as_str(), Ping::REPLY_TOPIC);
        assert_eq!(got[0].request_id(), Some("r1"));
        assert_eq!(got[0].decode::<Pong>().unwrap().uptime_ms, 5);
    }

    #[test]
    fn a_handlers_error_keeps_its_code_sentence_and_details() {
        let (bus, mut rx) = bus_with_client();
        serve::<Kill, aether_shared::vm::Accepted, _>(
            &bus,
            request(Kill::TOPIC, serde_json::json!({"pid": 7})),
            |kill, _| Err(NotYours(kill.pid)),
        );
        let got = received(&mut rx);
        assert_eq!(got[0].topic.as_str(), vm::ERROR);
        let error = got[0].decode::<ErrorPayload>().unwrap();
        assert_eq!(error.code, ErrorCode::NotFound);
        assert_eq!(error.error, "Program 7 is not yours; see `vm.list`.");
        assert_eq!(error.details.unwrap()["pid"], 7);
        assert_eq!(error.request_id.as_deref(), Some("r1"));
    }

    #[test]
    fn a_payload_that_breaks_the_contract_is_refused_before_the_handler() {
        let (bus, mut rx) = bus_with_client();
        serve::<Kill, aether_shared::vm::Accepted, Infallible>(
            &bus,
            request(Kill::TOPIC, serde_json::json!({"pid": "seven"})),
            |_, _| unreachable!("the handler never sees a bad payload"),
        );
        let error = received(&mut rx)[0].decode::<ErrorPayload>().unwrap();
        assert_eq!(error.code, ErrorCode::BadRequest);
        assert!(error.error.ends_with("; fix the payload and resend."));
    }

    #[test]
    fn a_stream_starts_only_after_its_acknowledgement() {
        let (bus, mut rx) = bus_with_client();
        let stream_bus = bus.clone();
        serve::<Kill, _, Infallible>(
            &bus,
            request(Kill::TOPIC, serde_json::json!({"pid": 1})),
            |_, _| {
                Ok(Answer::ReplyThen(
                    aether_shared::vm::Accepted {},
                    Box::new(move |env: Envelope| {
                        let out = env.reply(Topic::from_static(vm::STDOUT), &serde_json::json!({}));
                        stream_bus.publish_from_kernel(out).unwrap();
                    }),
                ))
            },
        );
        let topics: Vec<String> = received(&mut rx)
            .iter()
            .map(|e| e.topic.to_string())
            .collect();
        assert_eq!(topics, [Kill::REPLY_TOPIC, vm::STDOUT]);
    }
}
