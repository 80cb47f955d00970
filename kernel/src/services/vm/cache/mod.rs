//! Compiled modules, keyed by the sha256 of their wasm bytes: in memory with their `InstancePre`
//! and the texts they were last sent as (at most `module_cache_memory_bytes` of compiled code and
//! texts together; see [`texts`] for how a warm module is known by its text without decoding,
//! parsing or hashing it), and on disk as precompiled artifacts
//! under `<data_dir>/modules/` (at most `module_cache_disk_bytes`) so a restarted kernel does not
//! compile again. A module in memory can also be asked for by its sha256 alone, by a principal
//! that has sent its bytes (a `vm.spawn` with `module: {sha256}`): knowing a hash never lends
//! another principal's module. Both drop their least recently used modules first; on disk "used" is the
//! artifact's modification time, set when it is written, loaded, or (at most once a minute) run
//! from memory.
//!
//! Artifacts are only ever written by this kernel; one that fails to load (another wasmtime
//! version, a torn file) is compiled again and replaced.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, InstancePre, Linker, Module};

use crate::guard::Principal;

use self::memory::MemoryCache;
pub use self::texts::{SourceText, TextKind};
use super::program::GuestState;

mod memory;
mod texts;

/// How often a module run from memory refreshes its artifact's time on disk, so that the disk
/// cache does not evict a module that is in constant use.
const DISK_TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// A module ready to instantiate.
#[derive(Clone)]
pub struct Compiled {
    pub pre: InstancePre<GuestState>,
    /// The sha256 of its wasm bytes, the cache's key.
    pub sha256: [u8; 32],
}

/// Where a compiled module came from (for the benchmarks and logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Memory,
    Disk,
    Compiled,
}

/// The caps of the cache, in bytes (`compute.module_cache_*_bytes`).
#[derive(Clone, Copy, Debug)]
pub struct CacheCaps {
    /// Compiled code kept in memory.
    pub memory_bytes: u64,
    /// Artifacts kept on disk.
    pub disk_bytes: u64,
}

pub struct ModuleCache {
    engine: Engine,
    linker: Linker<GuestState>,
    dir: Option<PathBuf>,
    caps: CacheCaps,
    memory: Mutex<MemoryCache>,
}

