"""Shared helpers of the tests/ops Python tests (Debian's /usr/bin/python3, python3-yaml, python3-numpy).

- metric names out of PromQL expressions, rule files and a Grafana dashboard;
- a quantd process on free 127.0.0.1 ports, driven with quantctl;
- the Prometheus text exposition format.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(REPO, "deploy")
PROM_DIR = os.path.join(DEPLOY, "prometheus")
RULE_FILES = [os.path.join(PROM_DIR, "rules", f) for f in ("quantd-recording.yml", "quantd-alerts.yml")]
DASHBOARD = os.path.join(DEPLOY, "grafana", "dashboards", "quantd.json")

# The exported metrics (API; design.md section 4). Histograms by base name.
API_METRICS = {
    "quantd_requests_total": "counter",
    "quantd_request_duration_seconds": "histogram",
    "quantd_requests_in_flight": "gauge",
    "quantd_request_errors_total": "counter",
    "quantd_quantize_input_bytes_total": "counter",
    "quantd_quantize_output_bytes_total": "counter",
    "quantd_quantize_rmse": "histogram",
    "quantd_quantize_snr_db": "histogram",
    "quantd_generate_time_to_first_token_seconds": "histogram",
    "quantd_generate_inter_token_seconds": "histogram",
    "quantd_generate_prompt_tokens_total": "counter",
    "quantd_generate_tokens_total": "counter",
    "quantd_generate_active_streams": "gauge",
    "quantd_generate_queue_length": "gauge",
    "quantd_kv_cache_bytes": "gauge",
    "quantd_compute_queue_length": "gauge",
    "quantd_model_bytes": "gauge",
    "quantd_build_info": "gauge",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_cpu_seconds_total": "counter",
    "process_open_fds": "gauge",
    "process_threads": "gauge",
    "process_start_time_seconds": "gauge",
}

# Series the rules may read that quantd does not export, and why.
EXTERNAL_METRICS = {
    "up": "synthesized by Prometheus for every scrape target",
    "container_spec_memory_limit_bytes": "cAdvisor (kubelet) on Kubernetes; the memory rule falls back without it",
}

# --------------------------------------------------------------------------------------------
# PromQL

_AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                 "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
_LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"}
_TOKEN = re.compile(r"""
    (?P<var>\$\{?\w+\}?)
  | (?P<num>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:ms|[smhdwy])*)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<punct>\S)
