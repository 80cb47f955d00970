//! One Terminal window's machine: the xterm.js screen, the `vm.*` requests that power the x86
//! machine on and off and type into it, the output routed back to the screen, and save/restore
//! through this tab's [`V86Host`] and files.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use aether_shared::vm::{Backend, Kill, ListPrograms, ModuleSource, Spawn, Stdin};
use aether_shared::{Envelope, Pattern};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, ResizeObserver};

use super::SNAPSHOT_PATH;
use super::line::{self, LineEditor};
use super::xterm::{self, Disposable, FitAddon, XTerm};
use crate::services::bus::{BusClient, SubscriptionHandle};
use crate::services::v86::{self, V86Host};
use crate::services::vfs::VfsProxy;

/// The guest's shell prompt (PS1 in the guest's /init).
const PROMPT: &str = "root@aether:";
/// How long a kill or keys may wait for their acknowledgement, in milliseconds.
const ACK_TIMEOUT_MS: u32 = 30_000;

/// The keyboard callback given to xterm.js and the handle that removes it.
type Typing = (Closure<dyn FnMut(String)>, Disposable);
/// The observer that refits the screen when the window resizes, and its callback.
type Refit = (ResizeObserver, Closure<dyn FnMut()>);

/// What the window shows about the machine.
#[derive(Clone, Copy)]
pub struct View {
    /// `off`, `booting`, `running` or `failed`.
    pub state: RwSignal<&'static str>,
    pub status: RwSignal<String>,
}

impl View {
    pub fn new() -> View {
        View {
            state: RwSignal::new("off"),
            status: RwSignal::new("Starting the terminal…".to_owned()),
        }
    }
}

/// The window's machine and screen; cheap to clone.
#[derive(Clone)]
pub struct Session {
    inner: SendWrapper<Rc<Inner>>,
}

struct Inner {
    bus: BusClient,
    host: V86Host,
    vfs: VfsProxy,
    view: View,
    term: RefCell<Option<(XTerm, FitAddon)>>,
    pid: Cell<Option<u64>>,
    /// The `_request_id` of the current machine's `vm.spawn`: its ack, output and end carry it.
    spawn_id: RefCell<Option<String>>,
    /// The current machine resumes a saved state (it gets a fresh prompt once it runs).
    restoring: Cell<bool>,
    spawns: Cell<u32>,
    /// The WASI program this window is attached to instead of a machine.
    attached: Cell<Option<u64>>,
    editor: RefCell<LineEditor>,
    started_ms: Cell<f64>,
    listener: Cell<Option<SubscriptionHandle>>,
    on_data: RefCell<Option<Typing>>,
    resize: RefCell<Option<Refit>>,
    closed: Cell<bool>,
}

impl Session {
    pub fn new(bus: BusClient, host: V86Host, vfs: VfsProxy, view: View) -> Session {
        let session = Session {
            inner: SendWrapper::new(Rc::new(Inner {
                bus: bus.clone(),
                host,
                vfs,
                view,
                term: RefCell::new(None),
                pid: Cell::new(None),
                spawn_id: RefCell::new(None),
                restoring: Cell::new(false),
                spawns: Cell::new(0),
                attached: Cell::new(None),
                editor: RefCell::new(LineEditor::default()),
                started_ms: Cell::new(0.0),
                listener: Cell::new(None),
                on_data: RefCell::new(None),
                resize: RefCell::new(None),
                closed: Cell::new(false),
            })),
        };
        let weak = Rc::downgrade(&*session.inner);
        let handle = bus.on(Pattern::parse("vm.*").expect("a valid pattern"), move |env| {
            if let Some(inner) = weak.upgrade() {
                inner.on_vm(env);
            }
        });
        session.inner.listener.set(Some(handle));
        session
    }

