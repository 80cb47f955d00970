//! [`McpLink`]: one Agent window's view of the tab's links to outside agents (`mcp.*`), `Copy`
//! like [`super::session::Session`]: the tab's grants (`mcp.grants`, read when the window opens,
//! after every change, on `mcp.called`/`mcp.settled` and every [`REFRESH_EVERY_S`] seconds), the
//! token of the grant just made (held until the user dismisses it: the kernel never shows it
//! again), the calls waiting for a decision (`mcp.ask`, and the `pending` of every `mcp.grants`
//! answer: a window opened while a call waits shows it too; gone on `mcp.settled`), the calls made
//! (`mcp.called`, newest first), and what `mcp.undo` put back. It sends `mcp.grant`,
//! `mcp.revoke`, `mcp.decide` and `mcp.undo`, and never renders: `connect`, `grants` and `asks`
//! draw it.
//!
//! The `mcp.*` events are addressed to this tab, so the window hears them with local listeners
//! (no kernel subscription), removed when the window closes. A dropped connection ends the
//! tab's waits on the kernel (its `mcp.settled` cannot reach the tab), so their cards are
//! dropped on every new connection. Several Agent windows of one tab each show the same grants
//! and asks; a decision in one settles the card in all. With no Agent window open, the shell's
//! `ask_watch` opens one when a call asks; it finds the call in the grants' `pending`.

use std::time::Duration;

use aether_shared::mcp::{
    self, Ask, Called, Decide, Decision, Grant, GrantInfo, GrantList, GrantState, Granted, Grants,
    Restored, Revoke, Settled, UndoGrant,
};
use aether_shared::{ErrorCode, Pattern, Topic};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::outside::{PendingAsk, UndoneGrant, add_ask, add_call, add_pending, mark};
use crate::apps::editor;
use crate::services::bus::{BusClient, BusError, DEFAULT_TIMEOUT_MS, SubscriptionHandle};
use crate::shell::intents::Intent;
use crate::shell::windows::WindowManager;

/// The grants are read again this often while any is listed (their calls and files change as
/// the outside agent works), in seconds.
const REFRESH_EVERY_S: u32 = 30;

/// The window's links to outside agents.
#[derive(Clone, Copy)]
pub(super) struct McpLink {
    bus: StoredValue<BusClient, LocalStorage>,
    wm: WindowManager,
    /// The tab's grants as last read.
    pub(super) grants: RwSignal<Vec<GrantInfo>>,
    /// When `grants` was read and the time now (ms since the epoch; `now` ticks every second),
    /// so each grant's time left counts down between reads.
    read_at: RwSignal<f64>,
    now: RwSignal<f64>,
    /// The grant just made, with its token, until the user dismisses it.
    pub(super) secret: RwSignal<Option<Granted>>,
    pub(super) asks: RwSignal<Vec<PendingAsk>>,
    pub(super) activity: RwSignal<Vec<Called>>,
    pub(super) undone: RwSignal<Vec<UndoneGrant>>,
    /// A grant is being made.
    pub(super) connecting: RwSignal<bool>,
    /// The last refused request of this panel, as its sentence.
    pub(super) error: RwSignal<Option<String>>,
}

impl McpLink {
    /// The window's link state; listens to `mcp.ask`, `mcp.settled` and `mcp.called` and ticks
    /// the countdown until the window closes, and re-reads the grants on every connection.
    pub(super) fn new(bus: BusClient, wm: WindowManager) -> McpLink {
        let link = McpLink {
            bus: StoredValue::new_local(bus.clone()),
            wm,
            grants: RwSignal::new(Vec::new()),
            read_at: RwSignal::new(now_ms()),
            now: RwSignal::new(now_ms()),
            secret: RwSignal::new(None),
            asks: RwSignal::new(Vec::new()),
            activity: RwSignal::new(Vec::new()),
            undone: RwSignal::new(Vec::new()),
            connecting: RwSignal::new(false),
            error: RwSignal::new(None),
        };
        let listeners = link.listen(&bus);
        let watched = bus.clone();
        Effect::new(move |_| {
            // The waits of before a drop ended with it.
            if watched.state().is_connected() {
                link.asks.set(Vec::new());
                link.refresh();
            }
        });
        let tick = set_interval_with_handle(move || link.tick(), Duration::from_secs(1)).ok();
        on_cleanup(move || {
            if let Some(tick) = tick {
                tick.clear();
            }
            for handle in listeners {
                bus.off(handle);
            }
        });
        link
    }

