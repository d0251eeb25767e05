#!/usr/bin/python3
"""Static checks of deploy/prometheus (no server needed).

- promtool check config deploy/prometheus/prometheus.yml (rule files found and valid);
- promtool check rules on each rule file;
- promtool test rules on each unit-test file in deploy/prometheus/tests;
- every recording rule and alert has a unit test: each record name is the expr of a
  promql_expr_test, each alert name the alertname of an alert_rule_test with expected alerts
  (so the test shows it firing) and one with none (so it shows it quiet);
- a deliberately wrong expectation makes promtool test rules fail (the harness can fail);
- yamllint on deploy/prometheus and deploy/grafana/provisioning.
"""
import glob
import os
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opslib  # noqa: E402

failures = []
check = lambda cond, msg: opslib.check(cond, msg, failures)  # noqa: E731
YAMLLINT_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "yamllint.yml")


def run(*args, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, **kw)
    return r.returncode, (r.stdout + r.stderr).strip()


rc, out = run("promtool", "check", "config", os.path.join(opslib.PROM_DIR, "prometheus.yml"))
check(rc == 0, "promtool check config prometheus.yml" + ("" if rc == 0 else f"\n{out}"))
for f in opslib.RULE_FILES:
    rc, out = run("promtool", "check", "rules", f)
    check(rc == 0, f"promtool check rules {os.path.basename(f)}" + ("" if rc == 0 else f"\n{out}"))

test_files = sorted(glob.glob(os.path.join(opslib.PROM_DIR, "tests", "*_test.yml")))
check(len(test_files) >= 2, f"{len(test_files)} rule unit-test files")
tested_exprs, fired, quiet = set(), set(), set()
for f in test_files:
    rc, out = run("promtool", "test", "rules", os.path.basename(f), cwd=os.path.dirname(f))
    check(rc == 0, f"promtool test rules {os.path.basename(f)}" + ("" if rc == 0 else f"\n{out}"))
    with open(f, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    for t in doc["tests"]:
        for e in t.get("promql_expr_test", []):
            tested_exprs.add(e["expr"].strip())
        for a in t.get("alert_rule_test", []):
            (fired if a.get("exp_alerts") else quiet).add(a["alertname"])

for path, rule in opslib.load_rules():
    if "record" in rule:
        check(rule["record"] in tested_exprs, f"recording rule {rule['record']} has a promql_expr_test")
    else:
        name = rule["alert"]
        check(name in fired and name in quiet, f"alert {name} is tested firing and quiet")

# The harness can fail: a copy of the first test file with one expectation changed.
src = os.path.join(opslib.PROM_DIR, "tests", "quantd-recording_test.yml")
with open(src, encoding="utf-8") as fh:
    doc = yaml.safe_load(fh)
doc["rule_files"] = [os.path.join(os.path.dirname(src), r) for r in doc["rule_files"]]
sample = doc["tests"][0]["promql_expr_test"][0]["exp_samples"][0]
sample["value"] = float(sample["value"]) + 1
with tempfile.NamedTemporaryFile("w", suffix="_test.yml", delete=False) as tmp:
    yaml.safe_dump(doc, tmp)
rc, out = run("promtool", "test", "rules", tmp.name)
os.unlink(tmp.name)
check(rc != 0 and "FAILED" in out, "promtool test rules fails on a wrong expectation")

targets = [opslib.PROM_DIR, os.path.join(opslib.DEPLOY, "grafana", "provisioning")]
rc, out = run("yamllint", "--strict", "-c", YAMLLINT_CONFIG, *targets)
check(rc == 0, "yamllint deploy/prometheus deploy/grafana/provisioning" + ("" if rc == 0 else f"\n{out}"))

if failures:
    print(f"\n{len(failures)} check(s) failed")
    sys.exit(1)
print("\nprometheus_rules_test: all checks passed")
