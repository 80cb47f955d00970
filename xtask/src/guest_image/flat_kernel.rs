//! The guest's kernel with its decompression done at build time. Debian's i386 `vmlinuz` is a
//! bzImage whose 32-bit part is a decompressor and an XZ-packed kernel; under v86 unpacking those
//! 16 MB took 3.5–4.5 s of every cold boot (measured by timestamping the serial line), more than
//! any single step of the kernel's own start. [`flatten`] keeps the bzImage's real-mode setup
//! (so v86 and the kernel meet through the boot protocol as before) and puts in place of the
//! decompressor a 32-byte stub followed by the kernel's loadable segments, already unpacked:
//! the stub copies them to the physical address they were linked for and jumps to the kernel's
//! entry with `%esi` still pointing at the boot parameters, which is what the decompressor does
//! last. The kernel then runs where it was linked, so no relocation is needed (as with
//! `nokaslr`).
//!
//! It never guesses: anything but an i386 bzImage with an XZ payload holding an ELF32 kernel
//! linked above the place v86 loads it is an error naming what it found.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};

use crate::proc::{cmd, probe};

/// Where v86 (like every bzImage loader) puts the 32-bit part, and where the setup code jumps.
const LOAD_ADDRESS: u32 = 0x10_0000;
/// Room for the stub before the kernel's bytes (kept 4-byte aligned for `rep movsd`).
const STUB_LEN: usize = 64;
/// v86 places the initramfs at 64 MiB: the copied-from bytes must end below it.
const INITRD_ADDRESS: u32 = 64 << 20;
/// The magic an XZ stream starts with.
const XZ_MAGIC: &[u8] = b"\xfd7zXZ\x00";

/// `bzimage` with its XZ payload replaced by the unpacked kernel and a copy stub; `unxz`
/// decompresses one XZ stream (the payload; bytes after the stream are the kernel's own
/// trailer and must be ignored).
pub fn flatten(bzimage: &[u8], unxz: impl FnOnce(&[u8]) -> Result<Vec<u8>>) -> Result<Vec<u8>> {
    let header = Header::read(bzimage)?;
    let payload = bzimage
        .get(header.payload_start..header.payload_start + header.payload_len)
        .context("the bzImage's payload runs past its end")?;
    ensure!(
        payload.starts_with(XZ_MAGIC),
        "the bzImage's payload is not XZ (starts {:02x?}); only XZ kernels are flattened",
        &payload[..payload.len().min(6)]
    );
    let elf = unxz(payload).context("decompressing the kernel's XZ payload")?;
    let image = Image::from_elf(&elf)?;
    let src = LOAD_ADDRESS + STUB_LEN as u32;
    let len = u32::try_from(image.bytes.len())?;
    ensure!(
        image.base >= src,
        "the kernel is linked at {:#x}, below where v86 loads it ({src:#x}): it cannot be flattened",
        image.base
    );
    ensure!(
        src + len <= INITRD_ADDRESS,
        "the unpacked kernel ({len} bytes) would overlap the initramfs at 64 MiB"
    );
    let mut out = bzimage[..header.setup_len].to_vec();
    // syssize: the 32-bit part's length in 16-byte paragraphs.
    let syssize = (STUB_LEN as u32 + len).div_ceil(16);
    out[0x1f4..0x1f8].copy_from_slice(&syssize.to_le_bytes());
    out.extend_from_slice(&stub(src, image.base, len, image.entry));
    out.extend_from_slice(&image.bytes);
    Ok(out)
}

/// The boot protocol fields [`flatten`] reads.
struct Header {
    setup_len: usize,
    payload_start: usize,
    payload_len: usize,
}

impl Header {
    fn read(b: &[u8]) -> Result<Self> {
        ensure!(
            b.len() > 0x268,
            "the bzImage is too short ({} bytes)",
            b.len()
        );
        ensure!(
            u16_at(b, 0x1fe) == 0xaa55 && &b[0x202..0x206] == b"HdrS",
            "not a Linux bzImage (no boot signature or HdrS header)"
        );
        let version = u16_at(b, 0x206);
        ensure!(
            version >= 0x208,
            "boot protocol {version:#x} is older than 2.08 (no payload fields)"
        );
        ensure!(
            u32_at(b, 0x214) == LOAD_ADDRESS,
            "the bzImage's 32-bit entry (code32_start) is not {LOAD_ADDRESS:#x}"
        );
        let setup_sects = match b[0x1f1] {
            0 => 4,
            n => usize::from(n),
        };
        let setup_len = (setup_sects + 1) * 512;
        Ok(Self {
            setup_len,
            payload_start: setup_len + u32_at(b, 0x248) as usize,
            payload_len: u32_at(b, 0x24c) as usize,
        })
    }
}

