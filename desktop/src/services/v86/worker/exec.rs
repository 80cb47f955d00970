//! A machine's shell commands (`compute:exec`): posted to its worker as `{type: "exec"}` and
//! answered by `{type: "executed"}` (see `worker.js`, which runs them one at a time on the
//! guest's third serial port). Each waits on a oneshot under its id; a machine that fails or is
//! stopped drops them, and the waiter hears that it stopped.

use std::future::Future;

use aether_shared::compute;
use aether_shared::{ErrorCode, ErrorPayload};
use futures_channel::oneshot;
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use super::{MachineWorker, State, set};

/// A command's end: its status and output, or why it has none.
pub type ExecResult = Result<compute::Executed, ErrorPayload>;

impl MachineWorker {
    /// Runs `req.command` in the guest once it listens; resolves when it ends.
    pub fn exec(&self, req: &compute::Exec) -> impl Future<Output = ExecResult> + 'static {
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut state = self.state.borrow_mut();
            state.next_exec += 1;
            let id = state.next_exec;
            state.execs.insert(id, tx);
            id
        };
        let message = Object::new();
        set(&message, "type", &"exec".into());
        set(&message, "id", &id.into());
        set(&message, "command", &req.command.as_str().into());
        set(&message, "timeout_ms", &(req.timeout_ms as f64).into());
        set(
            &message,
            "max_output_bytes",
            &(req.max_output_bytes as f64).into(),
        );
        let posted = self.worker.post_message(&message);
        async move {
            posted.map_err(|e| {
                ErrorPayload::new(
                    ErrorCode::Internal,
                    format!("The machine's worker took no command ({e:?}); reload the page."),
                )
            })?;
            rx.await.unwrap_or_else(|_| {
                Err(ErrorPayload::new(
                    ErrorCode::Cancelled,
                    "The machine stopped before the command ended; run it again.",
                ))
            })
        }
    }
}

/// The worker's `{type: "executed", id, status, output, truncated, timed_out}` or
/// `{…, error: {code, error}}`: settles the command's waiter.
pub(super) fn executed(state: &mut State, data: &JsValue) {
    let field = |name: &str| Reflect::get(data, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let id = field("id").as_f64().unwrap_or_default() as u32;
    let Some(tx) = state.execs.remove(&id) else {
        return;
    };
    let error = field("error");
    let result = if error.is_object() {
        let inner = |name: &str| Reflect::get(&error, &name.into()).unwrap_or(JsValue::UNDEFINED);
        let code = inner("code")
            .as_string()
            .and_then(|c| serde_json::from_value(c.into()).ok())
            .unwrap_or(ErrorCode::Internal);
        Err(ErrorPayload::new(
            code,
            inner("error").as_string().unwrap_or_default(),
        ))
    } else {
        Ok(compute::Executed {
            status: field("status").as_f64().unwrap_or(-1.0) as i32,
            output: field("output").as_string().unwrap_or_default(),
            truncated: field("truncated").is_truthy(),
            timed_out: field("timed_out").is_truthy(),
        })
    };
    let _ = tx.send(result);
}

/// The machine failed with `error`: every command waiting on it gets it.
pub(super) fn fail_all(state: &mut State, error: &ErrorPayload) {
    for (_, tx) in state.execs.drain() {
        let _ = tx.send(Err(error.clone()));
    }
}
