//! `window.aether`: the bus client, reachable from the browser console and end-to-end tests.
//!
//! A thin JS-facing wrapper over [`BusClient`] that converts at the edge: JS objects in and out
//! as JSON, failures as plain error-payload objects (`{code, error, _request_id?}`) so a test
//! can read `.code`. It adds no behaviour of its own and never touches the UI.
//!
//! ```js
//! aether.state()                 // "connecting" | "connected" | "reconnecting" | "offline"
//! aether.clientId()              // "c-1a2b" or null
//! await aether.request("kernel.ping", {}, { timeoutMs: 2000 })  // → { _request_id, uptime_ms }
//! await aether.request("kernel.nope", {}, { silent: true })     // rejects, and shows no toast
//! const h = aether.subscribe("vm.*", env => console.log(env));   // → number
//! aether.unsubscribe(h)
//! const local = aether.on("vm.*", env => {})  // this page's own envelopes, no kernel subscription
//! aether.publish("task.event", { run_id: "x" })
//! ```

use aether_shared::{ContractError, Envelope, Pattern, Payload, Topic};
use js_sys::{Function, JSON, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::services::bus::{
    BusClient, BusError, DEFAULT_TIMEOUT_MS, RequestOptions, SubscriptionHandle,
};

/// The name of the global the hook is installed as.
pub const GLOBAL_NAME: &str = "aether";

/// The object behind `window.aether`.
#[wasm_bindgen(js_name = AetherDevtools)]
pub struct Devtools {
    bus: BusClient,
}

/// Installs `window.aether` for `bus`. Replaces an earlier hook, if any.
pub fn install(bus: BusClient) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let hook = JsValue::from(Devtools { bus });
    if Reflect::set(&window, &GLOBAL_NAME.into(), &hook).is_err() {
        web_sys::console::warn_1(&"aether: cannot install window.aether".into());
    }
}

#[wasm_bindgen(js_class = AetherDevtools)]
impl Devtools {
    /// `"connecting"`, `"connected"`, `"reconnecting"` or `"offline"`.
    pub fn state(&self) -> String {
        self.bus.state_untracked().as_str().to_owned()
    }

    /// This page's client id while connected, else `null`.
    #[wasm_bindgen(js_name = clientId)]
    pub fn client_id(&self) -> Option<String> {
        self.bus.state_untracked().client_id().map(str::to_owned)
    }

    /// The kernel version from the last `kernel.hello`, else `null`.
    #[wasm_bindgen(js_name = kernelVersion)]
    pub fn kernel_version(&self) -> Option<String> {
        self.bus.hello_untracked().map(|hello| hello.version)
    }

    /// Sends a request; resolves with the reply payload, rejects with the error payload.
    ///
    /// `opts.timeoutMs` (default 10 000) bounds the wait; `opts.to` addresses a client or session;
    /// `opts.silent` keeps the request's error out of the toasts.
    pub fn request(&self, topic: String, payload: JsValue, opts: JsValue) -> Promise {
        let bus = self.bus.clone();
        let timeout_ms = option(&opts, "timeoutMs")
            .and_then(|v| v.as_f64())
            .map_or(DEFAULT_TIMEOUT_MS, |ms| {
                ms.clamp(0.0, f64::from(u32::MAX)) as u32
            });
        let options = RequestOptions {
            timeout_ms,
            silent: option(&opts, "silent").is_some_and(|v| v.is_truthy()),
            to: option(&opts, "to").and_then(|v| v.as_string()),
        };
        future_to_promise(async move {
            let payload = payload_from_js(&topic, &payload).map_err(|e| error_to_js(&e))?;
            match bus.request_raw(&topic, payload, options).await {
                Ok(reply) => Ok(to_js(&reply)),
                Err(e) => Err(error_to_js(&e)),
            }
        })
    }

    /// Calls `callback(envelope)` for every envelope whose topic matches `pattern`, and asks the
    /// kernel for un-addressed ones. Returns a handle for `unsubscribe`; throws an error payload
    /// for a bad pattern.
    pub fn subscribe(&self, pattern: String, callback: Function) -> Result<u32, JsValue> {
        let pattern = Pattern::parse(&pattern).map_err(|e| error_to_js(&e.into()))?;
        Ok(self.bus.listen(pattern, forward_to(callback)).0)
    }

