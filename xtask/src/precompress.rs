//! Precompressing the built desktop: a `.br` and a `.gz` beside every compressible file in `target/dist`.
//!
//! The kernel embeds these siblings and serves them by `Accept-Encoding`, so compression happens once at
//! build time at the highest useful level instead of per request. Only text-like assets over 1 KiB are
//! compressed (smaller ones gain nothing over the headers). Brotli runs at quality 11 up to 2 MiB (the
//! desktop wasm comes out 10% smaller than at 9, for ~3 s) and at quality 9 above it, where 11 costs
//! minutes for a few percent. This module never touches other files.
//!
//! The x86 guest's tools blobs (`v86/tools/t-<hash>.bin`, [`Profile::ToolBlob`]) are many MiB of
//! i386 programs and libraries, fetched one by one by the guest's 9p share and never all at once:
//! brotli 11 on them took minutes, and brotli at any quality saved only ~7% over gzip on them
//! (q5: 33.7 MB, gzip -6: 36.5 MB of 84 MB) while a `.br` would grow the kernel that embeds it by as
//! much again. So they get only a `.gz`, at level 6 (level 9 saves 0.3% for 1.7× the time), and
//! only when it is at least 1/16 smaller than the blob ([`keeps_gzip`]); a cold run over them takes
//! seconds, not minutes.
//!
//! Compression is keyed by content: each result is kept in a cache folder under the SHA-256 of the source,
//! so a rebuild that produced the same bytes (Trunk rewrites every file) costs a hash, not a brotli run,
//! and a sibling whose bytes did not change is not rewritten (its mtime, which the kernel's build goes by,
//! stays). Cache entries no file used in a run are removed at its end.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use brotli::enc::BrotliEncoderParams;
use brotli::enc::backward_references::BrotliEncoderMode;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use crate::guest_image::{BLOB_DIR, is_blob_name};

/// Extensions of the files worth compressing: text, wasm, and the x86 guest's images (`bin`, `img`:
/// its kernel is stored unpacked, 14.5 MiB that brotli takes to about a third).
pub const EXTENSIONS: &[&str] = &[
    "js", "wasm", "css", "html", "svg", "json", "txt", "map", "bin", "img",
];
/// Files of this size or smaller are served as they are.
pub const MIN_BYTES: u64 = 1024;
/// Above this size brotli drops from quality 11 to 9.
pub const LARGE_BYTES: u64 = 2 * 1024 * 1024;

/// Whether a file with this name and size gets `.br` and `.gz` siblings.
pub fn is_compressible(path: &Path, len: u64) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    len > MIN_BYTES && EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext))
}

/// Brotli quality for a file of `len` bytes.
pub fn brotli_quality(len: u64) -> i32 {
    if len > LARGE_BYTES { 9 } else { 11 }
}

/// Bumped when the compression settings change, so older cache entries are not reused.
const RECIPE: &str = "br11-9.gz9.v1";
/// The same for the tools' blobs.
const BLOB_RECIPE: &str = "gz6.v1";
/// The gzip level of the tools' blobs.
pub const BLOB_GZIP_LEVEL: u32 = 6;

/// How a file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The desktop's assets: brotli (quality by size) and gzip -9.
    Asset,
    /// A blob of the guest's tools (`tools/t-<16 hex>.bin`): gzip -6 only, kept when it shrinks.
    ToolBlob,
}

/// The profile of a file, by its name and folder.
pub fn profile(path: &Path) -> Profile {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let folder = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str());
    if folder == Some(BLOB_DIR) && is_blob_name(name) {
        Profile::ToolBlob
    } else {
        Profile::Asset
    }
}

/// Whether a tools blob of `len` bytes keeps a `.gz` of `gz` bytes: when that saves 1/16 at least.
pub fn keeps_gzip(len: u64, gz: u64) -> bool {
    gz <= len - len / 16
}

/// What [`precompress_dir`] did.
#[derive(Debug, Default)]
pub struct Summary {
    pub compressed: usize,
    pub cached: usize,
    pub bytes_in: u64,
    pub bytes_br: u64,
    pub bytes_gz: u64,
    /// Tools blobs compressed in this run (not counted in `compressed`), their bytes, their `.gz`
    /// bytes, and those found in the cache (not counted in `cached`).
    pub blobs: usize,
    pub blobs_cached: usize,
    pub blob_bytes_in: u64,
    pub blob_bytes_gz: u64,
}