    /// Opens the screen in `el`, then powers the machine on.
    pub fn mount(&self, el: HtmlElement) {
        if self.inner.term.borrow().is_some() {
            return;
        }
        let inner = Rc::clone(&self.inner);
        wasm_bindgen_futures::spawn_local(async move {
            let loaded = match v86::manifest::load().await {
                Ok(manifest) => xterm::load(&manifest).await,
                Err(e) => Err(e),
            };
            if let Err(e) = loaded {
                inner.fail(format!(
                    "The terminal's files did not load ({e}); rebuild with `cargo xtask build`."
                ));
                return;
            }
            if inner.closed.get() {
                return;
            }
            match inner.open_screen(&el) {
                Ok(()) => inner.power_on(None),
                Err(e) => inner.fail(format!("The terminal did not start ({e}); reload the page.")),
            }
        });
    }

    /// Attaches the screen to WASI program `pid` of this tab (powering the machine off).
    pub fn attach(&self, pid: u64) {
        let inner = &self.inner;
        if let Some(machine) = inner.pid.take() {
            inner.kill(machine);
        }
        inner.spawn_id.borrow_mut().take();
        *inner.editor.borrow_mut() = LineEditor::default();
        inner.attached.set(Some(pid));
        if let Some((term, _)) = &*inner.term.borrow() {
            term.reset();
            term.write(&format!(
                "Attached to program {pid}: lines you type go to its stdin, Ctrl-D ends it.\r\n"
            ));
            term.focus();
        }
        inner.view.state.set("attached");
        inner
            .view
            .status
            .set(format!("Program {pid}: attached (typed lines go to its stdin)"));
    }

    /// The WASI programs of this tab that a window could attach to, as `(pid, label)`.
    pub async fn programs(&self) -> Vec<(u64, String)> {
        let listed = self
            .inner
            .bus
            .send_request(&ListPrograms {}, ACK_TIMEOUT_MS)
            .await;
        listed
            .map(|p| {
                p.programs
                    .into_iter()
                    .filter(|p| !p.module.starts_with("x86 (v86)"))
                    .map(|p| (p.pid, p.module))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn toggle_power(&self) {
        self.inner.attached.set(None);
        match self.inner.pid.get() {
            Some(pid) => self.inner.kill(pid),
            None => {
                if let Some((term, _)) = &*self.inner.term.borrow() {
                    term.reset();
                }
                self.inner.power_on(None);
            }
        }
    }

    pub fn reset(&self) {
        if let Some(pid) = self.inner.pid.get() {
            if let Some((term, _)) = &*self.inner.term.borrow() {
                term.reset();
            }
            self.inner.host.reset(pid);
            self.inner.started_ms.set(now_ms());
            self.inner.view.state.set("booting");
            self.inner.view.status.set(format!("Machine {pid}: rebooting…"));
        }
    }

    /// Saves the machine's state into [`SNAPSHOT_PATH`].
    pub fn save(&self) {
        let Some(pid) = self.inner.pid.get() else {
            return;
        };
        let inner = Rc::clone(&self.inner);
        inner.view.status.set(format!("Machine {pid}: saving its state…"));
        wasm_bindgen_futures::spawn_local(async move {
            let started = now_ms();
            let saved = match inner.host.save(pid).await {
                Ok(bytes) => {
                    let _ = inner.vfs.mkdir("/machines").await;
                    inner
                        .vfs
                        .write(SNAPSHOT_PATH, &bytes)
                        .await
                        .map(|_| bytes.len())
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e),
            };
            match saved {
                Ok(len) => inner.view.status.set(format!(
                    "Machine {pid}: state saved to {SNAPSHOT_PATH} ({:.1} MiB in {} ms)",
                    len as f64 / 1_048_576.0,
                    (now_ms() - started).round()
                )),
                Err(e) => inner
                    .view
                    .status
                    .set(format!("Machine {pid}: the state was not saved: {e}")),
            }
        });
    }

    /// Powers the current machine off and resumes the saved one.
    pub fn restore(&self) {
        self.inner.attached.set(None);
        if let Some(pid) = self.inner.pid.take() {
            self.inner.kill(pid);
        }
        if let Some((term, _)) = &*self.inner.term.borrow() {
            term.reset();
        }
        self.inner.power_on(Some(SNAPSHOT_PATH.to_owned()));
    }

    /// The window closed: power off, release the screen and the listeners.
    pub fn close(&self) {
        let inner = &self.inner;
        inner.closed.set(true);
        if let Some(pid) = inner.pid.take() {
            inner.kill(pid);
        }
        if let Some(handle) = inner.listener.take() {
            inner.bus.off(handle);
        }
        if let Some((_, disposable)) = inner.on_data.borrow_mut().take() {
            disposable.dispose();
        }
        if let Some((observer, _)) = inner.resize.borrow_mut().take() {
            observer.disconnect();
        }
        if let Some((term, _)) = inner.term.borrow_mut().take() {
            term.dispose();
        }
    }
}

impl Inner {
    fn open_screen(self: &Rc<Self>, el: &HtmlElement) -> Result<(), String> {
        let term = XTerm::create();
        let fit = FitAddon::create()?;
        term.load_addon(&fit);
        term.open(el);
        fit.fit();
        term.focus();
        let weak = Rc::downgrade(self);
        let on_data = Closure::<dyn FnMut(String)>::new(move |data: String| {
            if let Some(inner) = weak.upgrade() {
                inner.type_in(data);
            }
        });
        let disposable = term.on_data(&on_data);
        *self.on_data.borrow_mut() = Some((on_data, disposable));
        let weak = Rc::downgrade(self);
        let on_resize = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade()
                && let Some((_, fit)) = &*inner.term.borrow()
            {
                fit.fit();
            }
        });
        if let Ok(observer) = ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
            observer.observe(el);
            *self.resize.borrow_mut() = Some((observer, on_resize));
        }
        *self.term.borrow_mut() = Some((term, fit));
        Ok(())
    }

