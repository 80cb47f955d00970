//! What a run tells its requester: every [`Event`] numbered from 0, addressed to the client that
//! started the run with its `ai.agent.start`'s `_request_id`, and kept in the run's record (the
//! transcript `ai.agent.status` returns; consecutive `message` deltas are kept joined as one, with
//! the first one's `seq`). Never sent to anyone else.

use std::sync::Arc;

use aether_shared::agent::{EVENT, Event, EventKind};
use aether_shared::{Envelope, Topic};

use crate::bus::Bus;
use crate::services::agent::live::LiveRun;

/// The run's outgoing events.
pub struct Events {
    bus: Bus,
    /// The `ai.agent.start` request: every event answers it.
    start: Envelope,
    live: Arc<LiveRun>,
    seq: u64,
}

impl Events {
    pub fn new(bus: Bus, start: Envelope, live: Arc<LiveRun>) -> Events {
        Events {
            bus,
            start,
            live,
            seq: 0,
        }
    }

    /// Sends one event and keeps it in the transcript.
    pub fn emit(&mut self, kind: EventKind) {
        let event = Event {
            run_id: self.live.run_id.clone(),
            seq: self.seq,
            kind,
        };
        self.seq += 1;
        let env = self.start.reply(Topic::from_static(EVENT), &event);
        if let Err(e) = self.bus.publish_from_kernel(env) {
            tracing::debug!("an agent event was not delivered: {e}");
        }
        let mut record = self.live.record.lock().expect("agent run lock");
        let transcript = &mut record.transcript;
        if let (
            EventKind::Message { delta },
            Some(Event {
                kind: EventKind::Message { delta: kept },
                ..
            }),
        ) = (&event.kind, transcript.last_mut())
        {
            kept.push_str(delta);
            return;
        }
        transcript.push(event);
    }
}