/// The kernel as it lies in memory from its lowest loadable byte: segments at their physical
/// addresses, gaps zeroed (its own start-up clears the BSS past the last file byte).
struct Image {
    base: u32,
    entry: u32,
    bytes: Vec<u8>,
}

impl Image {
    fn from_elf(elf: &[u8]) -> Result<Self> {
        ensure!(
            elf.len() >= 52 && elf.starts_with(b"\x7fELF\x01\x01"),
            "the kernel payload is not a little-endian ELF32 file"
        );
        ensure!(
            u16_at(elf, 18) == 3,
            "the kernel payload is not an i386 ELF (e_machine {})",
            u16_at(elf, 18)
        );
        let entry = u32_at(elf, 24);
        let phoff = u32_at(elf, 28) as usize;
        let phentsize = usize::from(u16_at(elf, 42));
        let phnum = usize::from(u16_at(elf, 44));
        let mut segments = Vec::new();
        for i in 0..phnum {
            let ph = phoff + i * phentsize;
            ensure!(
                ph + 32 <= elf.len(),
                "the kernel's program headers run past its end"
            );
            const PT_LOAD: u32 = 1;
            if u32_at(elf, ph) != PT_LOAD {
                continue;
            }
            let (offset, paddr, filesz) = (
                u32_at(elf, ph + 4) as usize,
                u32_at(elf, ph + 12),
                u32_at(elf, ph + 16) as usize,
            );
            let data = elf
                .get(offset..offset + filesz)
                .context("a loadable segment of the kernel runs past its end")?;
            segments.push((paddr, data));
        }
        let base = segments
            .iter()
            .map(|(p, _)| *p)
            .min()
            .context("the kernel has no loadable segment")?;
        let end = segments
            .iter()
            .map(|(p, d)| *p as usize + d.len())
            .max()
            .unwrap_or(base as usize);
        ensure!(
            (base..end as u32).contains(&entry),
            "the kernel's entry {entry:#x} is outside its loadable bytes"
        );
        let mut bytes = vec![0; (end - base as usize).next_multiple_of(4)];
        for (paddr, data) in segments {
            let at = (paddr - base) as usize;
            bytes[at..at + data.len()].copy_from_slice(data);
        }
        Ok(Self { base, entry, bytes })
    }
}

/// The 32-bit code the setup code jumps to (flat segments, interrupts off, `%esi` = boot
/// parameters): copy `len` bytes from `src` to `dest` backwards (`dest` is above `src`, so an
/// overlap is safe), then jump to `entry` with `%esi` restored.
fn stub(src: u32, dest: u32, len: u32, entry: u32) -> [u8; STUB_LEN] {
    let mut code = Vec::with_capacity(STUB_LEN);
    code.extend_from_slice(&[0x89, 0xf5]); // mov ebp, esi
    code.push(0xbe); // mov esi, src + len - 4
    code.extend_from_slice(&(src + len - 4).to_le_bytes());
    code.push(0xbf); // mov edi, dest + len - 4
    code.extend_from_slice(&(dest + len - 4).to_le_bytes());
    code.push(0xb9); // mov ecx, len / 4
    code.extend_from_slice(&(len / 4).to_le_bytes());
    code.extend_from_slice(&[0xfd, 0xf3, 0xa5, 0xfc]); // std; rep movsd; cld
    code.extend_from_slice(&[0x89, 0xee]); // mov esi, ebp
    code.push(0xb8); // mov eax, entry
    code.extend_from_slice(&entry.to_le_bytes());
    code.extend_from_slice(&[0xff, 0xe0]); // jmp eax
    let mut out = [0x90; STUB_LEN]; // nop
    out[..code.len()].copy_from_slice(&code);
    out
}

