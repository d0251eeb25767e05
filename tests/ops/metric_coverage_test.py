#!/usr/bin/python3
"""Every metric the Grafana dashboard and the Prometheus rules query is one quantd exports.

1. deploy/grafana/dashboards/quantd.json is what deploy/grafana/generate_dashboard.py writes.
2. The PromQL extractor passes its own known cases.
3. Metric names are taken from every panel target and template variable of the dashboard and
   from every rule expression; names defined by the recording rules themselves are dropped,
   and so are the few series Prometheus or cAdvisor provide (opslib.EXTERNAL_METRICS, rules only).
4. The built quantd runs on free 127.0.0.1 ports (with a tiny synthetic model when
   QUANTD_MAKE_SYNTHETIC names the generator, so quantd_model_bytes has series), gets a health
   check, Quantize calls and failing Quantize calls (NaN tensor: INVALID_ARGUMENT); /metrics is
   scraped and linted with `promtool check metrics`.
5. Each queried name must be a sample name in the scrape (histograms: the _bucket/_sum/_count
   series, not the bare base name, which has no samples), with the type the query implies.
6. The dashboard shows every metric of the API list (design.md section 4).

Env: QUANTD_BIN, QUANTCTL_BIN (default build/...), QUANTD_MAKE_SYNTHETIC (optional).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opslib  # noqa: E402

failures = []
check = lambda cond, msg: opslib.check(cond, msg, failures)  # noqa: E731

# 1. The committed dashboard is the generator's output.
gen = subprocess.run(["/usr/bin/python3", os.path.join(opslib.DEPLOY, "grafana", "generate_dashboard.py"), "/dev/stdout"],
                     capture_output=True, text=True)
with open(opslib.DASHBOARD, encoding="utf-8") as f:
    committed = f.read()
check(gen.returncode == 0 and gen.stdout.startswith(committed) and gen.stdout[len(committed):].startswith("wrote"),
      "dashboards/quantd.json is up to date with generate_dashboard.py (else: run it and commit the result)")

# 2. The extractor itself.
CASES = {
    'sum by (job, method, le) (rate(quantd_request_duration_seconds_bucket{job=~"$job", method!~"a|b"}[$__rate_interval]))':
        {"quantd_request_duration_seconds_bucket"},
    "histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m]))) > 1e-3": {"x_bucket"},
    '(a / on (namespace, pod) group_left () max by (namespace, pod) (b{c="d"} > 0)) or e / 8589934592':
        {"a", "b", "e"},
    "time() - max(process_start_time_seconds) offset 5m": {"process_start_time_seconds"},
    'label_replace(up, "x", "$1", "instance", "(.*)") unless ignoring(x) foo # comment bar': {"up", "foo"},
    "sum without (instance) (rate(quantd_requests_total[1m] @ 100)) and bool vector(1)": {"quantd_requests_total"},
    "job:quantd_requests:rate5m{job=\"a{b}\"}": {"job:quantd_requests:rate5m"},
}
for expr, want in CASES.items():
    got = opslib.promql_metric_names(expr)
    check(got == want, f"extractor: {expr!r} -> {sorted(got)}" + ("" if got == want else f" (want {sorted(want)})"))
got = opslib.grafana_query_metric_names('label_values(quantd_build_info{job=~"$job"}, instance)')
check(got == {"quantd_build_info"}, f"extractor: label_values(...) -> {sorted(got)}")

# 3. Names queried.
rules = opslib.load_rules()
rule_used, recorded = opslib.rule_metric_names(rules)
dashboard = opslib.load_dashboard()
dash_used = opslib.dashboard_metric_names(dashboard)
print(f"rules: {len(rules)} in {len(opslib.RULE_FILES)} files, {len(recorded)} recording rules; "
      f"dashboard: {len(opslib.dashboard_queries(dashboard))} queries")
check(not (set(dash_used) & recorded),
      "the dashboard reads raw metrics only, so it works without the recording rules"
      + "".join(f" (reads {n})" for n in sorted(set(dash_used) & recorded)))
external_used = (rule_used - recorded) & set(opslib.EXTERNAL_METRICS)
for name in sorted(external_used):
    print(f"note: rules read {name}: {opslib.EXTERNAL_METRICS[name]}")
queried = {n: ["rules"] for n in rule_used - recorded - set(opslib.EXTERNAL_METRICS)}
for n, where in dash_used.items():
    queried.setdefault(n, []).extend(where)

# 4. The running server.
with opslib.TempDir() as tmp:
    good, bad = opslib.write_tensors(tmp)
    q = opslib.Quantd(tmp).start()
    try:
        before = q.scrape()
        counts = opslib.drive_rpcs(q, good, bad)
        text = q.scrape()
    finally:
        q.stop()
    with open(os.path.join(tmp, "metrics.txt"), "w") as f:
        f.write(text)
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    check(lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(),
          "promtool check metrics: clean" + ("" if lint.returncode == 0 else f" ({lint.stdout}{lint.stderr})"))

families, samples = opslib.parse_exposition(text)
print(f"scrape: {len(families)} families, {sum(len(v) for v in samples.values())} samples; model loaded: {q.model}")

# Every method's OK series exists at 0 before its first call, so rate() counts that call.
_, samples_before = opslib.parse_exposition(before)
for method in ("quantd.v1.Quantd/Quantize", "quantd.v1.Quantd/Dequantize", "quantd.v1.Quantd/Generate"):
    values = [v for text, v in samples_before.get("quantd_requests_total", [])
              if f'method="{method}"' in text and 'code="OK"' in text]
    check(values == [0.0], f"quantd_requests_total{{method={method},code=OK}} is 0 before any call (got {values})")

# The RPCs really show up (so the names below are checked against a scrape with data).
check(opslib.series_value(samples, "quantd_requests_total", method="quantd.v1.Quantd/Quantize", code="OK") == counts["ok"],
      f"quantd_requests_total counts the {counts['ok']} successful Quantize calls")
check(opslib.series_value(samples, "quantd_request_errors_total", method="quantd.v1.Quantd/Quantize",
                          code="INVALID_ARGUMENT") == counts["bad"],
      f"quantd_request_errors_total counts the {counts['bad']} failed Quantize calls")

# 5. Each queried name is exported.
def verdict(name):
    """(ok, explanation) for one queried name against the scrape."""
    base = None
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and families.get(name[: -len(suffix)]) == "histogram":
            base = name[: -len(suffix)]
    if name in samples:
        return True, f"exported ({f'histogram {base}' if base else families.get(name, 'sample')})"
    if families.get(name) == "histogram":
        return False, f"a histogram has no samples under its base name: query {name}_bucket/_sum/_count"
    if name == "quantd_model_bytes" and q.model is None:
        # Only loaded models have series; without the synthetic-model tool no model is loaded.
        return None, "no series without a loaded model (QUANTD_MAKE_SYNTHETIC unset); not checked"
    return False, "not exported by quantd"


# The verdict can fail: an unknown name and a bare histogram name are refused.
check(verdict("quantd_no_such_metric_total")[0] is False and verdict("quantd_request_duration_seconds")[0] is False,
      "an unknown name and a bare histogram base name are refused")
for name in sorted(queried):
    ok, why = verdict(name)
    where = ", ".join(sorted(set(queried[name])))
    if ok is None:
        print(f"note: {name}: {why}")
    else:
        check(ok, f"{name}: {why} (used by {where[:120]})")

# 6. The dashboard shows every API metric.
for name, typ in opslib.API_METRICS.items():
    names = [name + s for s in ("_bucket", "_sum", "_count")] if typ == "histogram" else [name]
    check(any(n in dash_used for n in names), f"the dashboard shows {name}")
    if name == "quantd_model_bytes" and q.model is None:
        continue
    check(families.get(name) == typ, f"quantd exports {name} as a {typ} (scrape: {families.get(name)})")
unshown = sorted(f for f in families if not f.startswith("exposer_")
                 and not any(n == f or n.startswith(f + "_") for n in dash_used))
if unshown:
    print(f"warning: exported but not on the dashboard: {', '.join(unshown)}")

if failures:
    print(f"\n{len(failures)} check(s) failed")
    sys.exit(1)
print("\nmetric_coverage_test: all checks passed")