""", re.VERBOSE)


def _strip(expr):
    """Removes comments, string literals, then label matchers and range selectors."""
    expr = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expr)
    expr = re.sub(r"#[^\n]*", " ", expr)
    expr = re.sub(r"\{[^{}]*\}", " ", expr)
    expr = re.sub(r"\[[^\[\]]*\]", " ", expr)
    return expr


def promql_metric_names(expr):
    """Metric names an expression reads (functions, keywords, label names and numbers left out)."""
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(_strip(expr))]
    names = set()
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if kind == "ident":
            low = text.lower()
            if low in _LABEL_LIST_KEYWORDS:
                if nxt == "(":  # skip the label list
                    j = i + 1
                    while j < len(tokens) and tokens[j][1] != ")":
                        j += 1
                    i = j
            elif low in _KEYWORDS or text in _AGGREGATIONS or nxt == "(":
                pass
            else:
                names.add(text)
        i += 1
    return names


def grafana_query_metric_names(query):
    """Metric names of a Grafana Prometheus variable query (label_values, query_result, metrics)."""
    query = query.strip()
    m = re.fullmatch(r"label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)", query, re.S)
    if m:
        return promql_metric_names(m.group(1))
    if re.fullmatch(r"label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)", query) or query.startswith("label_names("):
        return set()
    m = re.fullmatch(r"query_result\((.*)\)", query, re.S)
    if m:
        return promql_metric_names(m.group(1))
    if query.startswith("metrics("):
        raise ValueError(f"metrics() variable queries match names by regex; not supported: {query}")
    return promql_metric_names(query)


def load_rules(paths=RULE_FILES):
    """[(file, rule dict)] of every rule in the rule files."""
    out = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for group in doc["groups"]:
            for rule in group["rules"]:
                out.append((path, rule))
    return out


def rule_metric_names(rules):
    """(names read by the rule expressions, names the recording rules define)."""
    used, defined = set(), set()
    for _, rule in rules:
        used |= promql_metric_names(rule["expr"])
        if "record" in rule:
            defined.add(rule["record"])
    return used, defined


def dashboard_queries(dashboard):
    """[(where, kind, text)]: panel target expressions and template variable queries."""
    out = []

    def panels(items):
        for p in items:
            yield p
            yield from panels(p.get("panels", []))

    for p in panels(dashboard.get("panels", [])):
        for t in p.get("targets", []):
            if "expr" in t:
                out.append((f'panel "{p.get("title")}" {t.get("refId")}', "expr", t["expr"]))
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            if isinstance(q, dict):
                q = q.get("query", "")
            out.append((f'variable "{v["name"]}"', "variable", q))
    return out


def dashboard_metric_names(dashboard):
    names = {}
    for where, kind, text in dashboard_queries(dashboard):
        found = promql_metric_names(text) if kind == "expr" else grafana_query_metric_names(text)
        for n in found:
            names.setdefault(n, []).append(where)
    return names


# --------------------------------------------------------------------------------------------
# Exposition format


def parse_exposition(text):
    """(families {name: type}, sample names {name: [(labels text, value)]})."""
    families, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(None, 3)
            families[name] = typ.strip()
        elif line and not line.startswith("#"):
            m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
            if m:
                samples.setdefault(m.group(1), []).append((m.group(2) or "", float(m.group(3))))
    return families, samples


def series_value(samples, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for text, value in samples.get(name, []):
        if all(f'{k}="{v}"' in text for k, v in labels.items()):
            total += value
    return total


# --------------------------------------------------------------------------------------------
# Processes


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary(env, *fallbacks):
    path = os.environ.get(env)
    if path:
        return path
    for f in fallbacks:
        p = os.path.join(REPO, f)
        if os.access(p, os.X_OK):
            return p
    raise SystemExit(f"set {env} (the built binary); not found in {fallbacks}")


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode("utf-8")


class Quantd:
    """quantd on free 127.0.0.1 ports, with a tiny synthetic model when the generator is built."""

    def __init__(self, workdir):
        self.quantd = binary("QUANTD_BIN", "build/server/quantd")
        self.quantctl = binary("QUANTCTL_BIN", "build/client/quantctl")
        self.workdir = workdir
        self.port = free_port()
        self.metrics_port = free_port()
        while self.metrics_port == self.port:
            self.metrics_port = free_port()
        self.server = f"127.0.0.1:{self.port}"
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        self.model = None
        self.proc = None
        self.log = os.path.join(workdir, "quantd.log")

    def _make_model(self):
        tool = os.environ.get("QUANTD_MAKE_SYNTHETIC")
        if not tool or not os.access(tool, os.X_OK):
            return None
        path = os.path.join(self.workdir, "tiny.gguf")
        r = subprocess.run([tool, "--dim=64", "--layers=1", "--heads=4", "--kv_heads=2", "--ffn=128",
                            "--vocab=300", "--ctx=64", "--type=q8_0", f"--out={path}"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"note: no test model ({tool} failed: {r.stderr.strip()})")
            return None
        return path

    def start(self):
        args = [self.quantd, f"--listen={self.server}", f"--metrics_listen=127.0.0.1:{self.metrics_port}",
                "--threads=2", "--shutdown_grace_seconds=2"]
        model = self._make_model()
        if model:
            args.append(f"--model=tiny={model}")
            self.model = "tiny"
        self.proc = subprocess.Popen(args, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"quantd exited with {self.proc.returncode}:\n{open(self.log).read()}")
            if self.ctl("health").returncode == 0:
                try:
                    http_get(self.metrics_url)
                    return self
                except OSError:
                    pass
            time.sleep(0.2)
        raise SystemExit(f"quantd did not become SERVING within 30 s:\n{open(self.log).read()}")

    def ctl(self, *args):
        extra = ["--timeout=30"] if args and args[0] != "health" else []
        return subprocess.run([self.quantctl, *args, f"--server={self.server}", *extra],
                              capture_output=True, text=True)

    def scrape(self):
        return http_get(self.metrics_url)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise SystemExit("quantd did not exit within 15 s of SIGTERM")
            if rc != 0:
                raise SystemExit(f"quantd exited with {rc} after SIGTERM:\n{open(self.log).read()}")


def write_tensors(workdir):
    """(good .npy path, non-finite .npy path)."""
    import numpy as np
    good = os.path.join(workdir, "w.npy")
    bad = os.path.join(workdir, "nan.npy")
    np.save(good, np.random.default_rng(0).standard_normal((64, 256)).astype(np.float32))
    a = np.ones((4, 64), np.float32)
    a[1, 3] = np.nan
    np.save(bad, a)
    return good, bad


def drive_rpcs(q, good, bad, ok_per_scheme=2, failures=2, schemes=("q4_0", "int8_sym")):
    """Health checks, successful Quantize calls per scheme, failing ones (INVALID_ARGUMENT).
    Returns {"ok": n, "bad": n} for Quantize."""
    def must(r, want_ok, what):
        if (r.returncode == 0) != want_ok:
            raise SystemExit(f"quantctl {what}: exit {r.returncode}, want {'0' if want_ok else 'non-zero'}:\n"
                             f"{r.stdout}{r.stderr}")
        return r

    must(q.ctl("health"), True, "health")
    n_ok = 0
    for scheme in schemes:
        for _ in range(ok_per_scheme):
            must(q.ctl("quantize", good, f"--scheme={scheme}"), True, f"quantize --scheme={scheme}")
            n_ok += 1
    for _ in range(failures):
        r = must(q.ctl("quantize", bad, "--scheme=q4_0"), False, "quantize of a NaN tensor")
        if "INVALID_ARGUMENT" not in r.stderr:
            raise SystemExit(f"NaN quantize: want INVALID_ARGUMENT, got: {r.stderr}")
    return {"ok": n_ok, "bad": failures}


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="quantd-ops-")
        return self.path

    def __exit__(self, *exc):
        if os.environ.get("QUANTD_KEEP_TMP") != "1":
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            print(f"kept {self.path}")


def check(cond, msg, failures):
    if cond:
        print(f"ok: {msg}")
    else:
        print(f"FAIL: {msg}")
        failures.append(msg)


def load_dashboard(path=DASHBOARD):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
