"""Time spent in garbage collection, per process, for the load test (docs/performance.md).

Not part of the app: a process started with this folder on PYTHONPATH and GC_PROBE_DIR
set writes, every 5 s, its CPU time and the time its collections took by generation to
GC_PROBE_DIR/gc-<pid>.txt. For the load test's processes:

    BENCH_LOAD_ENV="PYTHONPATH=$PWD/tests/perf/gc_probe GC_PROBE_DIR=$PWD/var/bench" \\
        make bench ARGS="-k load_mix"
"""

import gc
import os
import threading
import time

_DIR = os.environ.get("GC_PROBE_DIR")

if _DIR:
    _started: dict[int, float] = {}
    _seconds = [0.0, 0.0, 0.0]
    _runs = [0, 0, 0]

    def _on_collection(phase: str, info: dict) -> None:
        if phase == "start":
            _started[threading.get_ident()] = time.perf_counter()
            return
        began = _started.pop(threading.get_ident(), None)
        if began is not None:
            _seconds[info["generation"]] += time.perf_counter() - began
            _runs[info["generation"]] += 1

    def _write_every_5_s() -> None:
        path = os.path.join(_DIR, f"gc-{os.getpid()}.txt")
        while True:
            time.sleep(5)
            with open(f"/proc/{os.getpid()}/cmdline") as cmdline:
                command = cmdline.read().replace("\0", " ")[:70]
            line = " ".join(f"gen{g} {_seconds[g]:.2f} s/{_runs[g]}" for g in range(3))
            with open(path, "w") as out:
                out.write(
                    f"{command}\ncpu {time.process_time():.1f} s, gc {sum(_seconds):.2f} s: "
                    f"{line}; frozen {gc.get_freeze_count()}\n"
                )

    gc.callbacks.append(_on_collection)
    threading.Thread(target=_write_every_5_s, daemon=True).start()
