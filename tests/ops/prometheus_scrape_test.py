#!/usr/bin/python3
"""A real Prometheus (Debian's package) scrapes a real quantd with the shipped config and rules.

The config is deploy/prometheus/prometheus.yml with: the scrape target replaced by the test's
quantd metrics port, scrape and evaluation interval 1 s, the shipped rule files by absolute
path. Prometheus listens on a free 127.0.0.1 port with its TSDB in a temporary directory.

Once Prometheus has scraped quantd, the test drives two rounds of RPCs (health checks,
successful Quantize calls in two schemes, failing Quantize calls), each seen by a scrape (the
first creates the labelled series, the second is what rate() sees), waits until Prometheus's
view matches quantd's own /metrics, then queries /api/v1/query and checks:
  - up{job="quantd"} is 1;
  - quantd_requests_total and quantd_request_errors_total hold the exact call counts;
  - the latency histogram: +Inf bucket = number of calls, buckets non-decreasing, and
    histogram_quantile(0.99, rate(...)) a finite number between 0 and 60 s;
  - process_resident_memory_bytes within a factor 2 of quantd's VmRSS and above 1 MiB;
  - recording rules evaluated: request rate > 0, error ratio strictly between 0 and 1,
    p99 latency finite, quantize throughput > 0, resident memory ratio in (0, 1);
  - /api/v1/rules: every shipped rule is loaded and healthy.

Env: QUANTD_BIN, QUANTCTL_BIN, QUANTD_MAKE_SYNTHETIC (optional), PROMETHEUS_BIN (default prometheus).
"""
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opslib  # noqa: E402

failures = []
check = lambda cond, msg: opslib.check(cond, msg, failures)  # noqa: E731
PROMETHEUS = os.environ.get("PROMETHEUS_BIN") or shutil.which("prometheus")
if not PROMETHEUS:
    raise SystemExit("prometheus not found (Debian package prometheus; scripts/install-deps.sh installs it)")