    fn power_on(self: &Rc<Self>, snapshot: Option<String>) {
        let restoring = snapshot.is_some();
        self.view.state.set("booting");
        self.view.status.set(if restoring {
            format!("Restoring the machine from {SNAPSHOT_PATH}…")
        } else {
            "Booting the x86 machine (Linux on v86, in this tab)…".to_owned()
        });
        self.started_ms.set(now_ms());
        self.restoring.set(restoring);
        self.pid.set(None);
        let request = Spawn {
            backend: Backend::V86,
            module: snapshot.map(|path| ModuleSource::Path {
                path,
                session: None,
            }),
            args: Vec::new(),
            env: Default::default(),
            stdin: None,
            limits: None,
        };
        // Our own request id, so the ack, the output and the end of this machine are told apart
        // from those of a machine powered off a moment ago and from replies to `vm.stdin`.
        let n = self.spawns.get() + 1;
        self.spawns.set(n);
        let entropy = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
        let id = format!("term-{n}-{entropy:x}");
        *self.spawn_id.borrow_mut() = Some(id.clone());
        if let Err(e) = self.bus.publish(Envelope::request(&request, &id)) {
            self.fail(e.to_string());
        }
    }

    fn kill(self: &Rc<Self>, pid: u64) {
        let bus = self.bus.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = bus.send_request(&Kill { pid }, ACK_TIMEOUT_MS).await;
        });
    }

    fn type_in(self: &Rc<Self>, data: String) {
        if let Some(program) = self.attached.get() {
            return self.type_to_program(program, &data);
        }
        let Some(pid) = self.pid.get() else {
            return;
        };
        let bus = self.bus.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let keys = Stdin {
                pid,
                data,
                eof: false,
            };
            let _ = bus.send_request(&keys, ACK_TIMEOUT_MS).await;
        });
    }

    fn fail(&self, message: String) {
        self.view.state.set("failed");
        self.view.status.set(message);
    }

    /// Keys for an attached program: echoed, edited, sent a line at a time.
    fn type_to_program(self: &Rc<Self>, pid: u64, data: &str) {
        let keyed = self.editor.borrow_mut().key(data);
        if let Some((term, _)) = &*self.term.borrow() {
            term.write(&keyed.echo);
        }
        let Some((data, eof)) = keyed.send else {
            return;
        };
        let bus = self.bus.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = bus
                .send_request(&Stdin { pid, data, eof }, ACK_TIMEOUT_MS)
                .await;
        });
    }

    /// Output and the end of an attached program (whoever started it, in this tab).
    fn on_program(&self, pid: u64, env: &Envelope) {
        let payload = env.payload.as_ref();
        let field = |name: &str| payload.and_then(|p| p.get(name));
        let of_pid = field("pid")
            .or_else(|| field("details").and_then(|d| d.get("pid")))
            .and_then(|p| p.as_u64());
        if of_pid != Some(pid) {
            return;
        }
        let write = |text: &str| {
            if let Some((term, _)) = &*self.term.borrow() {
                term.write(text);
            }
        };
        match env.topic.as_str() {
            "vm.stdout" | "vm.stderr" => {
                write(&line::to_screen(
                    field("data").and_then(|d| d.as_str()).unwrap_or_default(),
                ));
            }
            "vm.exit" => {
                let code = field("code").and_then(|c| c.as_i64()).unwrap_or_default();
                write(&format!("\r\n[program {pid} exited with code {code}]\r\n"));
                self.attached.set(None);
                self.view.state.set("off");
                self.view
                    .status
                    .set(format!("Program {pid}: exited with code {code}"));
            }
            // The program's end, not a refusal of one of this window's `vm.stdin` requests.
            "vm.error"
                if !matches!(
                    field("code").and_then(|c| c.as_str()),
                    Some("not_found" | "conflict" | "bad_request" | "rate_limited")
                ) =>
            {
                let error = field("error").and_then(|e| e.as_str()).unwrap_or_default();
                write(&format!("\r\n[program {pid} stopped: {error}]\r\n"));
                self.attached.set(None);
                self.view.state.set("off");
                self.view
                    .status
                    .set(format!("Program {pid}: stopped: {error}"));
            }
            _ => {}
        }
    }

    fn on_vm(self: &Rc<Self>, env: &Envelope) {
        if let Some(program) = self.attached.get() {
            return self.on_program(program, env);
        }
        let ours = self.spawn_id.borrow().as_deref().is_some_and(|id| env.request_id() == Some(id));
        if !ours {
            return;
        }
        let payload = env.payload.as_ref();
        let field = |name: &str| payload.and_then(|p| p.get(name));
        match env.topic.as_str() {
            "vm.spawn:ack" => {
                let Some(pid) = field("pid").and_then(|p| p.as_u64()) else {
                    return;
                };
                if self.closed.get() {
                    self.kill(pid);
                    return;
                }
                self.pid.set(Some(pid));
                if self.restoring.get() {
                    // A fresh prompt from the resumed shell (keys wait until the machine runs).
                    self.type_in("\n".to_owned());
                }
            }
            "vm.stdout" | "vm.stderr" => {
                let data = field("data").and_then(|d| d.as_str()).unwrap_or_default();
                if let Some((term, _)) = &*self.term.borrow() {
                    term.write(data);
                }
                let booting = self.view.state.get_untracked() == "booting";
                if booting && data.contains(PROMPT) {
                    let secs = (now_ms() - self.started_ms.get()) / 1000.0;
                    let pid = self.pid.get().unwrap_or_default();
                    self.view.state.set("running");
                    self.view
                        .status
                        .set(format!("Machine {pid}: running (shell in {secs:.1} s)"));
                }
            }
            "vm.exit" => {
                let pid = self.pid.take().unwrap_or_default();
                self.spawn_id.borrow_mut().take();
                self.view.state.set("off");
                self.view.status.set(format!("Machine {pid}: powered off"));
            }
            "vm.error" => {
                self.pid.set(None);
                self.spawn_id.borrow_mut().take();
                let error = field("error").and_then(|e| e.as_str()).unwrap_or_default();
                self.fail(format!("The machine stopped: {error}"));
            }
            _ => {}
        }
    }
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}