impl ModuleCache {
    pub fn new(
        engine: Engine,
        linker: Linker<GuestState>,
        dir: Option<PathBuf>,
        caps: CacheCaps,
    ) -> ModuleCache {
        if let Some(dir) = &dir
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            tracing::warn!(
                "module cache folder {} unusable ({e}); caching in memory only",
                dir.display()
            );
        }
        ModuleCache {
            engine,
            linker,
            dir,
            caps,
            memory: Mutex::new(MemoryCache::default()),
        }
    }

    /// The compiled module last sent as `text`, if it is still in memory. Cheap (a fingerprint
    /// and one comparison with the remembered text; nothing is decoded, parsed or hashed): fine
    /// to call on the runtime.
    /// `sender` has just sent that text, and so may ask for the module by its hash from now on.
    pub fn recall(&self, text: SourceText, sender: Principal) -> Option<Compiled> {
        let mut memory = self.memory.lock().expect("cache lock");
        let key = memory.known_as(text)?;
        memory.sent_by(&key, sender);
        self.use_entry(memory, &key)
    }

    /// The module of `sha256`, if it is in memory and `sender` has sent its bytes before. Cheap:
    /// fine to call on the runtime.
    pub fn by_sha256(&self, sha256: &[u8; 32], sender: Principal) -> Option<Compiled> {
        let memory = self.memory.lock().expect("cache lock");
        if !memory.was_sent_by(sha256, sender) {
            return None;
        }
        self.use_entry(memory, sha256)
    }

    /// The compiled form of `wasm`, which was sent as `text`, compiling it if needed; the cache
    /// then knows it by `text` too (see [`ModuleCache::recall`]). CPU-heavy: call off the
    /// runtime. Errors carry the compiler's message (a bad module, or missing imports).
    /// `sender` may ask for it by its hash from now on.
    pub fn get_sent_as(
        &self,
        text: SourceText,
        wasm: &[u8],
        sender: Principal,
    ) -> wasmtime::Result<(Compiled, Source)> {
        let (compiled, source) = self.get_keyed(wasm)?;
        self.learn(&compiled.sha256, text, sender);
        Ok((compiled, source))
    }

    /// The compiled form of `wasm`, compiling it if needed (the tests' way in).
    #[cfg(test)]
    pub fn get(&self, wasm: &[u8]) -> wasmtime::Result<(Compiled, Source)> {
        self.get_keyed(wasm)
    }

    fn get_keyed(&self, wasm: &[u8]) -> wasmtime::Result<(Compiled, Source)> {
        let key: [u8; 32] = Sha256::digest(wasm).into();
        if let Some(compiled) = self.in_memory(&key) {
            return Ok((compiled, Source::Memory));
        }
        let (module, source) = self.load_or_compile(&key, wasm)?;
        let compiled = Compiled {
            pre: self.linker.instantiate_pre(&module)?,
            sha256: key,
        };
        self.remember(key, compiled.clone(), compiled_size(&module));
        Ok((compiled, source))
    }

    fn in_memory(&self, key: &[u8; 32]) -> Option<Compiled> {
        let memory = self.memory.lock().expect("cache lock");
        self.use_entry(memory, key)
    }

    /// Marks the entry of `key` used now and hands out its module; refreshes its artifact's
    /// time on disk at most once a [`DISK_TOUCH_INTERVAL`].
    fn use_entry(
        &self,
        mut memory: std::sync::MutexGuard<'_, MemoryCache>,
        key: &[u8; 32],
    ) -> Option<Compiled> {
        let (compiled, refresh) = memory.take_out(key, DISK_TOUCH_INTERVAL)?;
        drop(memory);
        if refresh && let Some(path) = self.artifact(key) {
            touch(&path);
        }
        Some(compiled)
    }

    /// Remembers `text` as a way to find the module of `key` (if it is kept in memory and the
    /// text fits under the memory cap beside it), and `sender` as one who sent its bytes.
    fn learn(&self, key: &[u8; 32], text: SourceText, sender: Principal) {
        let mut memory = self.memory.lock().expect("cache lock");
        memory.learn(key, text, self.caps.memory_bytes);
        memory.sent_by(key, sender);
    }

    fn artifact(&self, key: &[u8; 32]) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{}.cwasm", hex(key))))
    }

    fn load_or_compile(&self, key: &[u8; 32], wasm: &[u8]) -> wasmtime::Result<(Module, Source)> {
        let path = self.artifact(key);
        if let Some(path) = path.as_ref().filter(|p| p.exists()) {
            // Read, not mapped: a file changed under a mapping would crash the kernel.
            match std::fs::read(path) {
                // SAFETY: the file was written by `Module::serialize` of this kernel (the folder
                // is the kernel's own data dir); wasmtime checks the engine and version
                // compatibility and refuses anything else, which we then recompile.
                Ok(bytes) => match unsafe { Module::deserialize(&self.engine, &bytes) } {
                    Ok(module) => {
                        touch(path);
                        return Ok((module, Source::Disk));
                    }
                    Err(e) => tracing::debug!("stale module artifact {}: {e}", path.display()),
                },
                Err(e) => tracing::debug!("unreadable module artifact {}: {e}", path.display()),
            }
        }
        let module = Module::from_binary(&self.engine, wasm)?;
        if let Some(path) = path {
            self.store(&module, &path);
        }
        Ok((module, Source::Compiled))
    }

    /// Writes a module's artifact (unless it alone passes the disk cap), then trims the folder.
    fn store(&self, module: &Module, path: &Path) {
        let bytes = match module.serialize() {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::debug!("could not serialize a module: {e}");
                return;
            }
        };
        if bytes.len() as u64 > self.caps.disk_bytes {
            tracing::debug!(
                "a compiled module of {} bytes passes module_cache_disk_bytes; not stored",
                bytes.len()
            );
            return;
        }
        let tmp = path.with_extension("tmp");
        if std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, path))
            .is_err()
        {
            let _ = std::fs::remove_file(&tmp);
            tracing::debug!("could not store {}", path.display());
            return;
        }
        if let Some(dir) = &self.dir {
            evict_from_disk(dir, self.caps.disk_bytes);
        }
    }

    fn remember(&self, key: [u8; 32], compiled: Compiled, size: u64) {
        let mut memory = self.memory.lock().expect("cache lock");
        memory.insert(key, compiled, size, self.caps.memory_bytes);
    }

    /// Bytes of compiled code and texts held in memory.
    #[cfg(test)]
    fn memory_bytes(&self) -> u64 {
        self.memory.lock().expect("cache lock").bytes()
    }
}

/// The memory a compiled module holds: its code image (machine code, data, metadata).
fn compiled_size(module: &Module) -> u64 {
    let image = module.image_range();
    (image.end as usize).saturating_sub(image.start as usize) as u64
}

/// Marks an artifact as used now (its modification time is the disk cache's clock).
fn touch(path: &Path) {
    let touched = std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()));
    if let Err(e) = touched {
        tracing::debug!("could not touch {}: {e}", path.display());
    }
}

/// Deletes the least recently used artifacts of `dir` until they total at most `cap` bytes.
fn evict_from_disk(dir: &Path, cap: u64) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    let mut artifacts: Vec<(SystemTime, u64, PathBuf)> = listing
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((meta.modified().ok()?, meta.len(), e.path()))
        })
        .collect();
    let mut total: u64 = artifacts.iter().map(|(_, len, _)| len).sum();
    if total <= cap {
        return;
    }
    artifacts.sort();
    for (_, len, path) in artifacts {
        if total <= cap {
            break;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => total -= len,
            Err(e) => tracing::debug!("could not evict {}: {e}", path.display()),
        }
    }
}

/// Lowercase hex of `bytes` (artifact names, `stats.module_sha256`).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