/// Decompresses one XZ stream with the `xz` program (Debian's `xz-utils`, installed when
/// missing), ignoring what follows the stream. `work` holds the scratch file.
pub fn unxz(stream: &[u8], work: &Path) -> Result<Vec<u8>> {
    if probe(cmd("xz").arg("--version")).is_none() {
        crate::tools::apt_install(&[crate::tools::AptPackage {
            name: "xz-utils",
            why: "unpacks the guest kernel at build time",
            required: true,
        }])?;
    }
    let file = work.join("payload.xz");
    fs::write(&file, stream)?;
    let out = cmd("xz")
        .args(["--decompress", "--stdout", "--single-stream"])
        .arg(&file)
        .output()
        .context("could not start xz (apt-get install xz-utils)")?;
    if !out.status.success() {
        bail!(
            "xz could not unpack the kernel: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ELF32 i386 file with two loadable segments: 8 bytes at 16 MiB, 4 at 16 MiB + 16.
    fn elf() -> Vec<u8> {
        let mut e = vec![0u8; 0x100];
        e[..6].copy_from_slice(b"\x7fELF\x01\x01");
        e[18..20].copy_from_slice(&3u16.to_le_bytes());
        e[24..28].copy_from_slice(&0x100_0000u32.to_le_bytes());
        e[28..32].copy_from_slice(&52u32.to_le_bytes());
        e[42..44].copy_from_slice(&32u16.to_le_bytes());
        e[44..46].copy_from_slice(&2u16.to_le_bytes());
        for (i, (offset, paddr, size)) in [(0xc0u32, 0x100_0000u32, 8u32), (0xd0, 0x100_0010, 4)]
            .into_iter()
            .enumerate()
        {
            let ph = 52 + 32 * i;
            e[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes());
            e[ph + 4..ph + 8].copy_from_slice(&offset.to_le_bytes());
            e[ph + 12..ph + 16].copy_from_slice(&paddr.to_le_bytes());
            e[ph + 16..ph + 20].copy_from_slice(&size.to_le_bytes());
        }
        e[0xc0..0xc8].copy_from_slice(b"KERNEL!!");
        e[0xd0..0xd4].copy_from_slice(b"DATA");
        e
    }

    /// A bzImage (one setup sector) whose payload is `payload`.
    fn bzimage(payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 2 * 512];
        b[0x1f1] = 1;
        b[0x1fe..0x200].copy_from_slice(&0xaa55u16.to_le_bytes());
        b[0x202..0x206].copy_from_slice(b"HdrS");
        b[0x206..0x208].copy_from_slice(&0x20fu16.to_le_bytes());
        b[0x214..0x218].copy_from_slice(&LOAD_ADDRESS.to_le_bytes());
        b[0x248..0x24c].copy_from_slice(&16u32.to_le_bytes());
        b[0x24c..0x250].copy_from_slice(&u32::try_from(payload.len()).unwrap().to_le_bytes());
        b.extend_from_slice(&[0xcc; 16]); // the decompressor
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn the_payload_is_replaced_by_a_stub_and_the_unpacked_segments() {
        let mut payload = XZ_MAGIC.to_vec();
        payload.extend_from_slice(b"packed");
        let flat = flatten(&bzimage(&payload), |p| {
            assert_eq!(p, &payload[..], "the whole payload is handed to unxz");
            Ok(elf())
        })
        .unwrap();
        assert_eq!(&flat[0x202..0x206], b"HdrS", "the setup part is kept");
        let stub = &flat[1024..1024 + STUB_LEN];
        let kernel = &flat[1024 + STUB_LEN..];
        assert_eq!(kernel, b"KERNEL!!\0\0\0\0\0\0\0\0DATA");
        // mov esi, src_end - 4; mov edi, dest_end - 4; mov ecx, dwords; std; rep movsd
        let src = LOAD_ADDRESS + STUB_LEN as u32;
        assert_eq!(&stub[3..7], &(src + 20 - 4).to_le_bytes());
        assert_eq!(&stub[8..12], &(0x100_0000u32 + 20 - 4).to_le_bytes());
        assert_eq!(&stub[13..17], &5u32.to_le_bytes());
        assert_eq!(&stub[17..21], &[0xfd, 0xf3, 0xa5, 0xfc]);
        assert_eq!(
            &stub[24..28],
            &0x100_0000u32.to_le_bytes(),
            "jumps to the entry"
        );
        assert_eq!(u32_at(&flat, 0x1f4), (STUB_LEN as u32 + 20).div_ceil(16));
    }

    #[test]
    fn what_is_not_an_xz_bzimage_of_an_i386_kernel_is_refused() {
        let never = |_: &[u8]| -> Result<Vec<u8>> { unreachable!() };
        assert!(flatten(b"not a kernel", never).is_err());
        let gzip = bzimage(b"\x1f\x8b\x08gzip");
        let err = flatten(&gzip, never).unwrap_err();
        assert!(err.to_string().contains("not XZ"), "{err}");
        let mut x86_64 = elf();
        x86_64[18] = 62;
        let err = flatten(&bzimage(XZ_MAGIC), |_| Ok(x86_64)).unwrap_err();
        assert!(err.to_string().contains("i386"), "{err}");
        let mut low = elf();
        low[24..28].copy_from_slice(&0x1000u32.to_le_bytes());
        low[52 + 12..52 + 16].copy_from_slice(&0x1000u32.to_le_bytes());
        low[84 + 12..84 + 16].copy_from_slice(&0x1010u32.to_le_bytes());
        let err = flatten(&bzimage(XZ_MAGIC), |_| Ok(low)).unwrap_err();
        assert!(err.to_string().contains("below"), "{err}");
    }
}
