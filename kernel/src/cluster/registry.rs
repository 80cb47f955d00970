//! The cluster's address book: which kernel serves each client and session, in a JetStream
//! key-value bucket ([`BUCKET`]) whose entries live [`TTL`]. Each kernel puts its own addresses
//! (a client when it connects, a session when it is registered), deletes them when they go, and
//! puts them all again every [`REFRESH`], so the entries of a kernel that died fade within
//! [`TTL`]. Each kernel watches the bucket into a local copy, so a lookup never waits on NATS.
//! An entry says `{kernel, client, principal}`: the kernel an envelope for that address goes
//! to, and who may reach it (checked by the sending kernel, and again by the receiving one).
//!
//! Keys are addresses escaped like subject tokens (`[A-Za-z0-9-]` kept, every other byte `_XX`),
//! since a session id may hold characters a key may not. The bucket lives in memory: it is
//! rebuilt from the kernels' own puts whenever NATS returns.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{ClusterLink, subject};
use crate::bus::{Bus, ClientHandle};
use crate::guard::Principal;

/// The bucket's name.
pub const BUCKET: &str = "aether_addresses";
/// How long an entry lives unless its kernel puts it again.
pub const TTL: Duration = Duration::from_secs(10);
/// How often a kernel puts all its addresses again.
pub const REFRESH: Duration = Duration::from_secs(3);
/// Puts and deletes waiting for NATS, at most (what does not fit waits for the next refresh).
const QUEUE_LEN: usize = 4_096;

/// Where an address lives, and whose it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub kernel: String,
    /// The client serving the address (the address itself for a client).
    pub client: String,
    pub principal: Principal,
}

pub enum Change {
    Put(String, Record),
    Delete(String),
}

/// This kernel's copy of the bucket, and its queue of changes to it.
pub struct Registry {
    kernel_id: String,
    known: Mutex<HashMap<String, (Record, Instant)>>,
    changes: mpsc::Sender<Change>,
}

impl Registry {
    /// A registry for kernel `kernel_id`, and the receiving end of its changes (for [`run`]).
    pub fn new(kernel_id: &str) -> (Registry, mpsc::Receiver<Change>) {
        let (changes, rx) = mpsc::channel(QUEUE_LEN);
        let registry = Registry {
            kernel_id: kernel_id.to_owned(),
            known: Mutex::default(),
            changes,
        };
        (registry, rx)
    }

    /// `address` is served on this kernel by `owner`.
    pub fn put(&self, address: &str, owner: &ClientHandle) {
        if let Some(record) = self.record_of(owner) {
            let _ = self
                .changes
                .try_send(Change::Put(address.to_owned(), record));
        }
    }

    /// `address` is no longer served on this kernel.
    pub fn delete(&self, address: &str) {
        let _ = self.changes.try_send(Change::Delete(address.to_owned()));
    }

    /// Where `address` lives, when another kernel serves it.
    pub fn find(&self, address: &str) -> Option<Record> {
        let known = self.known.lock().expect("registry lock");
        let (record, seen) = known.get(address)?;
        (seen.elapsed() < TTL && record.kernel != self.kernel_id).then(|| record.clone())
    }

    /// Addresses known on other kernels now.
    pub fn count(&self) -> usize {
        let known = self.known.lock().expect("registry lock");
        known
            .values()
            .filter(|(r, seen)| seen.elapsed() < TTL && r.kernel != self.kernel_id)
            .count()
    }

    /// Clients of `principal` connected to other kernels now: with this kernel's own, what
    /// `limits.max_connections_per_principal` caps cluster-wide.
    pub fn clients_of(&self, principal: Principal) -> usize {
        let known = self.known.lock().expect("registry lock");
        known
            .iter()
            .filter(|(address, (r, seen))| {
                **address == r.client
                    && r.principal == principal
                    && r.kernel != self.kernel_id
                    && seen.elapsed() < TTL
            })
            .count()
    }

    /// What this kernel says of `owner`'s addresses: nothing for a stand-in of another kernel's
    /// client or for a kernel-made client, which nobody but the kernel addresses.
    fn record_of(&self, owner: &ClientHandle) -> Option<Record> {
        (owner.party().is_none() && !owner.is_kernel_made()).then(|| Record {
            kernel: self.kernel_id.clone(),
            client: owner.id().to_owned(),
            principal: owner.principal(),
        })
    }

    fn learn(&self, entry: kv::Entry) {
        let Some(address) = unescape(&entry.key) else {
            return;
        };
        let mut known = self.known.lock().expect("registry lock");
        match entry.operation {
            kv::Operation::Put => match serde_json::from_slice::<Record>(&entry.value) {
                Ok(record) => {
                    known.insert(address, (record, Instant::now()));
                }
                Err(e) => tracing::debug!("an unreadable address entry: {e}"),
            },
            kv::Operation::Delete | kv::Operation::Purge => {
                known.remove(&address);
            }
        }
    }
}

