//! The module cache's caps: memory and disk keep at most their bytes, least recently used
//! out first; the restart path (memory, then disk, then compile); and warm modules known by the
//! exact text they were sent as.

use super::*;
use crate::config::ComputeLimits;

const LOCAL: Principal = Principal::Local;

const UNCAPPED: CacheCaps = CacheCaps {
    memory_bytes: u64::MAX,
    disk_bytes: u64::MAX,
};

/// The text of a distinct module per `n`, all of the same shape (and so of about the same size).
fn text_of(n: u32) -> String {
    format!(r#"(module (func (export "_start")) (func (export "n") (result i32) i32.const {n}))"#)
}

fn module(n: u32) -> Vec<u8> {
    wat::parse_str(text_of(n)).unwrap()
}

fn raw(text: &str) -> SourceText<'_> {
    SourceText {
        kind: TextKind::Raw,
        bytes: text.as_bytes(),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aether-cache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn cache(engine: &Engine, dir: Option<&Path>, caps: CacheCaps) -> ModuleCache {
    let linker = super::super::runner::wasi_linker(engine).unwrap();
    ModuleCache::new(engine.clone(), linker, dir.map(Path::to_path_buf), caps)
}

fn source(cache: &ModuleCache, n: u32) -> Source {
    cache.get(&module(n)).unwrap().1
}

fn artifact_of(dir: &Path, n: u32) -> PathBuf {
    let key: [u8; 32] = Sha256::digest(module(n)).into();
    dir.join(format!("{}.cwasm", hex(&key)))
}

fn set_age(path: &Path, age: Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - age)
        .unwrap();
}

#[test]
fn modules_are_compiled_once_then_served_from_memory_and_after_a_restart_from_disk() {
    let dir = temp_dir("restart");
    let (engine, _ticker) = super::super::engine::build(&ComputeLimits::default()).unwrap();
    let first = cache(&engine, Some(&dir), UNCAPPED);
    assert_eq!(source(&first, 1), Source::Compiled);
    assert_eq!(source(&first, 1), Source::Memory);
    // A new cache over the same folder, as after a restart: no compilation.
    let restarted = cache(&engine, Some(&dir), UNCAPPED);
    assert_eq!(source(&restarted, 1), Source::Disk);
    // A torn artifact is compiled again, not trusted.
    std::fs::write(artifact_of(&dir, 1), b"torn").unwrap();
    let again = cache(&engine, Some(&dir), UNCAPPED);
    assert_eq!(source(&again, 1), Source::Compiled);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn memory_keeps_compiled_code_up_to_its_cap_dropping_the_least_recently_used() {
    let (engine, _ticker) = super::super::engine::build(&ComputeLimits::default()).unwrap();
    let probe = cache(&engine, None, UNCAPPED);
    source(&probe, 0);
    let one = probe.memory_bytes();
    assert!(one > 0, "a compiled module has a size");
    let cap = one * 2 + one / 2;
    let capped = cache(
        &engine,
        None,
        CacheCaps {
            memory_bytes: cap,
            disk_bytes: u64::MAX,
        },
    );
    assert_eq!(source(&capped, 1), Source::Compiled);
    assert_eq!(source(&capped, 2), Source::Compiled);
    assert_eq!(source(&capped, 1), Source::Memory);
    // A third does not fit: 2, the least recently used, makes room.
    assert_eq!(source(&capped, 3), Source::Compiled);
    assert!(capped.memory_bytes() <= cap);
    assert_eq!(source(&capped, 1), Source::Memory);
    assert_eq!(source(&capped, 3), Source::Memory);
    assert_eq!(source(&capped, 2), Source::Compiled);
}

#[test]
fn disk_keeps_artifacts_up_to_its_cap_deleting_the_least_recently_used() {
    let dir = temp_dir("disk-lru");
    let (engine, _ticker) = super::super::engine::build(&ComputeLimits::default()).unwrap();
    let unbounded = cache(&engine, Some(&dir), UNCAPPED);
    source(&unbounded, 1);
    source(&unbounded, 2);
    let one = [1, 2]
        .iter()
        .map(|&n| std::fs::metadata(artifact_of(&dir, n)).unwrap().len())
        .max()
        .unwrap();
    // 1 is the older, but a load from disk makes it the most recently used.
    set_age(&artifact_of(&dir, 1), Duration::from_secs(7200));
    set_age(&artifact_of(&dir, 2), Duration::from_secs(3600));
    let cap = one * 2 + one / 2;
    let capped = cache(
        &engine,
        Some(&dir),
        CacheCaps {
            memory_bytes: u64::MAX,
            disk_bytes: cap,
        },
    );
    assert_eq!(source(&capped, 1), Source::Disk);
    assert_eq!(source(&capped, 3), Source::Compiled);
    let total: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(total <= cap, "{total} bytes on disk, cap {cap}");
    assert!(
        !artifact_of(&dir, 2).exists(),
        "the least recently used stays"
    );
    let restarted = cache(&engine, Some(&dir), UNCAPPED);
    assert_eq!(source(&restarted, 1), Source::Disk);
    assert_eq!(source(&restarted, 3), Source::Disk);
    assert_eq!(source(&restarted, 2), Source::Compiled);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_module_is_recalled_only_by_a_text_it_was_sent_as_and_forgotten_with_it() {
    let (engine, _ticker) = super::super::engine::build(&ComputeLimits::default()).unwrap();
    let probe = cache(&engine, None, UNCAPPED);
    source(&probe, 0);
    let one = probe.memory_bytes();
    // Room for one module and its texts, not two modules.
    let cap = one + one / 2;
    let capped = cache(
        &engine,
        None,
        CacheCaps {
            memory_bytes: cap,
            disk_bytes: u64::MAX,
        },
    );
    let (first, second) = (text_of(1), text_of(2));
    assert!(
        capped.recall(raw(&first), LOCAL).is_none(),
        "nothing is known yet"
    );
    capped.get_sent_as(raw(&first), &module(1), LOCAL).unwrap();
    assert!(capped.recall(raw(&first), LOCAL).is_some());
    assert_eq!(capped.memory_bytes(), one + first.len() as u64);
    // The same bytes read another way, or another text, are not this module.
    let as_base64 = SourceText {
        kind: TextKind::Base64,
        bytes: first.as_bytes(),
    };
    assert!(capped.recall(as_base64, LOCAL).is_none());
    assert!(capped.recall(raw(&second), LOCAL).is_none());
    // A module known by more texts forgets the oldest.
    let spaced = [" ", "  ", "   "].map(|pad| format!("{first}{pad}"));
    for text in &spaced {
        capped.get_sent_as(raw(text), &module(1), LOCAL).unwrap();
    }
    assert!(
        capped.recall(raw(&first), LOCAL).is_none(),
        "the oldest text is forgotten"
    );
    assert!(capped.recall(raw(&spaced[2]), LOCAL).is_some());
    // A module that makes room for another takes its texts along.
    capped.get_sent_as(raw(&second), &module(2), LOCAL).unwrap();
    assert!(capped.recall(raw(&spaced[2]), LOCAL).is_none());
    assert!(capped.recall(raw(&second), LOCAL).is_some());
    assert_eq!(capped.memory_bytes(), one + second.len() as u64);
}

#[test]
fn a_module_is_found_by_its_sha256_only_by_a_principal_that_sent_it() {
    let engine = Engine::default();
    let cache = cache(&engine, None, UNCAPPED);
    let key: [u8; 32] = Sha256::digest(module(1)).into();
    assert!(cache.by_sha256(&key, LOCAL).is_none(), "never sent");
    let text = text_of(1);
    let (compiled, _) = cache.get_sent_as(raw(&text), &module(1), LOCAL).unwrap();
    assert_eq!(compiled.sha256, key);
    assert!(cache.by_sha256(&key, LOCAL).is_some());
    // Knowing the hash lends nothing: another principal must send the bytes itself.
    assert!(cache.by_sha256(&key, Principal::TokenHolder).is_none());
    assert!(cache.recall(raw(&text), Principal::TokenHolder).is_some());
    assert!(cache.by_sha256(&key, Principal::TokenHolder).is_some());
    assert!(cache.by_sha256(&key, Principal::Admin).is_none());
}
