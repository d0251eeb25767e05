#!/usr/bin/python3
"""The arm64 quantd under qemu-aarch64, driven from x86, and cross-ISA conformance.

Run by scripts/test-arm64.sh (which builds everything first). Servers, one after another, each on
free 127.0.0.1 ports with --model_dir=../shared/models and --threads=2:
  x86 quantd with QUANTD_ISA=scalar, avx2, avx512 (the ones this CPU has), natively;
  arm64 quantd under `qemu-aarch64 -cpu max` (dispatch must pick neon_dotprod), under
  `-cpu max` with QUANTD_ISA=neon, and under `-cpu cortex-a53` (must pick neon; SIGILL = failure).
Each is driven by the x86 quantctl and the Python client: health, GetServerInfo, Quantize and
Dequantize of every scheme (block formats; int8/int4 sym/asym per tensor, channel and group,
min-max, percentile and MSE ranges), LoadModel of stories260K.gguf (as is and re-quantized to
q8_0) and the three llama.cpp fallback files, greedy Generate on each.

Conformance (fails on any difference): quantized bytes, scales and zero points, dequantized
values (F32 and F16), greedy token ids, and the quantctl outputs are identical on every server;
error statistics equal within a relative 1e-12 (computed in double by the same code; the
measured difference is printed). Then the isa_logits helper (tests/arm64/isa_logits.cc) is run
natively per x86 ISA and under qemu per arm64 CPU/ISA: greedy ids must be identical, and the
largest logit difference is reported (and must be 0: bit-identical logits are held to).

Footprint (printed, not asserted): stripped quantd sizes, VmRSS idle and with stories260K
loaded; under qemu minus the VmRSS of qemu running a trivial arm64 program.

Environment: ARM64_BUILD, HOST_BUILD (isa_logits for x86), QUANTD_X86, QUANTCTL_X86, MODELS_DIR,
OUT_DIR, ARM64_BASELINE (the trivial arm64 program).
"""

import hashlib
import json
import math
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "client" / "python"))
from quantd_client import QuantdClient, quantd_pb2, tensor_pb2  # noqa: E402

ARM64_BUILD = pathlib.Path(os.environ.get("ARM64_BUILD", REPO / "build-arm64"))
HOST_BUILD = pathlib.Path(os.environ.get("HOST_BUILD", REPO / "build-arm64-host"))
QUANTD_X86 = os.environ.get("QUANTD_X86", str(REPO / "build" / "server" / "quantd"))
QUANTCTL = os.environ.get("QUANTCTL_X86", str(REPO / "build" / "client" / "quantctl"))
QUANTD_ARM = str(ARM64_BUILD / "server" / "quantd")
MODELS = pathlib.Path(os.environ.get("MODELS_DIR", REPO.parent / "shared" / "models")).resolve()
OUT = pathlib.Path(os.environ.get("OUT_DIR", ARM64_BUILD / "test-logs" / "server"))
BASELINE = os.environ.get("ARM64_BASELINE", "")

MODEL_FILES = {  # LoadModel name -> (path relative to --model_dir, target_type)
    "f32": ("stories260K.gguf", ""),
    "f32_to_q8_0": ("stories260K.gguf", "q8_0"),
    "llamacpp_q8_0": ("stories260K-llamacpp-q8_0-fallback.gguf", ""),
    "llamacpp_q4_0": ("stories260K-llamacpp-q4_0-fallback.gguf", ""),
    "llamacpp_q5_0": ("stories260K-llamacpp-q5_0-fallback.gguf", ""),
}
PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play"
GEN_TOKENS = 24
STATS_RTOL = 1e-12

passed = 0
failures = []