def make_config(tmp, metrics_port):
    with open(os.path.join(opslib.PROM_DIR, "prometheus.yml"), encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    cfg["global"]["scrape_interval"] = "1s"
    cfg["global"]["scrape_timeout"] = "1s"
    cfg["global"]["evaluation_interval"] = "1s"
    cfg["rule_files"] = [os.path.join(opslib.PROM_DIR, r) for r in cfg["rule_files"]]
    jobs = [j for j in cfg["scrape_configs"] if j["job_name"] == "quantd"]
    assert len(jobs) == 1, "prometheus.yml must have one scrape job named quantd"
    jobs[0]["static_configs"] = [{"targets": [f"127.0.0.1:{metrics_port}"]}]
    path = os.path.join(tmp, "prometheus.yml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f)
    r = subprocess.run(["promtool", "check", "config", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"promtool check config on the generated config failed:\n{r.stdout}{r.stderr}")
    return path


class Prometheus:
    def __init__(self, tmp, config):
        self.port = opslib.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = os.path.join(tmp, "prometheus.log")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self.wait_for(lambda: opslib.http_get(self.url + "/-/ready").strip() != "", 60, "Prometheus ready")

    def api(self, path, **params):
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        body = json.loads(opslib.http_get(url))
        if body.get("status") != "success":
            raise RuntimeError(f"{url}: {body}")
        return body["data"]

    def query(self, expr):
        """{frozenset(labels minus __name__): float value} of an instant query."""
        data = self.api("query", query=expr)
        return {frozenset((k, v) for k, v in s["metric"].items() if k != "__name__"): float(s["value"][1])
                for s in data["result"]}

    def wait_for(self, cond, timeout, what):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"prometheus exited with {self.proc.returncode}:\n{open(self.log).read()}")
            try:
                if cond():
                    return
            except Exception as e:  # not up yet
                last = e
            time.sleep(0.25)
        raise SystemExit(f"timed out after {timeout} s waiting for {what} (last error: {last})\n"
                         f"prometheus log:\n{open(self.log).read()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def one(result):
    return next(iter(result.values())) if len(result) == 1 else None


started = time.time()
with opslib.TempDir() as tmp:
    good, bad = opslib.write_tensors(tmp)
    q = opslib.Quantd(tmp).start()
    prom = None
    try:
        prom = Prometheus(tmp, make_config(tmp, q.metrics_port))
        # A first scrape before the RPCs, so rate() sees them as an increase.
        prom.wait_for(lambda: one(prom.query('up{job="quantd"}')) == 1, 30, "the first scrape of quantd")
        check(True, f"Prometheus scrapes quantd (up == 1) after {time.time() - started:.1f} s")

        # quantd creates a labelled series at its first observation, and rate() ignores a
        # series' first sample: a first round creates the series (and is scraped), only the
        # second round shows up in rate().
        sel = 'job="quantd", method="quantd.v1.Quantd/Quantize"'
        first = opslib.drive_rpcs(q, good, bad, ok_per_scheme=1, failures=1)
        prom.wait_for(lambda: one(prom.query(f'sum(quantd_requests_total{{{sel}}})')) == first["ok"] + first["bad"],
                      30, "Prometheus to see the first round of Quantize calls")
        second = opslib.drive_rpcs(q, good, bad, ok_per_scheme=2, failures=2)
        truth_text = q.scrape()
        _, truth = opslib.parse_exposition(truth_text)
        n_ok, n_bad = first["ok"] + second["ok"], first["bad"] + second["bad"]
        n_all = n_ok + n_bad

        prom.wait_for(lambda: one(prom.query(f'sum(quantd_requests_total{{{sel}}})')) == n_all, 30,
                      f"Prometheus to see all {n_all} Quantize calls")
        # Recording rules run every second; wait for one evaluation after the data arrived.
        prom.wait_for(lambda: prom.query(f'job_method:quantd_request_errors:ratio_rate5m{{{sel}}}'), 30,
                      "the recording rules")
        time.sleep(2.5)

        # Raw series.
        check(one(prom.query(f'quantd_requests_total{{{sel}, code="OK"}}')) == n_ok,
              f"quantd_requests_total{{code=OK}} == {n_ok}")
        check(one(prom.query(f'quantd_requests_total{{{sel}, code="INVALID_ARGUMENT"}}')) == n_bad,
              f"quantd_requests_total{{code=INVALID_ARGUMENT}} == {n_bad}")
        check(one(prom.query(f'quantd_request_errors_total{{{sel}}}')) == n_bad,
              f"quantd_request_errors_total{{method=Quantize}} == {n_bad} (only INVALID_ARGUMENT)")
        health = one(prom.query('quantd_requests_total{job="quantd", method="grpc.health.v1.Health/Check", code="OK"}'))
        check(health is not None and health >= 1, f"health checks counted ({health})")
        sched = opslib.series_value(truth, "quantd_quantize_input_bytes_total", scheme="q4_0")
        check(one(prom.query('quantd_quantize_input_bytes_total{job="quantd", scheme="q4_0"}')) == sched,
              f"quantd_quantize_input_bytes_total{{scheme=q4_0}} == {sched:.0f} as on /metrics")

        buckets = prom.query(f'sum by (le) (quantd_request_duration_seconds_bucket{{{sel}}})')
        by_le = sorted(((float(dict(k)["le"]), v) for k, v in buckets.items()))
        check(len(by_le) >= 10 and by_le[-1] == (math.inf, n_all),
              f"latency histogram: {len(by_le)} buckets, +Inf bucket == {n_all}")
        check(all(a[1] <= b[1] for a, b in zip(by_le, by_le[1:])), "latency buckets are cumulative (non-decreasing)")
        count = one(prom.query(f'sum(quantd_request_duration_seconds_count{{{sel}}})'))
        total = one(prom.query(f'sum(quantd_request_duration_seconds_sum{{{sel}}})'))
        check(count == n_all and total is not None and 0 < total < 60 * n_all,
              f"latency _count == {n_all}, _sum {total:.6f} s")
        p99 = one(prom.query(f'histogram_quantile(0.99, sum by (le) (rate(quantd_request_duration_seconds_bucket{{{sel}}}[1m])))'))
        check(p99 is not None and math.isfinite(p99) and 0 < p99 <= 60, f"p99 latency from rate() = {p99} s")

        rss = one(prom.query('process_resident_memory_bytes{job="quantd"}'))
        with open(f"/proc/{q.proc.pid}/status") as f:
            vmrss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
        check(rss is not None and rss > 1 << 20 and vmrss / 2 < rss < vmrss * 2,
              f"process_resident_memory_bytes {rss:.0f} (VmRSS now {vmrss})")
        info = prom.query('quantd_build_info{job="quantd"}')
        check(len(info) == 1 and one(info) == 1 and dict(next(iter(info)))["threads"] == "2",
              f"quantd_build_info: {[dict(k) for k in info]}")

        # Recording rules.
        rate = one(prom.query(f'job_method:quantd_requests:rate5m{{{sel}}}'))
        check(rate is not None and rate > 0, f"job_method:quantd_requests:rate5m{{Quantize}} = {rate}")
        ratio = one(prom.query(f'job_method:quantd_request_errors:ratio_rate5m{{{sel}}}'))
        check(ratio is not None and 0 < ratio < 1,
              f"job_method:quantd_request_errors:ratio_rate5m{{Quantize}} = {ratio} (calls: {n_bad}/{n_all})")
        hratio = one(prom.query('job_method:quantd_request_errors:ratio_rate5m{method="grpc.health.v1.Health/Check"}'))
        check(hratio == 0, f"error ratio of a method that never failed is 0 ({hratio})")
        rp99 = one(prom.query(f'job_method:quantd_request_duration_seconds:p99_5m{{{sel}}}'))
        check(rp99 is not None and math.isfinite(rp99) and 0 < rp99 <= 60,
              f"job_method:quantd_request_duration_seconds:p99_5m{{Quantize}} = {rp99}")
        tput = prom.query('job_scheme:quantd_quantize_input_bytes:rate5m')
        check({dict(k)["scheme"] for k, v in tput.items() if v > 0} == {"q4_0", "int8_sym"},
              f"job_scheme:quantd_quantize_input_bytes:rate5m > 0 for q4_0 and int8_sym ({len(tput)} series)")
        mem = one(prom.query('instance:quantd_process_resident_memory:ratio_limit'))
        check(mem is not None and 0 < mem < 1, f"instance:quantd_process_resident_memory:ratio_limit = {mem}")
        toks = one(prom.query('job:quantd_generate_tokens:rate5m'))
        check(toks == 0, f"job:quantd_generate_tokens:rate5m = {toks} (no Generate calls)")

        # Every shipped rule loaded and healthy.
        loaded = {}
        for g in prom.api("rules")["groups"]:
            for r in g["rules"]:
                loaded[r["name"]] = (r.get("health"), r.get("lastError", ""))
        shipped = [r.get("record") or r.get("alert") for _, r in opslib.load_rules()]
        missing = [n for n in shipped if n not in loaded]
        bad_health = {n: h for n, h in loaded.items() if h[0] != "ok"}
        check(not missing and not bad_health and len(loaded) == len(shipped),
              f"/api/v1/rules: {len(loaded)} rules loaded, all healthy"
              + (f"; missing {missing}" if missing else "") + (f"; unhealthy {bad_health}" if bad_health else ""))
        firing = [a["labels"]["alertname"] for a in prom.api("alerts")["alerts"] if a["state"] == "firing"]
        check(not firing, f"no alert fires during the test ({firing})")
    finally:
        if prom:
            prom.stop()
        q.stop()

print(f"\n{time.time() - started:.1f} s")
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("prometheus_scrape_test: all checks passed")
