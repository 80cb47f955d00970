// The x86 machine's Web Worker: runs v86 off the page's thread so the desktop stays responsive
// while the guest boots. Copied by `cargo xtask` into target/dist/v86/ under a hashed name.
//
// Messages in (from the page's adapter, `services/v86/`):
//   {type: "boot", files, cmdline, ready_marker, memory_bytes, boot_timeout_ms, state?: ArrayBuffer,
//    share: [{path, data: Uint8Array | null}],   the tab's files for the guest's /mnt/files (9p)
//    token: string | null}              the tab's token, for the kernel's /wisp and its DNS
//   {type: "serial", data: string}     keys for the serial port
//   {type: "size", rows, cols}         the terminal's size, for the guest (second serial port)
//   {type: "save", id}                 snapshot the machine
//   {type: "reset"}                    reset the machine
// Messages out:
//   {type: "output", data}             serial output: what one run of the emulator wrote, at once
//                                      after it, when the line was quiet for FLUSH_MS (a typed
//                                      key's echo); at most one message per FLUSH_MS under a flood
//   {type: "ready", ms}                the guest's /init printed its ready marker (or a restore ran)
//   {type: "saved", id, state}         the snapshot (transferred)
//   {type: "failed", code, error}      boot timeout or an emulator error
"use strict";

// Under a flood of output, the least time between two output messages.
const FLUSH_MS = 16;
let emulator = null;
let pending = [];
let flushScheduled = false;
let lastFlush = -Infinity;
let tail = "";
let ready = false;
// What the guest wrote on its second serial port since the last line end.
let line1 = "";
// The guest listens for sizes: it asked, or it was resumed from a state where it did.
let listening = false;
// Keys typed before the machine runs wait here (a restored machine is not running at once).
let typedEarly = "";
// The terminal's latest size, given to the guest once it is ready (and again on each change).
let size = null;
const encoder = new TextEncoder();

// The guest's /init reads "rows cols" lines on its second serial port into `stty`.
function sendSize() {
  if (emulator && size) {
    emulator.serial_send_bytes(1, encoder.encode(`${size.rows} ${size.cols}\n`));
  }
}
const decoder = new TextDecoder();

function flush() {
  flushScheduled = false;
  lastFlush = performance.now();
  if (pending.length === 0) return;
  const bytes = new Uint8Array(pending);
  pending = [];
  const data = decoder.decode(bytes, { stream: true });
  if (data) postMessage({ type: "output", data });
}

// The guest's network goes out through the kernel that served this worker: v86's Wisp adapter
// on `/wisp` (wisp:// becomes ws://, the query kept; a worker's WebSocket sends the page's
// Origin), and its DNS over HTTP on `/wisp/dns-query`. v86 always posts DNS queries to
// `https://${doh_server}/dns-query`: that URL is sent to this origin instead (plain http
// included), with the tab's token.
function network(token) {
  const query = token ? `?token=${token}` : "";
  const doh = `${location.host}/wisp`;
  const dohUrl = `https://${doh}/dns-query`;
  const ownUrl = `${location.origin}/wisp/dns-query${query}`;
  const fetchOriginal = self.fetch.bind(self);
  self.fetch = (input, init) => fetchOriginal(input === dohUrl ? ownUrl : input, init);
  const scheme = location.protocol === "https:" ? "wisps" : "wisp";
  return {
    // The NE2000 is v86's default card (present in every machine, saved states included).
    type: "ne2k",
    relay_url: `${scheme}://${location.host}/wisp${query}`,
    dns_method: "doh",
    doh_server: doh,
  };
}

