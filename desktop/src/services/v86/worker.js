// The x86 machine's Web Worker: runs v86 off the page's thread so the desktop stays responsive
// while the guest boots. Copied by `cargo xtask` into target/dist/v86/ under a hashed name.
//
// Messages in (from the page's adapter, `services/v86/`):
//   {type: "boot", files, cmdline, ready_marker, memory_bytes, boot_timeout_ms, state?: ArrayBuffer,
//    token: string | null}              the tab's token, for the kernel's /wisp and its DNS
//   {type: "serial", data: string}     keys for the serial port
//   {type: "size", rows, cols}         the terminal's size, for the guest (second serial port)
//   {type: "save", id}                 snapshot the machine
//   {type: "reset"}                    reset the machine
//   {type: "exec", id, command, timeout_ms, max_output_bytes}   a shell command for the guest's
//                                      third serial port (one at a time, queued until it listens)
//   {type: "9p", buf: Uint8Array}      the page's answer to a 9p request (transferred)
// Messages out:
//   {type: "output", data}             serial output: what one run of the emulator wrote, at once
//                                      after it, when the line was quiet for FLUSH_MS (a typed
//                                      key's echo); at most one message per FLUSH_MS under a flood
//   {type: "ready", ms}                the guest's /init printed its ready marker (or a restore ran)
//   {type: "saved", id, state}         the snapshot (transferred)
//   {type: "failed", code, error}      boot timeout or an emulator error
//   {type: "executed", id, status, output, truncated, timed_out} | {type: "executed", id, error}
//                                      a command's end (output: UTF-8 text, at most max_output_bytes)
//   {type: "9p", buf: Uint8Array}      a 9p request of the guest, for the page's server (transferred)
"use strict";

// Under a flood of output, the least time between two output messages.
const FLUSH_MS = 16;
let emulator = null;
// v86's answer function for 9p requests (any of them: it routes a reply by its tag).
let reply9p = null;
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
    // The third carries the agent's commands (`vm.exec`), apart from what the user types.
    uart2: true,
    disable_mouse: true,
    disable_speaker: true,
    // The boot runs on v86's interpreter: compiling code that runs once (the kernel's start-up,
    // each of /init's first programs) cost more than it saved, half the boot. markReady turns
    // the JIT on.
    disable_jit: true,
    // A virtio 9p device (tag host9p), mounted by the guest's /init at /mnt/host: each request
    // goes to the page, whose server answers from the tab's files and the guest's tools
    // (`services/v86/share/`). Always present, so a saved state restores onto the same hardware.
    filesystem: {
      handle9p: (buf, reply) => {
        reply9p = reply;
        postMessage({ type: "9p", buf }, [buf.buffer]);
      },
    },
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
  listenExec(m);
  if (m.state) {
    emulator.add_listener("emulator-started", () => {
      markReady(started);
      // A resumed guest listens already: it does not ask again.
      listening = true;
      sendSize();
    });
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

// The agent's commands (`vm.exec`) on the guest's third serial port, one at a time. /init's loop
// says "exec" once it listens; a command goes as "run <id> <seconds> <bytes>", its base64 in
// lines of EXEC_LINE_CHARS (the port stays in the tty's line mode, whose lines end at 4095
// bytes) and "."; the answer comes as "out <id>", the first <bytes> of the output in base64
// lines, "end <id> <status>". The line echoes what it is sent: echoed lines come before the
// answer's "out", and are skipped. A command the guest never answers fails after its limit and
// EXEC_GRACE_MS (a guest resumed from a state saved before the loop existed, say).
const EXEC_LINE_CHARS = 1024;
const EXEC_GRACE_MS = 10000;
let execListening = false;
let execQueue = [];
let execCurrent = null;
let line2 = "";

function listenExec(m) {
  emulator.add_listener("serial2-output-byte", (byte) => {
    if (byte !== 10) {
      line2 += String.fromCharCode(byte);
      return;
    }
    const line = line2.replace(/\r$/, "");
    line2 = "";
    execLine(line);
  });
  // A resumed guest's loop listens already.
  if (m.state) {
    emulator.add_listener("emulator-started", () => {
      execListening = true;
      execNext();
    });
  }
}

function execLine(line) {
  if (line === "exec") {
    execListening = true;
    execNext();
    return;
  }
  const job = execCurrent;
  if (!job) return;
  const [op, id, status] = line.split(" ");
  if (op === "out" && id === String(job.id)) {
    job.chunks = [];
  } else if (op === "end" && id === String(job.id) && job.chunks) {
    execEnd(job, Number.parseInt(status, 10));
  } else if (job.chunks && !line.includes(" ")) {
    job.chunks.push(line);
  }
}

function execNext() {
  if (!emulator || !execListening || execCurrent || execQueue.length === 0) return;
  const job = execQueue.shift();
  job.seconds = Math.max(1, Math.ceil(job.timeout_ms / 1000));
  job.chunks = null;
  job.sent = performance.now();
  job.timer = setTimeout(() => {
    execDone(job, {
      error: {
        code: "timeout",
        error: `The machine did not answer the command within its limit of ${job.timeout_ms} ms (timeout_ms) and ${EXEC_GRACE_MS} ms more; it may not listen for commands (a state saved before they existed): power it off and on.`,
      },
    });
  }, job.seconds * 1000 + EXEC_GRACE_MS);
  execCurrent = job;
  let bytes = "";
  for (const b of encoder.encode(job.command)) bytes += String.fromCharCode(b);
  const command = btoa(bytes);
  let text = `run ${job.id} ${job.seconds} ${job.max_output_bytes + 1}\n`;
  for (let i = 0; i < command.length; i += EXEC_LINE_CHARS) {
    text += `${command.slice(i, i + EXEC_LINE_CHARS)}\n`;
  }
  emulator.serial_send_bytes(2, encoder.encode(`${text}.\n`));
}

// The guest sends one byte more than the limit, so a cut is seen; KILL (137) at the limit's
// time is `timeout`'s.
function execEnd(job, status) {
  const raw = atob(job.chunks.join(""));
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  const truncated = bytes.length > job.max_output_bytes;
  const output = new TextDecoder().decode(truncated ? bytes.subarray(0, job.max_output_bytes) : bytes);
  const elapsed = performance.now() - job.sent;
  const timed_out = status === 137 && elapsed >= job.seconds * 1000 - 1000;
  execDone(job, { status, output, truncated, timed_out });
}

function execDone(job, answer) {
  if (execCurrent !== job) return;
  clearTimeout(job.timer);
  execCurrent = null;
  postMessage({ type: "executed", id: job.id, ...answer });
  execNext();
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
      case "exec":
        execQueue.push(m);
        execNext();
        break;
      case "9p":
        if (reply9p) reply9p(m.buf);
        break;
      case "reset":
        execListening = false;
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
