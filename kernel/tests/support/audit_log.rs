//! The audit trail as a test sees it: every event of target `aether::audit` logged in the test
//! binary once [`AuditLog::capture`] was first called, each kept as its fields (`principal`,
//! `reason`, `bytes_up`, …, and `message`). The subscriber is the process's default (a
//! thread's own default would miss the lines of callsites whose interest another test's thread
//! cached while it had none), so the lines of every test running beside are there too: a test
//! picks its own by what is unique to it (the port of its own destination).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::support::WAIT;

/// One audit line: field name → value (strings without quotes).
pub type AuditLine = BTreeMap<String, String>;

/// The audit lines logged since the first [`AuditLog::capture`].
pub struct AuditLog {
    lines: Arc<Mutex<Vec<AuditLine>>>,
}

impl AuditLog {
    /// The process's audit log, kept from the first call on.
    pub fn capture() -> &'static AuditLog {
        static LOG: OnceLock<AuditLog> = OnceLock::new();
        LOG.get_or_init(|| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let subscriber = tracing_subscriber::registry().with(Keep(Arc::clone(&lines)));
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other subscriber in the egress tests");
            AuditLog { lines }
        })
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<AuditLine> {
        self.lines.lock().unwrap().clone()
    }

    /// The first line `matches` accepts, waiting for it (the kernel logs a stream's line as the
    /// stream ends, which may be just after its CLOSE reached the test); fails after [`WAIT`].
    pub async fn line(&self, matches: impl Fn(&AuditLine) -> bool) -> AuditLine {
        let wait = async {
            loop {
                if let Some(line) = self.lines().into_iter().find(&matches) {
                    return line;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        };
        match tokio::time::timeout(WAIT, wait).await {
            Ok(line) => line,
            Err(_) => panic!("no such audit line; the lines were {:#?}", self.lines()),
        }
    }
}

/// The layer that keeps audit events.
struct Keep(Arc<Mutex<Vec<AuditLine>>>);

impl<S: Subscriber> Layer<S> for Keep {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "aether::audit" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
}

#[derive(Default)]
struct Fields(AuditLine);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}
