//! Compiled modules, keyed by the sha256 of their wasm bytes: in memory (bounded by the total
//! size of the modules it holds) with their `InstancePre`, and on disk as precompiled artifacts
//! under `<data_dir>/modules/` so a restarted kernel does not compile again.
//!
//! Artifacts are only ever written by this kernel; one that fails to load (another wasmtime
//! version, a torn file) is compiled again and replaced.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use wasmtime::{Engine, InstancePre, Linker, Module};

use super::program::GuestState;

/// Total wasm bytes of the modules kept in memory.
const MEMORY_BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// A module ready to instantiate.
#[derive(Clone)]
pub struct Compiled {
    pub pre: InstancePre<GuestState>,
}

/// Where a compiled module came from (for the benchmarks and logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Memory,
    Disk,
    Compiled,
}

pub struct ModuleCache {
    engine: Engine,
    linker: Linker<GuestState>,
    dir: Option<PathBuf>,
    memory: Mutex<MemoryCache>,
}

#[derive(Default)]
struct MemoryCache {
    entries: HashMap<[u8; 32], (Compiled, usize)>,
    order: VecDeque<[u8; 32]>,
    bytes: usize,
}

impl ModuleCache {
    pub fn new(engine: Engine, linker: Linker<GuestState>, dir: Option<PathBuf>) -> ModuleCache {
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
            memory: Mutex::new(MemoryCache::default()),
        }
    }

    /// The compiled form of `wasm`, compiling it if needed. CPU-heavy: call off the runtime.
    /// Errors carry the compiler's message (a bad module, or missing imports).
    pub fn get(&self, wasm: &[u8]) -> wasmtime::Result<(Compiled, Source)> {
        let key: [u8; 32] = Sha256::digest(wasm).into();
        if let Some((compiled, _)) = self.memory.lock().expect("cache lock").entries.get(&key) {
            return Ok((compiled.clone(), Source::Memory));
        }
        let (module, source) = self.load_or_compile(&key, wasm)?;
        let compiled = Compiled {
            pre: self.linker.instantiate_pre(&module)?,
        };
        self.remember(key, compiled.clone(), wasm.len());
        Ok((compiled, source))
    }

    fn load_or_compile(&self, key: &[u8; 32], wasm: &[u8]) -> wasmtime::Result<(Module, Source)> {
        let path = self
            .dir
            .as_ref()
            .map(|d| d.join(format!("{}.cwasm", hex(key))));
        if let Some(path) = path.as_ref().filter(|p| p.exists()) {
            // Read, not mapped: a file changed under a mapping would crash the kernel.
            match std::fs::read(path) {
                // SAFETY: the file was written by `Module::serialize` of this kernel (the folder
                // is the kernel's own data dir); wasmtime checks the engine and version
                // compatibility and refuses anything else, which we then recompile.
                Ok(bytes) => match unsafe { Module::deserialize(&self.engine, &bytes) } {
                    Ok(module) => return Ok((module, Source::Disk)),
                    Err(e) => tracing::debug!("stale module artifact {}: {e}", path.display()),
                },
                Err(e) => tracing::debug!("unreadable module artifact {}: {e}", path.display()),
            }
        }
        let module = Module::from_binary(&self.engine, wasm)?;
        if let Some(path) = path {
            match module.serialize() {
                Ok(bytes) => {
                    let tmp = path.with_extension("tmp");
                    if std::fs::write(&tmp, bytes)
                        .and_then(|()| std::fs::rename(&tmp, &path))
                        .is_err()
                    {
                        tracing::debug!("could not store {}", path.display());
                    }
                }
                Err(e) => tracing::debug!("could not serialize a module: {e}"),
            }
        }
        Ok((module, Source::Compiled))
    }

    fn remember(&self, key: [u8; 32], compiled: Compiled, size: usize) {
        let mut memory = self.memory.lock().expect("cache lock");
        if memory.entries.contains_key(&key) || size > MEMORY_BUDGET_BYTES {
            return;
        }
        while memory.bytes + size > MEMORY_BUDGET_BYTES {
            let Some(old) = memory.order.pop_front() else {
                break;
            };
            if let Some((_, old_size)) = memory.entries.remove(&old) {
                memory.bytes -= old_size;
            }
        }
        memory.entries.insert(key, (compiled, size));
        memory.order.push_back(key);
        memory.bytes += size;
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ComputeLimits;

    #[test]
    fn modules_are_compiled_once_then_served_from_memory_and_after_a_restart_from_disk() {
        let dir = std::env::temp_dir().join(format!("aether-cache-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (engine, _ticker) = super::super::engine::build(&ComputeLimits::default()).unwrap();
        let wasm = wat::parse_str(r#"(module (func (export "_start")))"#).unwrap();
        let linker = || super::super::wasi_linker(&engine).unwrap();

        let first = ModuleCache::new(engine.clone(), linker(), Some(dir.clone()));
        assert_eq!(first.get(&wasm).unwrap().1, Source::Compiled);
        assert_eq!(first.get(&wasm).unwrap().1, Source::Memory);
        // A new cache over the same folder, as after a restart: no compilation.
        let restarted = ModuleCache::new(engine.clone(), linker(), Some(dir.clone()));
        assert_eq!(restarted.get(&wasm).unwrap().1, Source::Disk);
        // A torn artifact is compiled again, not trusted.
        let artifact = std::fs::read_dir(&dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        std::fs::write(&artifact, b"torn").unwrap();
        let again = ModuleCache::new(engine.clone(), linker(), Some(dir.clone()));
        assert_eq!(again.get(&wasm).unwrap().1, Source::Compiled);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