function boot(m) {
  const started = performance.now();
  const settings = {
    wasm_path: m.files.wasm,
    memory_size: m.memory_bytes,
    vga_memory_size: 2 * 1024 * 1024,
    bios: { url: m.files.bios },
    // No VGA BIOS: the guest talks over the serial line, and SeaBIOS setting up the screen cost
    // ~0.4 s of every boot.
    bzimage: { url: m.files.bzimage },
    initrd: { url: m.files.initrd },
    cmdline: m.cmdline,
    autostart: true,
    disable_keyboard: true,
    // The second serial port carries the terminal's size to the guest.
    uart1: true,
    disable_mouse: true,
    disable_speaker: true,
    // The boot runs on v86's interpreter: compiling code that runs once (the kernel's start-up,
    // each of /init's first programs) cost more than it saved, half the boot. markReady turns
    // the JIT on.
    disable_jit: true,
    // A virtio 9p device (tag host9p), mounted by the guest's /init at /mnt/files. Always present,
    // so a saved state (which includes the device) restores onto the same hardware.
    filesystem: {},
    net_device: network(m.token),
  };
  if (m.state) settings.initial_state = { buffer: m.state };
  emulator = new V86(settings);
  emulator.add_listener("serial0-output-byte", (byte) => {
    pending.push(byte);
    if (!ready) {
      tail = (tail + String.fromCharCode(byte)).slice(-256);
      if (tail.includes(m.ready_marker)) markReady(started);
    }
    scheduleFlush();
  });
  // The guest's /init asks for the terminal's size ("size" on the second serial port) once it
  // listens there: at every boot, a reset's too.
  emulator.add_listener("serial1-output-byte", (byte) => {
    if (byte !== 10) {
      line1 = (line1 + String.fromCharCode(byte)).slice(-64);
      return;
    }
    if (line1.trim() === "size") {
      listening = true;
      sendSize();
    }
    line1 = "";
  });
  if (m.state) {
    emulator.add_listener("emulator-started", () => {
      markReady(started);
      // A resumed guest listens already: it does not ask again.
      listening = true;
      sendSize();
    });
  } else if (m.share && m.share.length) {
    emulator.add_listener("emulator-loaded", () => share(m.share));
  }
  setTimeout(() => {
    if (!ready) {
      postMessage({
        type: "failed",
        code: "timeout",
        error: `The x86 machine did not reach its shell within ${m.boot_timeout_ms} ms; raise boot_timeout_ms or try again.`,
      });
    }
  }, m.boot_timeout_ms);
}

// Output leaves once the emulator's current run returns (a microtask): a quiet line's byte (the
// echo of a key) goes at once; output that follows a flush within FLUSH_MS waits for the rest of
// that window, so a flood is sent in few large messages.
function scheduleFlush() {
  if (flushScheduled) return;
  flushScheduled = true;
  const wait = lastFlush + FLUSH_MS - performance.now();
  if (wait <= 0) queueMicrotask(flush);
  else setTimeout(flush, wait);
}

// Copies the tab's files into the 9p file system (parents before children).
async function share(entries) {
  const fs = emulator.fs9p;
  if (!fs) return;
  const dir = (path) => {
    let id = 0;
    for (const part of path.split("/").filter(Boolean)) {
      const found = fs.Search(id, part);
      id = found !== -1 ? found : fs.CreateDirectory(part, id);
    }
    return id;
  };
  for (const entry of entries) {
    if (entry.data === null) {
      dir(entry.path);
    } else {
      dir(entry.path.slice(0, entry.path.lastIndexOf("/")));
      await emulator.create_file(entry.path, entry.data);
    }
  }
}

function markReady(started) {
  if (ready) return;
  ready = true;
  // The JIT back on for the interactive machine (v86 0.5: (0, 0) on, (0, 1) off); a restored
  // machine gets it here too. A reset reboots with the JIT on: slower than a cold boot.
  emulator.v86.cpu.set_jit_config(0, 0);
  postMessage({ type: "ready", ms: Math.round(performance.now() - started) });
  if (typedEarly) {
    emulator.serial0_send(typedEarly);
    typedEarly = "";
  }
}

onmessage = async (event) => {
  const m = event.data;
  try {
    switch (m.type) {
      case "boot":
        importScripts(m.files.libv86);
        boot(m);
        break;
      case "serial":
        if (emulator && ready) emulator.serial0_send(m.data);
        else typedEarly += m.data;
        break;
      case "size":
        size = { rows: m.rows, cols: m.cols };
        if (listening) sendSize();
        break;
      case "reset":
        if (emulator) emulator.restart();
        break;
      case "save": {
        const state = await emulator.save_state();
        postMessage({ type: "saved", id: m.id, state }, [state]);
        break;
      }
    }
  } catch (e) {
    postMessage({ type: "failed", code: "internal", error: `The x86 machine failed: ${e}` });
  }
};