    /// Calls `callback(envelope)` for every envelope this page receives whose topic matches
    /// `pattern`, without asking the kernel for anything: hears what is addressed to this page
    /// (replies, errors, streams of its requests). Removed with `unsubscribe`.
    pub fn on(&self, pattern: String, callback: Function) -> Result<u32, JsValue> {
        let pattern = Pattern::parse(&pattern).map_err(|e| error_to_js(&e.into()))?;
        Ok(self.bus.on(pattern, forward_to(callback)).0)
    }

    /// `subscribe`, resolved with the handle once the kernel acknowledged the subscription, so an
    /// event published afterwards by anyone is sure to arrive.
    #[wasm_bindgen(js_name = subscribeAcked)]
    pub fn subscribe_acked(&self, pattern: String, callback: Function) -> Promise {
        let bus = self.bus.clone();
        future_to_promise(async move {
            let pattern = Pattern::parse(&pattern).map_err(|e| error_to_js(&e.into()))?;
            match bus.listen_acked(pattern, forward_to(callback)).await {
                Ok(handle) => Ok(JsValue::from(handle.0)),
                Err(e) => Err(error_to_js(&e)),
            }
        })
    }

    /// How many requests are waiting for an answer (0 once everything settled).
    #[wasm_bindgen(js_name = pendingRequests)]
    pub fn pending_requests(&self) -> usize {
        self.bus.pending_requests()
    }

    /// How many streams of the apps' requests (`vm.spawn`, `ai.chat`, …) are open (0 once every
    /// one ended or its window closed).
    #[wasm_bindgen(js_name = openStreams)]
    pub fn open_streams(&self) -> usize {
        self.bus.open_streams()
    }

    /// Removes a subscription or an `on` listener; false for an unknown handle.
    pub fn unsubscribe(&self, handle: u32) -> bool {
        self.bus.off(SubscriptionHandle(handle))
    }

    /// Sends an envelope and waits for nothing; throws an error payload when the topic or
    /// payload is invalid or the bus is not connected.
    pub fn publish(
        &self,
        topic: String,
        payload: JsValue,
        to: Option<String>,
    ) -> Result<(), JsValue> {
        let envelope = (|| {
            let parsed = Topic::parse(&topic)?;
            let mut envelope = Envelope::new(parsed);
            envelope.payload = Some(payload_from_js(&topic, &payload)?);
            envelope.to = to;
            Ok::<_, BusError>(envelope)
        })()
        .map_err(|e| error_to_js(&e))?;
        self.bus.publish(envelope).map_err(|e| error_to_js(&e))
    }
}

/// A listener that hands each envelope to a JS function as a plain object.
fn forward_to(callback: Function) -> impl Fn(&Envelope) + 'static {
    move |envelope: &Envelope| {
        if let Err(thrown) = callback.call1(&JsValue::NULL, &to_js(envelope)) {
            web_sys::console::error_2(&"aether: a subscriber threw".into(), &thrown);
        }
    }
}

/// `opts[name]`, when `opts` is an object that has it.
fn option(opts: &JsValue, name: &str) -> Option<JsValue> {
    if !opts.is_object() {
        return None;
    }
    Reflect::get(opts, &name.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// A JS value as a payload: `undefined`/`null` is `{}`, anything but an object is refused.
fn payload_from_js(topic: &str, value: &JsValue) -> Result<Payload, BusError> {
    if value.is_undefined() || value.is_null() {
        return Ok(Payload::new());
    }
    let invalid = |why: String| {
        BusError::Invalid(ContractError::InvalidPayload {
            topic: topic.to_owned(),
            why,
        })
    };
    let text = JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| invalid("the payload cannot be written as JSON".into()))?;
    serde_json::from_str::<Payload>(&text)
        .map_err(|_| invalid("a payload is a JSON object, like {\"path\": \"/a\"}".into()))
}

/// Any serializable value as a plain JS object.
fn to_js<T: Serialize>(value: &T) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| JSON::parse(&text).ok())
        .unwrap_or(JsValue::NULL)
}

/// A failure as the plain error-payload object callers read `.code` from.
fn error_to_js(error: &BusError) -> JsValue {
    to_js(&error.to_payload(None))
}
