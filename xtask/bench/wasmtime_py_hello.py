"""The runner benchmark's peer: a WASI module run in-process by wasmtime-py, timed per run.

Usage: python wasmtime_py_hello.py MODULE.wasm [RUNS] [WARMUP]

The module is compiled once; each run then does what a warm `vm.spawn` of the kernel does for a
program: a new Store with a WASI config (argv, stdout captured in memory), instantiation through
a Linker with WASI defined, and a call of `_start`. Prints one JSON object on stdout:
{"runs", "p50_us", "p99_us", "module_sha256", "wasmtime"}. Exits non-zero when a run prints
nothing on stdout.
"""

import hashlib
import importlib.metadata
import json
import sys
import time

import wasmtime


def main() -> None:
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 50

    with open(path, "rb") as f:
        wasm = f.read()
    engine = wasmtime.Engine()
    module = wasmtime.Module(engine, wasm)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()

    def run_once() -> bytes:
        out = bytearray()
        wasi = wasmtime.WasiConfig()
        wasi.argv = ["hello"]
        wasi.stdout_custom = out.extend
        store = wasmtime.Store(engine)
        store.set_wasi(wasi)
        instance = linker.instantiate(store, module)
        start = instance.exports(store)["_start"]
        try:
            start(store)
        except wasmtime.ExitTrap as exit:
            if exit.code != 0:
                raise
        return bytes(out)

    for _ in range(warmup):
        run_once()
    samples = []
    for _ in range(runs):
        began = time.perf_counter_ns()
        out = run_once()
        samples.append(time.perf_counter_ns() - began)
        if not out:
            sys.exit("the module printed nothing on stdout")
    samples.sort()

    def pick(q: float) -> float:
        return samples[min(int(len(samples) * q), len(samples) - 1)] / 1000

    print(
        json.dumps(
            {
                "runs": runs,
                "p50_us": round(pick(0.5), 1),
                "p99_us": round(pick(0.99), 1),
                "module_sha256": hashlib.sha256(wasm).hexdigest(),
                "wasmtime": importlib.metadata.version("wasmtime"),
            }
        )
    )


if __name__ == "__main__":
    main()