/// Keeps the bucket and this kernel's copy of it until `shutdown`: makes the bucket (again,
/// after NATS returns), watches it, and writes this kernel's changes and refreshes.
pub(super) async fn run(
    client: async_nats::Client,
    link: Arc<ClusterLink>,
    bus: Bus,
    mut changes: mpsc::Receiver<Change>,
    shutdown: CancellationToken,
) {
    let js = jetstream::new(client);
    loop {
        let store = match bucket(&js).await {
            Ok(store) => store,
            Err(e) => {
                tracing::debug!("the address bucket is not there yet: {e}");
                if pause(&shutdown, Duration::from_millis(500)).await {
                    return;
                }
                continue;
            }
        };
        let mut watch = match store.watch_with_history(">").await {
            Ok(watch) => watch,
            Err(e) => {
                tracing::debug!("cannot watch the address bucket: {e}");
                if pause(&shutdown, Duration::from_millis(500)).await {
                    return;
                }
                continue;
            }
        };
        let mut refresh = tokio::time::interval(REFRESH);
        let registry = &link.registry;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => {
                    for (address, _) in bus.addresses() {
                        let _ = store.delete(escape(&address)).await;
                    }
                    return;
                }
                Some(change) = changes.recv() => {
                    let done = match change {
                        Change::Put(address, record) => put(&store, &address, &record).await,
                        Change::Delete(address) if address.is_empty() => true,
                        Change::Delete(address) => store.delete(escape(&address)).await.is_ok(),
                    };
                    if !done {
                        break;
                    }
                }
                entry = watch.next() => match entry {
                    Some(Ok(entry)) => registry.learn(entry),
                    _ => break,
                },
                _ = refresh.tick() => {
                    let mut done = true;
                    for (address, owner) in bus.addresses() {
                        if let Some(record) = registry.record_of(&owner) {
                            done &= put(&store, &address, &record).await;
                        }
                    }
                    if !done {
                        break;
                    }
                }
            }
        }
        tracing::debug!("the address bucket went away; making it again");
        if pause(&shutdown, Duration::from_millis(250)).await {
            return;
        }
    }
}

/// The bucket, made when it is not there. Made as the stream a key-value bucket is (what
/// `create_key_value` would make), because that helper first reads account fields a 2.9 server
/// (Debian's) does not send.
async fn bucket(js: &jetstream::Context) -> Result<kv::Store, async_nats::Error> {
    let stream = jetstream::stream::Config {
        name: format!("KV_{BUCKET}"),
        subjects: vec![format!("$KV.{BUCKET}.>")],
        max_messages_per_subject: 1,
        max_age: TTL,
        storage: jetstream::stream::StorageType::Memory,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    };
    js.get_or_create_stream(stream).await?;
    Ok(js.get_key_value(BUCKET).await?)
}

async fn put(store: &kv::Store, address: &str, record: &Record) -> bool {
    if address.is_empty() {
        return true;
    }
    let value = serde_json::to_vec(record).expect("a record serializes");
    store.put(escape(address), value.into()).await.is_ok()
}

/// Sleeps `how_long`; true when `shutdown` came first.
async fn pause(shutdown: &CancellationToken, how_long: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(how_long) => false,
    }
}

/// An address as a key: `[A-Za-z0-9-]` kept, every other byte `_XX` (as in subjects).
pub fn escape(address: &str) -> String {
    let mut key = String::with_capacity(address.len() + 8);
    subject::escape_into(&mut key, address);
    key
}

/// The address a key stands for.
pub fn unescape(key: &str) -> Option<String> {
    let mut address = Vec::with_capacity(key.len());
    subject::unescape_into(&mut address, key)?;
    String::from_utf8(address).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_becomes_a_valid_key_and_comes_back() {
        for address in ["c-0123abcd", "s-tab", "my session.1:é", "a_b", ""] {
            let key = escape(address);
            assert!(
                key.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{key}"
            );
            assert_eq!(unescape(&key).as_deref(), Some(address));
        }
        assert_eq!(unescape("x_4"), None);
    }

    #[test]
    fn only_other_kernels_live_addresses_are_found() {
        let (registry, _rx) = Registry::new("gw-a");
        let record = |kernel: &str| Record {
            kernel: kernel.into(),
            client: "c-1".into(),
            principal: Principal::Local,
        };
        let mut known = registry.known.lock().unwrap();
        known.insert("s-b".into(), (record("gw-b"), Instant::now()));
        known.insert("s-a".into(), (record("gw-a"), Instant::now()));
        known.insert("s-old".into(), (record("gw-b"), Instant::now() - TTL));
        drop(known);
        assert_eq!(registry.find("s-b"), Some(record("gw-b")));
        assert_eq!(registry.find("s-a"), None, "this kernel's own");
        assert_eq!(registry.find("s-old"), None, "faded");
        assert_eq!(registry.count(), 1);
        assert_eq!(
            registry.clients_of(Principal::Local),
            0,
            "sessions are no clients"
        );
        registry
            .known
            .lock()
            .unwrap()
            .insert("c-1".into(), (record("gw-b"), Instant::now()));
        assert_eq!(registry.clients_of(Principal::Local), 1);
        assert_eq!(registry.clients_of(Principal::Admin), 0);
    }
}