/// Writes `.br` and `.gz` siblings for every compressible file under `dir` (recursively), compressing only
/// contents the `cache` folder has not seen. Deletes nothing in `dir`: Trunk empties the folder on every
/// build, and a `.gz` there may be an asset of its own. Uses every core: brotli 11 on a few MiB of wasm is
/// the slow part.
pub fn precompress_dir(dir: &Path, cache: &Path) -> Result<Summary> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;

    let mut summary = Summary::default();
    let mut todo: Vec<Job> = Vec::new();
    let mut keyed: Vec<Keyed> = Vec::new();
    for path in files {
        let len = fs::metadata(&path)?.len();
        if !is_compressible(&path, len) {
            continue;
        }
        let data = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let profile = profile(&path);
        let key = cache_key(&data, profile);
        let job = Job {
            br: (profile == Profile::Asset).then(|| cache.join(format!("{key}.br"))),
            gz: cache.join(format!("{key}.gz")),
            path: path.clone(),
            len,
            profile,
        };
        keyed.push(Keyed {
            path,
            key,
            len,
            profile,
        });
        if job.br.as_ref().is_none_or(|br| br.is_file()) && job.gz.is_file() {
            match profile {
                Profile::Asset => summary.cached += 1,
                Profile::ToolBlob => summary.blobs_cached += 1,
            }
        } else {
            todo.push(job);
        }
    }
    // Largest first, so the long brotli job starts at once and the small ones fill the other cores.
    todo.sort_by_key(|job| std::cmp::Reverse(job.len));

    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(todo.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(job) = todo.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = compress_file(job);
                    results
                        .lock()
                        .expect("no worker panics while holding the lock")
                        .push(result);
                }
            });
        }
    });

    for result in results.into_inner().expect("workers finished") {
        let done = result?;
        if done.profile == Profile::ToolBlob {
            summary.blobs += 1;
            summary.blob_bytes_in += done.len;
            summary.blob_bytes_gz += done.gz;
            continue;
        }
        println!(
            "    {:<40} {:>9} -> br {:>9} (q{}), gz {:>9}  {:.1}s",
            done.path.strip_prefix(dir).unwrap_or(&done.path).display(),
            size(done.len),
            size(done.br),
            brotli_quality(done.len),
            size(done.gz),
            done.secs
        );
        summary.compressed += 1;
        summary.bytes_in += done.len;
        summary.bytes_br += done.br;
        summary.bytes_gz += done.gz;
    }
    if summary.blobs > 0 {
        println!(
            "    {:<40} {:>9} -> gz {:>9} (gzip -{BLOB_GZIP_LEVEL} only, kept where it saves 1/16), {} more cached",
            format!("{BLOB_DIR}/: {} blobs compressed", summary.blobs),
            size(summary.blob_bytes_in),
            size(summary.blob_bytes_gz),
            summary.blobs_cached
        );
    }
    place_siblings(&keyed, cache)?;
    prune(cache, &keyed)?;
    Ok(summary)
}

/// A compressible file of this run and its cache key.
struct Keyed {
    path: PathBuf,
    key: String,
    len: u64,
    profile: Profile,
}

/// One file to compress and where its cached results go (no `.br` for a tools blob).
struct Job {
    path: PathBuf,
    len: u64,
    br: Option<PathBuf>,
    gz: PathBuf,
    profile: Profile,
}

