//! One x86 machine: a dedicated Web Worker running v86 (`worker.js`), and the messages to and
//! from it. The worker's protocol is described at the top of `worker.js`; shell commands
//! (`compute:exec`) are [`exec`]'s.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use aether_shared::compute;
use aether_shared::{ErrorCode, ErrorPayload};
use futures_channel::oneshot;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};

mod exec;

use super::Manifest;
use crate::services::web_storage::Area;
use exec::ExecResult;

/// Where the bus client keeps the tab's token (`services/bus/page_token.rs`).
const TOKEN_KEY: &str = "aether.token";

/// What a machine tells its host.
pub enum Event {
    /// Serial output, decoded as UTF-8.
    Output(String),
    /// The machine stopped on an error (boot timeout, emulator failure).
    Failed(ErrorPayload),
    /// A 9p request of the guest (answer it with [`MachineWorker::replier`]).
    NineP(Vec<u8>),
}

type SaveResult = Result<Vec<u8>, String>;

#[derive(Default)]
struct State {
    saves: HashMap<u32, oneshot::Sender<SaveResult>>,
    next_save: u32,
    /// Shell commands waiting for their end, by id ([`exec`]).
    execs: HashMap<u32, oneshot::Sender<ExecResult>>,
    next_exec: u32,
}

/// A running machine.
pub struct MachineWorker {
    worker: Worker,
    state: Rc<RefCell<State>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl MachineWorker {
    /// Starts the worker and asks it to boot (or resume `snapshot`).
    pub fn boot(
        manifest: &Manifest,
        req: &compute::Spawn,
        snapshot: Option<&[u8]>,
        on_event: impl Fn(Event) + 'static,
    ) -> Result<MachineWorker, String> {
        let worker = Worker::new(&manifest.worker).map_err(|e| format!("{e:?}"))?;
        let state = Rc::new(RefCell::new(State::default()));
        let on_event = Rc::new(on_event);
        let seen = Rc::clone(&state);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            handle(&seen, &on_event, &event.data());
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));

        let files = Object::new();
        for (key, url) in [
            ("libv86", &manifest.libv86),
            ("wasm", &manifest.wasm),
            ("bios", &manifest.bios),
            ("bzimage", &manifest.bzimage),
            ("initrd", &manifest.initrd),
        ] {
            set(&files, key, &url.into());
        }
        let message = Object::new();
        set(&message, "type", &"boot".into());
        set(&message, "files", &files);
        set(&message, "cmdline", &manifest.cmdline.as_str().into());
        set(
            &message,
            "ready_marker",
            &manifest.ready_marker.as_str().into(),
        );
        set(&message, "memory_bytes", &(req.memory_bytes as f64).into());
        set(
            &message,
            "boot_timeout_ms",
            &(req.boot_timeout_ms as f64).into(),
        );
        // The guest's network goes through the kernel's /wisp, authenticated like the bus: the
        // tab's token (kept in sessionStorage by the bus client, still percent-encoded).
        let token = Area::Session
            .get(TOKEN_KEY)
            .filter(|t| !t.is_empty())
            .map_or(JsValue::NULL, |t| t.as_str().into());
        set(&message, "token", &token);
        let transfer = Array::new();
        if let Some(bytes) = snapshot {
            let buffer = Uint8Array::from(bytes).buffer();
            set(&message, "state", &buffer);
            transfer.push(&buffer);
        }
        worker
            .post_message_with_transfer(&message, &transfer)
            .map_err(|e| format!("{e:?}"))?;
        Ok(MachineWorker {
            worker,
            state,
            _on_message: on_message,
        })
    }

    /// Types `data` on the serial port.
    pub fn send_serial(&self, data: &str) {
        let message = Object::new();
        set(&message, "type", &"serial".into());
        set(&message, "data", &data.into());
        let _ = self.worker.post_message(&message);
    }

    /// Tells the guest its terminal's size (on the second serial port, which the guest's
    /// /init reads into `stty`); the worker keeps it until the guest is ready.
    pub fn send_size(&self, rows: u32, cols: u32) {
        let message = Object::new();
        set(&message, "type", &"size".into());
        set(&message, "rows", &rows.into());
        set(&message, "cols", &cols.into());
        let _ = self.worker.post_message(&message);
    }

    /// Sends the 9p server's answers to the guest.
    pub fn replier(&self) -> impl Fn(Vec<u8>) + 'static {
        let worker = self.worker.clone();
        move |reply: Vec<u8>| {
            let message = Object::new();
            let buf = Uint8Array::from(reply.as_slice());
            set(&message, "type", &"9p".into());
            set(&message, "buf", &buf);
            let _ = worker.post_message_with_transfer(&message, &Array::of1(&buf.buffer()));
        }
    }

    /// Resets the machine.
    pub fn reset(&self) {
        let message = Object::new();
        set(&message, "type", &"reset".into());
        let _ = self.worker.post_message(&message);
    }

    /// Asks for a snapshot; resolves with the state bytes.
    pub fn save(&self) -> impl Future<Output = SaveResult> + 'static {
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut state = self.state.borrow_mut();
            state.next_save += 1;
            let id = state.next_save;
            state.saves.insert(id, tx);
            id
        };
        let message = Object::new();
        set(&message, "type", &"save".into());
        set(&message, "id", &id.into());
        let posted = self.worker.post_message(&message);
        async move {
            posted.map_err(|e| format!("{e:?}"))?;
            rx.await
                .map_err(|_| "the machine stopped before its state was saved".to_owned())?
        }
    }

    /// Stops the worker at once.
    pub fn terminate(self) {
        self.worker.set_onmessage(None);
        self.worker.terminate();
    }
}

fn handle(state: &Rc<RefCell<State>>, on_event: &Rc<impl Fn(Event) + 'static>, data: &JsValue) {
    let field = |name: &str| Reflect::get(data, &name.into()).unwrap_or(JsValue::UNDEFINED);
    match field("type").as_string().as_deref() {
        Some("output") => on_event(Event::Output(field("data").as_string().unwrap_or_default())),
        Some("9p") => on_event(Event::NineP(Uint8Array::new(&field("buf")).to_vec())),
        Some("executed") => exec::executed(&mut state.borrow_mut(), data),
        Some("saved") => {
            let id = field("id").as_f64().unwrap_or_default() as u32;
            let bytes = Uint8Array::new(&field("state")).to_vec();
            if let Some(tx) = state.borrow_mut().saves.remove(&id) {
                let _ = tx.send(Ok(bytes));
            }
        }
        Some("failed") => {
            let code = field("code")
                .as_string()
                .and_then(|c| serde_json::from_value(c.into()).ok())
                .unwrap_or(ErrorCode::Internal);
            let error = ErrorPayload::new(code, field("error").as_string().unwrap_or_default());
            for (_, tx) in state.borrow_mut().saves.drain() {
                let _ = tx.send(Err(error.error.clone()));
            }
            exec::fail_all(&mut state.borrow_mut(), &error);
            // Stopping the machine drops this closure: do it after the callback returns.
            let on_event = Rc::clone(on_event);
            wasm_bindgen_futures::spawn_local(async move { on_event(Event::Failed(error)) });
        }
        _ => {}
    }
}

fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &key.into(), value);
}