def check(cond, what):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(what)
        print(f"  FAIL: {what}", flush=True)
    return cond


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_rss_kib(pid):
    m = re.search(r"^VmRSS:\s+(\d+) kB", pathlib.Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(m.group(1))


def quantctl(address, *args, check_rc=True):
    p = subprocess.run([QUANTCTL, *args, f"--server={address}"], capture_output=True, text=True, timeout=600)
    if check_rc and p.returncode != 0:
        raise AssertionError(f"quantctl {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return p


class Server:
    """One quantd (native or under qemu) on free ports; stopped with SIGTERM."""

    def __init__(self, label, arch, cpu=None, isa=None):
        self.label, self.arch, self.cpu, self.isa = label, arch, cpu, isa
        self.address = f"127.0.0.1:{free_port()}"
        flags = [f"--listen={self.address}", f"--metrics_listen=127.0.0.1:{free_port()}",
                 f"--model_dir={MODELS}", "--threads=2"]
        cmd = (["qemu-aarch64", "-cpu", cpu, QUANTD_ARM] if arch == "aarch64" else [QUANTD_X86]) + flags
        env = dict(os.environ)
        env.pop("QUANTD_ISA", None)
        if isa:
            env["QUANTD_ISA"] = isa
        self.log = OUT / f"{label}.stderr"
        self._log_file = open(self.log, "w")
        t0 = time.time()
        self.proc = subprocess.Popen(cmd, env=env, stderr=self._log_file, stdout=subprocess.DEVNULL)
        deadline = t0 + 120
        while True:
            rc = self.proc.poll()
            if rc is not None:
                sig = f" (signal {-rc}{', SIGILL' if rc == -signal.SIGILL else ''})" if rc < 0 else ""
                raise RuntimeError(f"{label}: quantd exited {rc}{sig}: {self.log.read_text()[-2000:]}")
            if quantctl(self.address, "health", check_rc=False).returncode == 0:
                break
            if time.time() > deadline:
                raise RuntimeError(f"{label}: quantd not healthy after 120 s: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)
        self.startup_seconds = time.time() - t0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        self._log_file.close()
        return rc


def inputs():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((48, 256)).astype(np.float32)
    x[3, 17] = 9.5     # outliers, so percentile and MSE ranges clip something
    x[40, 200] = -7.25
    x[7] *= 0.001      # a nearly-flat row
    x[9] = 0.0         # an all-zero row (zero scale paths)
    return x


def quant_configs():
    cfgs = [(s, None, {}) for s in ("q4_0", "q4_1", "q5_0", "q5_1", "q8_0")]
    for s in ("int8_sym", "int8_asym", "int4_sym", "int4_asym"):
        cfgs += [(s, "tensor", {}), (s, "channel", {"axis": 0}), (s, "channel", {"axis": 1}),
                 (s, "group", {"group_size": 32}),
                 (s, "channel", {"axis": 0, "range_method": "percentile", "percentile": 99.5}),
                 (s, "group", {"group_size": 64, "range_method": "mse", "mse_grid_points": 20})]
    return cfgs


def cfg_name(scheme, gran, kw):
    extra = ",".join(f"{k}={v}" for k, v in kw.items())
    return f"{scheme}/{gran or 'block'}" + (f"({extra})" if extra else "")


def sha(b):
    return hashlib.sha256(b).hexdigest()[:16]


def exercise(server):
    """Drives one server; returns what conformance compares, plus timings and RSS."""
    r = {"label": server.label, "quant": {}, "quantctl": {}, "greedy": {}, "quantctl_greedy": {}}
    t0 = time.time()
    a = server.address
    # health, both clients
    check(quantctl(a, "health").stdout.strip() == "SERVING", f"{server.label}: quantctl health")
    client = QuantdClient(a)
    check(client.health() == "SERVING", f"{server.label}: python health")
    # GetServerInfo, both clients
    info = client._stub.GetServerInfo(quantd_pb2.GetServerInfoRequest(), timeout=60)
    r["isa"], r["available_isas"], r["arch"] = info.isa, list(info.available_isas), info.architecture
    check(info.architecture == server.arch, f"{server.label}: architecture {info.architecture!r}")
    text = quantctl(a, "server-info").stdout
    check(re.search(rf"^architecture\s+{server.arch}$", text, re.M) is not None,
          f"{server.label}: quantctl server-info architecture")
    check(re.search(rf"^isa\s+{info.isa} ", text, re.M) is not None, f"{server.label}: quantctl server-info isa")
    r["rss_idle_kib"] = vm_rss_kib(server.proc.pid)

    # Quantize / Dequantize of every scheme (Python client)
    x = inputs()
    for scheme, gran, kw in quant_configs():
        name = cfg_name(scheme, gran, kw)
        q = client.quantize(x, scheme=scheme, granularity=gran, **kw)
        qt = q.quantized
        deq32 = client.dequantize(qt, np.float32)
        deq16 = client.dequantize(qt, np.float16)
        err = np.abs(deq32.astype(np.float64) - x)
        check(deq32.shape == x.shape and np.isfinite(deq32).all(), f"{server.label}: {name} dequantize shape/finite")
        check(abs(q.error.max_abs_error - err.max()) <= 1e-6 * max(1.0, err.max()),
              f"{server.label}: {name} max_abs_error {q.error.max_abs_error} vs client-side {err.max()}")
        check(q.error.cosine_similarity > 0.9, f"{server.label}: {name} cosine {q.error.cosine_similarity}")
        r["quant"][name] = {
            "data": sha(qt.data), "scales": sha(np.asarray(qt.scales, np.float32).tobytes()),
            "zero_points": list(qt.zero_points)[:4] + [sha(np.asarray(qt.zero_points, np.int32).tobytes())],
            "granularity": qt.granularity, "deq_f32": sha(deq32.tobytes()), "deq_f16": sha(deq16.tobytes()),
            "stats": [q.error.mse, q.error.rmse, q.error.max_abs_error, q.error.snr_db, q.error.cosine_similarity,
                      q.error.count],
        }

    # Quantize / Dequantize of every scheme with the x86 quantctl (files)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "x.npy")
        np.save(src, x)
        for scheme in ("q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "int8_sym", "int8_asym", "int4_sym", "int4_asym"):
            qt, out = os.path.join(tmp, f"{scheme}.qt"), os.path.join(tmp, f"{scheme}.npy")
            p = quantctl(a, "quantize", src, f"--scheme={scheme}", "-o", qt)
            quantctl(a, "dequantize", qt, "-o", out)
            y = np.load(out)
            check(y.shape == x.shape, f"{server.label}: quantctl {scheme} round trip shape")
            r["quantctl"][scheme] = {"qt": sha(pathlib.Path(qt).read_bytes()), "npy": sha(y.tobytes()),
                                     "stats": re.sub(r"(?m)^(server_ms|round_trip_ms|wrote) .*$", "", p.stdout)}
    r["quantize_seconds"] = time.time() - t0

    # LoadModel (quantctl), RSS with stories260K loaded, greedy Generate (Python stub + quantctl)
    t1 = time.time()
    for i, (name, (path, target)) in enumerate(MODEL_FILES.items()):
        args = ["load-model", name, path] + ([f"--type={target}"] if target else [])
        p = quantctl(a, *args, check_rc=False)
        check(p.returncode == 0, f"{server.label}: load-model {name} {path}: {p.stderr.strip()}")
        if i == 0:
            time.sleep(0.3)
            r["rss_model_kib"] = vm_rss_kib(server.proc.pid)
    listed = quantctl(a, "models").stdout
    check(all(re.search(rf"^{n}\s", listed, re.M) for n in MODEL_FILES), f"{server.label}: models lists all five")
    for name in MODEL_FILES:
        req = quantd_pb2.GenerateRequest(model=name, prompt=PROMPT, max_tokens=GEN_TOKENS)
        ids, text, finish = [], "", None
        for reply in client._stub.Generate(req, timeout=600):
            ids += list(reply.token_ids)
            text += reply.text
            if reply.finish_reason:
                finish = reply.finish_reason
        check(len(ids) >= 1 and finish is not None, f"{server.label}: generate {name}: {len(ids)} ids, finish {finish}")
        r["greedy"][name] = ids
        p = quantctl(a, "generate", name, PROMPT, f"--max-tokens={GEN_TOKENS}", check_rc=False)
        check(p.returncode == 0 and p.stdout.strip() == text.strip(),
              f"{server.label}: quantctl generate {name} text differs from the Python stream")
        r["quantctl_greedy"][name] = p.stdout
    r["model_seconds"] = time.time() - t1
    client.close()
    return r


def stats_rel_diff(a, b):
    worst = 0.0
    for u, v in zip(a, b):
        if u == v or (isinstance(u, float) and math.isnan(u) and math.isnan(v)):
            continue
        worst = max(worst, abs(u - v) / max(abs(u), abs(v), 1e-300))
    return worst


def conformance(results):
    ref = results[0]
    print(f"\nconformance against {ref['label']} (isa {ref['isa']}):")
    worst_stats = 0.0
    rows = []
    for name in ref["quant"]:
        cells = []
        for r in results:
            q, q0 = r["quant"][name], ref["quant"][name]
            same_bytes = all(q[k] == q0[k] for k in ("data", "scales", "zero_points", "granularity"))
            same_deq = q["deq_f32"] == q0["deq_f32"] and q["deq_f16"] == q0["deq_f16"]
            d = stats_rel_diff(q["stats"], q0["stats"])
            worst_stats = max(worst_stats, d)
            check(same_bytes, f"{name}: quantized bytes/scales/zero points of {r['label']} differ from {ref['label']}")
            check(same_deq, f"{name}: dequantized values of {r['label']} differ from {ref['label']}")
            check(d <= STATS_RTOL, f"{name}: error stats of {r['label']} differ by {d:.3g} (relative)")
            cells.append("same" if same_bytes and same_deq and d == 0 else
                         ("stats~" if same_bytes and same_deq else "DIFF"))
        rows.append((name, cells))
    for scheme in ref["quantctl"]:
        for r in results:
            check(r["quantctl"][scheme] == ref["quantctl"][scheme],
                  f"quantctl {scheme}: output of {r['label']} differs from {ref['label']}")
    width = max(len(n) for n, _ in rows)
    print(" " * (width + 2) + "  ".join(f"{r['label']:>14}" for r in results))
    for name, cells in rows:
        print(f"{name:<{width}}  " + "  ".join(f"{c:>14}" for c in cells))
    print(f"quantize+dequantize configs: {len(rows)}, identical bytes and values on all {len(results)} servers: "
          f"{all(c == 'same' or c == 'stats~' for _, cs in rows for c in cs)}; "
          f"largest relative error-stat difference {worst_stats:.3g} (tolerance {STATS_RTOL:g})")
    print("greedy token ids (Generate, prompt + %d tokens):" % GEN_TOKENS)
    for name in MODEL_FILES:
        same = all(r["greedy"][name] == ref["greedy"][name] and r["quantctl_greedy"][name] == ref["quantctl_greedy"][name]
                   for r in results)
        check(same, f"greedy {name}: token ids differ between servers: " +
              "; ".join(f"{r['label']}={r['greedy'][name]}" for r in results))
        print(f"  {name:<14} {'identical' if same else 'DIFFERENT'} on {len(results)} servers: {ref['greedy'][name]}")


def run_logits():
    """isa_logits natively per x86 ISA and under qemu per arm64 CPU/ISA; compares the dumps."""
    runs = []
    x86 = str(HOST_BUILD / "isa_logits")
    arm = str(ARM64_BUILD / "isa_logits")
    have = set(results_available_x86)
    for isa in ("scalar", "avx2", "avx512"):
        if isa in have:
            runs.append((f"x86-{isa}", [x86], isa))
    runs += [("arm64-max", ["qemu-aarch64", "-cpu", "max", arm], None),
             ("arm64-max-neon", ["qemu-aarch64", "-cpu", "max", arm], "neon"),
             ("arm64-a53", ["qemu-aarch64", "-cpu", "cortex-a53", arm], None)]
    dumps = {}
    print("\nlogits (isa_logits: prompt, then 24 greedy steps, 512 logits each, 1 thread):")
    for label, cmd, isa in runs:
        d = OUT / "logits" / label
        d.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.pop("QUANTD_ISA", None)
        if isa:
            env["QUANTD_ISA"] = isa
        t0 = time.time()
        p = subprocess.run(cmd + [str(MODELS), str(d)], env=env, capture_output=True, text=True, timeout=600)
        if not check(p.returncode == 0, f"isa_logits {label} exited {p.returncode}: {p.stderr[-500:]}"):
            continue
        lines = dict(line.split(" ", 1) for line in p.stdout.strip().splitlines())
        print(f"  {label:<15} isa {lines['isa']:<13} {time.time() - t0:5.1f} s  " +
              " ".join(f"{k}={v}" for k, v in lines.items() if k != "isa"))
        dumps[label] = {v: (np.fromfile(d / f"{v}.logits", dtype="<f4"), (d / f"{v}.ids").read_text())
                        for v in MODEL_FILES}
    if not dumps:
        return
    ref_label = next(iter(dumps))
    largest = 0.0
    for v in MODEL_FILES:
        ref_logits, ref_ids = dumps[ref_label][v]
        worst, worst_pair = 0.0, None
        for label, per in dumps.items():
            logits, ids = per[v]
            check(ids == ref_ids, f"isa_logits {v}: greedy ids of {label} differ from {ref_label}")
            diff = float(np.max(np.abs(logits.astype(np.float64) - ref_logits))) if logits.shape == ref_logits.shape \
                else math.inf
            if diff > worst:
                worst, worst_pair = diff, label
        largest = max(largest, worst)
        bit = all(per[v][0].tobytes() == ref_logits.tobytes() for per in dumps.values())
        print(f"  {v:<14} greedy ids identical: {all(per[v][1] == ref_ids for per in dumps.values())}; "
              f"logits bit-identical on all {len(dumps)}: {bit}; largest |diff| vs {ref_label} {worst:.3g}"
              + (f" ({worst_pair})" if worst_pair else ""))
    print(f"largest logit difference between ISAs: {largest:.3g}")
    check(largest == 0.0, f"logits are not bit-identical across ISAs (largest difference {largest:.3g})")


def footprint(results):
    def stripped(path, strip):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "q")
            subprocess.run([strip, "-o", out, path], check=True)
            return os.path.getsize(out)

    base = None
    if BASELINE:
        p = subprocess.Popen(["qemu-aarch64", "-cpu", "max", BASELINE])
        time.sleep(1.0)
        base = vm_rss_kib(p.pid)
        p.kill()
        p.wait()
    print("\nfootprint (not asserted):")
    print(f"  stripped quantd: x86_64 {stripped(QUANTD_X86, 'strip') / 1e6:.2f} MB, "
          f"aarch64 {stripped(QUANTD_ARM, 'aarch64-linux-gnu-strip') / 1e6:.2f} MB")
    if base is not None:
        print(f"  qemu-aarch64 baseline (trivial arm64 program, dynamically linked): VmRSS {base / 1024:.1f} MiB")
    for r in results:
        idle, loaded = r["rss_idle_kib"], r["rss_model_kib"]
        if r["arch"] == "aarch64" and base is not None:
            print(f"  {r['label']:<15} VmRSS idle {idle / 1024:6.1f} MiB (minus qemu {(idle - base) / 1024:6.1f}), "
                  f"stories260K loaded {loaded / 1024:6.1f} MiB (minus qemu {(loaded - base) / 1024:6.1f})")
        else:
            print(f"  {r['label']:<15} VmRSS idle {idle / 1024:6.1f} MiB, stories260K loaded {loaded / 1024:6.1f} MiB")


results_available_x86 = []


def main():
    global results_available_x86
    OUT.mkdir(parents=True, exist_ok=True)
    for f in (QUANTD_X86, QUANTCTL, QUANTD_ARM):
        if not os.access(f, os.X_OK):
            sys.exit(f"arm64_server_test: {f} not built")
    # The x86 ISAs this build and CPU can run, from an x86 server's own report.
    probe = Server("x86-probe", "x86_64")
    with QuantdClient(probe.address) as c:
        results_available_x86 = list(c._stub.GetServerInfo(quantd_pb2.GetServerInfoRequest(), timeout=30).available_isas)
    probe.stop()
    plan = [(f"x86-{isa}", "x86_64", None, isa, isa) for isa in ("scalar", "avx2", "avx512")
            if isa in results_available_x86]
    plan += [("arm64-max", "aarch64", "max", None, "neon_dotprod"),
             ("arm64-max-neon", "aarch64", "max", "neon", "neon"),
             ("arm64-a53", "aarch64", "cortex-a53", None, "neon")]
    results = []
    for label, arch, cpu, isa, want in plan:
        t0 = time.time()
        try:
            server = Server(label, arch, cpu, isa)
        except RuntimeError as e:
            check(False, str(e))
            continue
        try:
            r = exercise(server)
        except Exception as e:  # noqa: BLE001 (any client error is a failure of this server)
            check(False, f"{label}: {type(e).__name__}: {e}")
            server.stop()
            continue
        rc = server.stop()
        check(rc == 0, f"{label}: quantd exited {rc} after SIGTERM")
        check(r["isa"] == want, f"{label}: dispatch chose {r['isa']}, expected {want}")
        if cpu == "cortex-a53":
            check("neon_dotprod" not in r["available_isas"], f"{label}: neon_dotprod offered on cortex-a53")
        results.append(r)
        (OUT / f"{label}.json").write_text(json.dumps(r, indent=1))
        print(f"{label:<15} {('qemu -cpu ' + cpu) if cpu else 'native':<20} isa {r['isa']:<13} "
              f"start {server.startup_seconds:4.1f} s, quantize {r['quantize_seconds']:5.1f} s, "
              f"models+generate {r['model_seconds']:5.1f} s, total {time.time() - t0:5.1f} s", flush=True)
    if len(results) == len(plan):
        conformance(results)
    run_logits()
    if results:
        footprint(results)
    print(f"\narm64_server_test: {passed} checks passed, {len(failures)} failed")
    for f in failures[:30]:
        print(f"  FAILED: {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