/// The cache name of a source's compressed forms: its SHA-256 and the settings.
fn cache_key(data: &[u8], profile: Profile) -> String {
    let recipe = match profile {
        Profile::Asset => RECIPE,
        Profile::ToolBlob => BLOB_RECIPE,
    };
    let digest = Sha256::new()
        .chain_update(recipe)
        .chain_update(data)
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Copies each file's cached `.br`/`.gz` beside it, rewriting a sibling only when it differs (a
/// tools blob's `.gz` only when it shrinks enough, its `.br` never).
fn place_siblings(keyed: &[Keyed], cache: &Path) -> Result<()> {
    for Keyed {
        path,
        key,
        len,
        profile,
    } in keyed
    {
        for ext in ["br", "gz"] {
            let sibling = sibling(path, ext);
            if *profile == Profile::ToolBlob {
                let gz = fs::metadata(cache.join(format!("{key}.gz")))?.len();
                if ext == "br" || !keeps_gzip(*len, gz) {
                    if sibling.is_file() {
                        fs::remove_file(&sibling)?;
                    }
                    continue;
                }
            }
            let cached = fs::read(cache.join(format!("{key}.{ext}")))
                .with_context(|| format!("reading the cached .{ext} of {}", path.display()))?;
            if fs::read(&sibling).is_ok_and(|old| old == cached) {
                continue;
            }
            fs::write(&sibling, &cached)
                .with_context(|| format!("writing {}", sibling.display()))?;
        }
    }
    Ok(())
}

/// Removes cache entries no file used in this run.
fn prune(cache: &Path, keyed: &[Keyed]) -> Result<()> {
    let used: std::collections::BTreeSet<&str> = keyed.iter().map(|k| k.key.as_str()).collect();
    for entry in fs::read_dir(cache).with_context(|| format!("listing {}", cache.display()))? {
        let path = entry?.path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if !used.contains(stem) {
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// One compressed file.
struct Done {
    path: PathBuf,
    len: u64,
    br: u64,
    gz: u64,
    secs: f64,
    profile: Profile,
}

fn compress_file(job: &Job) -> Result<Done> {
    let started = Instant::now();
    let (path, len) = (job.path.as_path(), job.len);
    let data = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let Some(br_path) = &job.br else {
        let mut gz = GzEncoder::new(
            Vec::with_capacity(data.len() / 2),
            Compression::new(BLOB_GZIP_LEVEL),
        );
        gz.write_all(&data)?;
        let gz = gz.finish()?;
        write_entry(&gz, &job.gz)?;
        return Ok(Done {
            path: path.to_path_buf(),
            len,
            br: 0,
            gz: gz.len() as u64,
            secs: started.elapsed().as_secs_f64(),
            profile: job.profile,
        });
    };

    let is_wasm = path.extension().is_some_and(|e| e == "wasm");
    let params = BrotliEncoderParams {
        quality: brotli_quality(len),
        // A 16 MiB window helps multi-MiB wasm; every browser decodes up to 2^24.
        lgwin: if len > LARGE_BYTES { 24 } else { 22 },
        mode: if is_wasm {
            BrotliEncoderMode::BROTLI_MODE_GENERIC
        } else {
            BrotliEncoderMode::BROTLI_MODE_TEXT
        },
        size_hint: data.len(),
        ..BrotliEncoderParams::default()
    };
    let mut br = Vec::with_capacity(data.len() / 3);
    brotli::BrotliCompress(&mut data.as_slice(), &mut br, &params)
        .with_context(|| format!("brotli-compressing {}", path.display()))?;

    let mut gz = GzEncoder::new(Vec::with_capacity(data.len() / 3), Compression::best());
    gz.write_all(&data)?;
    let gz = gz.finish()?;

    write_entry(&br, br_path)?;
    write_entry(&gz, &job.gz)?;
    Ok(Done {
        path: path.to_path_buf(),
        len,
        br: br.len() as u64,
        gz: gz.len() as u64,
        secs: started.elapsed().as_secs_f64(),
        profile: job.profile,
    })
}

/// Writes a cache entry under a temporary name and renames it, so an interrupted run never leaves
/// half an entry.
fn write_entry(bytes: &[u8], to: &Path) -> Result<()> {
    let partial = sibling(to, "partial");
    fs::write(&partial, bytes).with_context(|| format!("writing {}", partial.display()))?;
    fs::rename(&partial, to).with_context(|| format!("writing {}", to.display()))
}

/// `app.js` → `app.js.br`.
pub fn sibling(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

/// Collects the plain files under `dir`.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, files)?;
        } else if kind.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// `1234567` → `1.2 MiB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn text_and_wasm_over_one_kib_are_compressed() {
        for name in [
            "app.js",
            "app_bg.wasm",
            "style.css",
            "index.html",
            "icon.svg",
            "m.json",
            "a.txt",
            "a.js.map",
        ] {
            assert!(is_compressible(Path::new(name), 1025), "{name}");
        }
        assert!(is_compressible(Path::new("APP.JS"), 5000));
        // The x86 guest's kernel (unpacked at build time), BIOS and initramfs.
        assert!(is_compressible(Path::new("bzimage-0123.bin"), 1 << 20));
        assert!(is_compressible(Path::new("initrd-0123.img"), 1 << 20));
    }

    #[test]
    fn small_files_and_binary_assets_are_left_alone() {
        assert!(!is_compressible(Path::new("app.js"), 1024));
        assert!(!is_compressible(Path::new("app.js"), 10));
        for name in [
            "photo.png",
            "font.woff2",
            "app.js.br",
            "app.js.gz",
            "README",
        ] {
            assert!(!is_compressible(Path::new(name), 1 << 20), "{name}");
        }
    }

    #[test]
    fn brotli_drops_to_quality_nine_above_one_mib() {
        assert_eq!(brotli_quality(2048), 11);
        assert_eq!(brotli_quality(LARGE_BYTES), 11);
        assert_eq!(brotli_quality(LARGE_BYTES + 1), 9);
    }

    #[test]
    fn siblings_decompress_to_the_source_and_other_files_are_untouched() {
        let dir = std::env::temp_dir().join(format!("xtask-precompress-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("snippets")).unwrap();
        let js = "export function hello() { return 'hello aether'; }\n".repeat(100);
        fs::write(dir.join("app.js"), &js).unwrap();
        fs::write(dir.join("snippets/tiny.js"), "x").unwrap();
        fs::write(dir.join("logo.png"), vec![7u8; 4096]).unwrap();
        fs::write(dir.join("disk.img.gz"), vec![1u8; 4096]).unwrap();

        let cache = dir.with_extension("cache");
        let _ = fs::remove_dir_all(&cache);
        let summary = precompress_dir(&dir, &cache).unwrap();
        assert_eq!(summary.compressed, 1);
        assert!(!dir.join("snippets/tiny.js.br").exists());
        assert!(!dir.join("logo.png.br").exists());
        assert!(!dir.join("disk.img.gz.br").exists());
        assert!(dir.join("disk.img.gz").exists());

        let mut br = Vec::new();
        brotli::Decompressor::new(fs::File::open(dir.join("app.js.br")).unwrap(), 4096)
            .read_to_end(&mut br)
            .unwrap();
        assert_eq!(br, js.as_bytes());
        let mut gz = String::new();
        flate2::read::GzDecoder::new(fs::File::open(dir.join("app.js.gz")).unwrap())
            .read_to_string(&mut gz)
            .unwrap();
        assert_eq!(gz, js);

        // Rewritten with the same bytes (as Trunk does): served from the cache, siblings not rewritten.
        let br_time = fs::metadata(dir.join("app.js.br"))
            .unwrap()
            .modified()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(dir.join("app.js"), &js).unwrap();
        let again = precompress_dir(&dir, &cache).unwrap();
        assert_eq!((again.compressed, again.cached), (0, 1));
        let br_after = fs::metadata(dir.join("app.js.br"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(br_time, br_after, "an unchanged sibling keeps its mtime");

        // Changed content is compressed anew and the old cache entry is dropped.
        let js2 = js.replace("hello", "howdy");
        fs::write(dir.join("app.js"), &js2).unwrap();
        let changed = precompress_dir(&dir, &cache).unwrap();
        assert_eq!((changed.compressed, changed.cached), (1, 0));
        let mut gz = String::new();
        flate2::read::GzDecoder::new(fs::File::open(dir.join("app.js.gz")).unwrap())
            .read_to_string(&mut gz)
            .unwrap();
        assert_eq!(gz, js2);
        assert_eq!(
            fs::read_dir(&cache).unwrap().count(),
            2,
            "one .br and one .gz"
        );
        fs::remove_dir_all(&dir).unwrap();
        fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn tools_blobs_get_only_a_gzip_that_shrinks_them() {
        let blob = Path::new("v86/tools/t-0123456789abcdef.bin");
        assert_eq!(profile(blob), Profile::ToolBlob);
        assert!(is_compressible(blob, 4096));
        assert_eq!(
            profile(Path::new("v86/t-0123456789abcdef.bin")),
            Profile::Asset
        );
        assert_eq!(
            profile(Path::new("v86/bzimage-0123456789abcdef.bin")),
            Profile::Asset
        );
        assert!(keeps_gzip(1600, 1500));
        assert!(!keeps_gzip(1600, 1501));

        let dir =
            std::env::temp_dir().join(format!("xtask-precompress-blobs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let tools = dir.join("v86/tools");
        fs::create_dir_all(&tools).unwrap();
        let text = "def main():\n    print('hello')\n".repeat(200);
        let shrinks = tools.join("t-00000000000000aa.bin");
        fs::write(&shrinks, &text).unwrap();
        // Bytes that do not compress (a xorshift stream).
        let mut x: u32 = 2463534242;
        let noise: Vec<u8> = (0..8192)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let stays = tools.join("t-00000000000000bb.bin");
        fs::write(&stays, &noise).unwrap();
        // A stale sibling of a blob that no longer shrinks goes.
        fs::write(sibling(&stays, "gz"), "old").unwrap();
        let cache = dir.with_extension("cache");
        let _ = fs::remove_dir_all(&cache);
        let summary = precompress_dir(&dir, &cache).unwrap();
        assert_eq!((summary.blobs, summary.compressed), (2, 0));
        assert!(!sibling(&shrinks, "br").exists());
        assert!(!sibling(&stays, "gz").exists());
        let mut gz = String::new();
        flate2::read::GzDecoder::new(fs::File::open(sibling(&shrinks, "gz")).unwrap())
            .read_to_string(&mut gz)
            .unwrap();
        assert_eq!(gz, text);
        let again = precompress_dir(&dir, &cache).unwrap();
        assert_eq!((again.blobs, again.blobs_cached, again.cached), (0, 2, 0));
        assert!(sibling(&shrinks, "gz").exists());
        fs::remove_dir_all(&dir).unwrap();
        fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 * 1024 * 1024), "3.0 MiB");
    }
}
