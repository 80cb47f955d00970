//! The module cache's memory: compiled modules by the sha256 of their wasm bytes, each with the
//! texts it is known by ([`super::texts`]), their bytes counted together against one cap and the
//! least recently used dropped first. Plain data under the cache's lock: no I/O here.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::Compiled;
use super::texts::{KnownText, MAX_PER_FINGERPRINT, MAX_TEXTS_PER_MODULE, SourceText, fingerprint};
use crate::guard::Principal;

struct Entry {
    compiled: Compiled,
    /// Bytes of compiled code (the module's image) and of its known texts.
    size: u64,
    /// The texts it was sent as, oldest first.
    texts: Vec<KnownText>,
    /// When it was last used, as a tick of [`MemoryCache::clock`].
    used: u64,
    /// When its artifact's time on disk was last refreshed.
    touched: Instant,
    /// The principals that sent its bytes: they alone may ask for it by its hash.
    senders: Vec<Principal>,
}

#[derive(Default)]
pub struct MemoryCache {
    entries: HashMap<[u8; 32], Entry>,
    /// Fingerprints of known texts, and the modules (keys of `entries`) to compare them with.
    by_text: HashMap<u64, Vec<[u8; 32]>>,
    bytes: u64,
    clock: u64,
}

impl MemoryCache {
    /// The key of the module known by exactly `text`, if any.
    pub fn known_as(&self, text: SourceText) -> Option<[u8; 32]> {
        let leads = self.by_text.get(&fingerprint(text))?;
        leads.iter().copied().find(|key| {
            self.entries
                .get(key)
                .is_some_and(|entry| entry.texts.iter().any(|known| known.is(text)))
        })
    }

    /// The module of `key`, marked used now; with whether its artifact's time on disk is due
    /// for a refresh (then counted as refreshed), at most once per `touch_interval`.
    pub fn take_out(
        &mut self,
        key: &[u8; 32],
        touch_interval: Duration,
    ) -> Option<(Compiled, bool)> {
        self.clock += 1;
        let now = self.clock;
        let entry = self.entries.get_mut(key)?;
        entry.used = now;
        let refresh = entry.touched.elapsed() >= touch_interval;
        if refresh {
            entry.touched = Instant::now();
        }
        Some((entry.compiled.clone(), refresh))
    }

    /// Keeps a newly compiled module of `size` bytes, making room under `cap` (unless it is
    /// kept already, or alone passes the cap).
    pub fn insert(&mut self, key: [u8; 32], compiled: Compiled, size: u64, cap: u64) {
        if self.entries.contains_key(&key) || size > cap {
            return;
        }
        self.make_room(size, cap, None);
        self.clock += 1;
        self.entries.insert(
            key,
            Entry {
                compiled,
                size,
                texts: Vec::new(),
                used: self.clock,
                touched: Instant::now(),
                senders: Vec::new(),
            },
        );
        self.bytes += size;
    }

    /// Remembers `text` as a way to find the module of `key`, if that module is kept and the
    /// text fits under `cap` beside it; a module known by too many texts forgets its oldest.
    pub fn learn(&mut self, key: &[u8; 32], text: SourceText, cap: u64) {
        let Some(entry) = self.entries.get(key) else {
            return;
        };
        if !entry.texts.iter().any(|known| known.is(text)) {
            let size = text.bytes.len() as u64;
            if entry.size + size > cap {
                return;
            }
            self.make_room(size, cap, Some(key));
            let entry = self.entries.get_mut(key).expect("spared by make_room");
            entry.texts.push(KnownText::new(text));
            entry.size += size;
            let forgotten = (entry.texts.len() > MAX_TEXTS_PER_MODULE).then(|| {
                let old = entry.texts.remove(0);
                entry.size -= old.size();
                old
            });
            self.bytes += size;
            if let Some(old) = forgotten {
                self.bytes -= old.size();
                self.unindex(&old, key);
            }
        }
        let leads = self.by_text.entry(fingerprint(text)).or_default();
        if !leads.contains(key) {
            if leads.len() >= MAX_PER_FINGERPRINT {
                leads.remove(0);
            }
            leads.push(*key);
        }
    }

    /// Records that `sender` sent the bytes of the module of `key` (if it is kept).
    pub fn sent_by(&mut self, key: &[u8; 32], sender: Principal) {
        if let Some(entry) = self.entries.get_mut(key)
            && !entry.senders.contains(&sender)
        {
            entry.senders.push(sender);
        }
    }

    /// Whether the module of `key` is kept and `sender` has sent its bytes.
    pub fn was_sent_by(&self, key: &[u8; 32], sender: Principal) -> bool {
        self.entries
            .get(key)
            .is_some_and(|entry| entry.senders.contains(&sender))
    }

    /// Bytes of compiled code and texts held.
    #[cfg(test)]
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Drops the least recently used entries (but `spare`) until `size` more bytes fit under
    /// `cap`, or nothing else is left to drop.
    fn make_room(&mut self, size: u64, cap: u64, spare: Option<&[u8; 32]>) {
        while self.bytes + size > cap {
            let Some(oldest) = self
                .entries
                .iter()
                .filter(|(k, _)| Some(*k) != spare)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some(old) = self.entries.remove(&oldest) {
                self.bytes -= old.size;
                for text in &old.texts {
                    self.unindex(text, &oldest);
                }
            }
        }
    }

    /// Forgets that `text`'s fingerprint leads to the module of `key`, unless another text the
    /// module is still known by has the same fingerprint.
    fn unindex(&mut self, text: &KnownText, key: &[u8; 32]) {
        let print = fingerprint(text.as_text());
        let still_led = self.entries.get(key).is_some_and(|entry| {
            entry
                .texts
                .iter()
                .any(|known| fingerprint(known.as_text()) == print)
        });
        if still_led {
            return;
        }
        if let Some(leads) = self.by_text.get_mut(&print) {
            leads.retain(|k| k != key);
            if leads.is_empty() {
                self.by_text.remove(&print);
            }
        }
    }
}