    /// Hears this tab's `mcp.*` events; the handles are for [`BusClient::off`].
    fn listen(&self, bus: &BusClient) -> Vec<SubscriptionHandle> {
        let link = *self;
        let on = |topic: &'static str, heard: Box<dyn Fn(&aether_shared::Envelope)>| {
            bus.on(Pattern::Exact(Topic::from_static(topic)), heard)
        };
        vec![
            on(
                mcp::ASK,
                Box::new(move |env| {
                    if let Ok(ask) = env.decode::<Ask>() {
                        link.asks.try_update(|asks| add_ask(asks, ask));
                    }
                }),
            ),
            on(
                mcp::SETTLED,
                Box::new(move |env| {
                    if let Ok(settled) = env.decode::<Settled>() {
                        link.asks
                            .try_update(|asks| asks.retain(|a| a.ask.ask_id != settled.ask_id));
                        link.refresh();
                    }
                }),
            ),
            on(
                mcp::CALLED,
                Box::new(move |env| {
                    if let Ok(called) = env.decode::<Called>() {
                        link.activity.try_update(|list| add_call(list, called));
                        link.refresh();
                    }
                }),
            ),
        ]
    }

    /// Makes a grant; its token is held in [`McpLink::secret`] for the user to copy.
    pub(super) fn connect(&self, grant: Grant) {
        let (link, Some(bus)) = (*self, self.bus()) else {
            return;
        };
        self.connecting.set(true);
        self.error.set(None);
        spawn_local(async move {
            let answer = bus.send_request(&grant, DEFAULT_TIMEOUT_MS).await;
            link.connecting.try_set(false);
            match answer {
                Ok(granted) => {
                    link.secret.try_set(Some(granted));
                }
                Err(e) => link.note(&e),
            }
            link.refresh();
        });
    }

    /// Forgets the token shown (it cannot be shown again).
    pub(super) fn dismiss_secret(&self) {
        self.secret.set(None);
    }

    /// Reads the tab's grants, and the calls of theirs waiting for a decision.
    pub(super) fn refresh(&self) {
        let (link, Some(bus)) = (*self, self.bus()) else {
            return;
        };
        if !bus.state_untracked().is_connected() {
            return;
        }
        spawn_local(async move {
            let answer = bus.send_request(&Grants {}, DEFAULT_TIMEOUT_MS).await;
            if let Ok(GrantList { grants, pending }) = answer {
                link.read_at.try_set(now_ms());
                link.now.try_set(now_ms());
                link.grants.try_set(grants);
                if !pending.is_empty() {
                    link.asks.try_update(|asks| add_pending(asks, pending));
                }
            }
        });
    }

    /// Ends grant `grant_id`: its token stops working on the next call.
    pub(super) fn revoke(&self, grant_id: String) {
        let (link, Some(bus)) = (*self, self.bus()) else {
            return;
        };
        self.error.set(None);
        spawn_local(async move {
            let request = Revoke {
                grant_id: grant_id.clone(),
            };
            match bus.send_request(&request, DEFAULT_TIMEOUT_MS).await {
                Ok(_) => {
                    link.secret.try_update(|s| {
                        if s.as_ref().is_some_and(|s| s.grant_id == grant_id) {
                            *s = None;
                        }
                    });
                }
                Err(e) => link.note(&e),
            }
            link.refresh();
        });
    }

    /// Puts back every file grant `grant_id`'s calls wrote.
    pub(super) fn undo(&self, grant_id: String) {
        let (link, Some(bus)) = (*self, self.bus()) else {
            return;
        };
        self.error.set(None);
        spawn_local(async move {
            let request = UndoGrant {
                grant_id: grant_id.clone(),
            };
            match bus.send_request(&request, DEFAULT_TIMEOUT_MS).await {
                Ok(Restored { restored }) => {
                    link.undone.try_update(|list| {
                        list.retain(|u| u.grant_id != grant_id);
                        list.push(UndoneGrant { grant_id, restored });
                    });
                }
                Err(e) => link.note(&e),
            }
            link.refresh();
        });
    }

    /// Sends the user's `decision` on the call `ask_id`; its buttons lock at once and unlock
    /// only if the decision could not be delivered (a wait that already ended just goes).
    pub(super) fn decide(&self, ask_id: String, decision: Decision) {
        self.asks.update(|asks| mark(asks, &ask_id, Some(decision)));
        let (link, Some(bus)) = (*self, self.bus()) else {
            return;
        };
        spawn_local(async move {
            let request = Decide {
                ask_id: ask_id.clone(),
                decision,
            };
            if let Err(e) = bus.send_request(&request, DEFAULT_TIMEOUT_MS).await {
                link.asks.try_update(|asks| {
                    if e.code() == ErrorCode::NotFound {
                        asks.retain(|a| a.ask.ask_id != ask_id);
                    } else {
                        mark(asks, &ask_id, None);
                    }
                });
                link.note(&e);
            }
        });
    }

    /// Milliseconds grant `info` still lives, counted down since the last read (tracked).
    pub(super) fn left_ms(&self, info: &GrantInfo) -> u64 {
        if info.state != GrantState::Live {
            return 0;
        }
        let elapsed = (self.now.get() - self.read_at.get()).max(0.0) as u64;
        info.expires_in_ms.saturating_sub(elapsed)
    }

    /// Opens `path` in the Editor.
    pub(super) fn open_file(&self, path: String) {
        self.wm.open_with(&editor::META, Intent::OpenFile { path });
    }

    /// Every second: the countdown moves; the grants are read again when one just ran out, and
    /// every [`REFRESH_EVERY_S`] seconds while any is listed.
    fn tick(&self) {
        let now = now_ms();
        self.now.try_set(now);
        let Some(since_read) = self.read_at.try_get_untracked().map(|t| now - t) else {
            return;
        };
        let ran_out = self
            .grants
            .try_with_untracked(|grants| {
                grants
                    .iter()
                    .any(|g| g.state == GrantState::Live && (g.expires_in_ms as f64) <= since_read)
            })
            .unwrap_or(false);
        let listed = self
            .grants
            .try_with_untracked(|g| !g.is_empty())
            .unwrap_or(false);
        if (ran_out && since_read >= 1_000.0)
            || (listed && since_read >= f64::from(REFRESH_EVERY_S) * 1_000.0)
        {
            self.refresh();
        }
    }

    fn note(&self, error: &BusError) {
        self.error.try_set(Some(error.to_payload(None).error));
    }

    /// The bus, while the window is open.
    fn bus(&self) -> Option<BusClient> {
        self.bus.try_get_value()
    }
}

fn now_ms() -> f64 {
    if cfg!(target_arch = "wasm32") {
        js_sys::Date::now()
    } else {
        0.0
    }
}
