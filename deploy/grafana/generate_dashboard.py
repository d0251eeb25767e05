#!/usr/bin/python3
"""Writes deploy/grafana/dashboards/quantd.json, the Grafana dashboard of quantd.

The JSON is the artifact (import it, or let provisioning/ load it); this script is how it is
kept consistent (grid layout, datasource references, selectors). Edit here, then run

    /usr/bin/python3 deploy/grafana/generate_dashboard.py

tests/ops checks that the committed JSON equals this script's output, that it type-checks
against @grafana/schema, and that every metric it queries is one quantd exports.

Every query filters on the dashboard variables $job and $instance (and $method / $scheme where
the metric has those labels), and reads the Prometheus data source chosen in $datasource.
"""
import json
import os
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job", instance=~"$instance"'
RPC = SEL + ', method=~"$method"'
SCHEME = SEL + ', scheme=~"$scheme"'
RI = "$__rate_interval"
# Streaming and long-running methods, left out of the "unary p99" headline number.
STREAMS = 'quantd.v1.Quantd/(Generate|QuantizeStream|LoadModel|QuantizeModel)|grpc.health.v1.Health/Watch|grpc.reflection.+'

_ids = iter(range(1, 1000))


def target(expr, legend="__auto", ref="A", instant=False, fmt=None):
    t = {
        "datasource": DS,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend,
        "range": not instant,
        "instant": instant,
        "refId": ref,
    }
    if fmt:
        t["format"] = fmt
    return t


def targets(*pairs, **kw):
    return [target(e, l, chr(ord("A") + i), **kw) for i, (e, l) in enumerate(pairs)]


def thresholds(*steps):
    out = [{"color": "green", "value": None}]
    for value, color in steps:
        out.append({"color": color, "value": value})
    return {"mode": "absolute", "steps": out}


def timeseries(title, description, tgts, unit="short", stack=False, log=False, min_zero=True, w=12, h=8):
    custom = {
        "drawStyle": "line",
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "fillOpacity": 20 if stack else 10,
        "gradientMode": "none",
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        "axisPlacement": "auto",
        "scaleDistribution": {"type": "log", "log": 10} if log else {"type": "linear"},
        "thresholdsStyle": {"mode": "off"},
    }
    defaults = {"custom": custom, "unit": unit, "color": {"mode": "palette-classic"},
                "thresholds": thresholds()}
    if min_zero and not log:
        defaults["min"] = 0
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"calcs": ["mean", "max", "lastNotNull"], "displayMode": "table",
                       "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": tgts,
        "_size": (w, h),
    }


def stat(title, description, expr, unit, steps=(), w=4, h=4):
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": {"unit": unit, "color": {"mode": "thresholds"},
                                     "thresholds": thresholds(*steps)},
                        "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "auto",
            "textMode": "auto",
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "wideLayout": True,
            "showPercentChange": False,
            "percentChangeColorMode": "standard",
        },
        "targets": [target(expr, title)],
        "_size": (w, h),
    }


def heatmap(title, description, expr, unit, w=12, h=8):
    return {
        "type": "heatmap",
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": {"custom": {"hideFrom": {"legend": False, "tooltip": False, "viz": False},
                                                "scaleDistribution": {"type": "linear"}}},
                        "overrides": []},
        "options": {
            "calculate": False,
            "cellGap": 1,
            "color": {"mode": "scheme", "scheme": "Oranges", "fill": "dark-orange", "scale": "exponential",
                      "exponent": 0.5, "steps": 64, "reverse": False},
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
            "filterValues": {"le": 1e-9},
            "legend": {"show": True},
            "rowsFrame": {"layout": "auto"},
            "showValue": "never",
            "tooltip": {"mode": "single", "showColorScale": False, "yHistogram": True},
            "yAxis": {"axisPlacement": "left", "reverse": False, "unit": unit},
        },
        "targets": [target(expr, "{{le}}", fmt="heatmap")],
        "maxDataPoints": 60,
        "_size": (w, h),
    }


def table(title, description, expr, w=8, h=4):
    return {
        "type": "table",
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": {"custom": {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False},
                                     "thresholds": thresholds()},
                        "overrides": []},
        "options": {"showHeader": True, "cellHeight": "sm", "frameIndex": 0},
        "targets": [target(expr, "", instant=True, fmt="table")],
        "transformations": [{
            "id": "organize",
            "options": {
                "excludeByName": {"Time": True, "Value": True, "__name__": True},
                "indexByName": {"instance": 0, "job": 1, "version": 2, "arch": 3, "isa": 4, "threads": 5},
                "renameByName": {"isa": "kernel ISA"},
            },
        }],
        "_size": (w, h),
    }


def q(quantile, metric, by, sel):
    return f"histogram_quantile({quantile}, sum by ({by}) (rate({metric}_bucket{{{sel}}}[{RI}])))"


def rows():
    """(row title, [panels]) in display order."""
    overview = [
        stat("Requests/s", "All RPCs per second (quantd_requests_total).",
             f"sum(rate(quantd_requests_total{{{SEL}}}[{RI}]))", "reqps"),
        stat("Error ratio", "Fraction of RPCs that ended with a status other than OK.",
             f"sum(rate(quantd_request_errors_total{{{SEL}}}[{RI}])) / sum(rate(quantd_requests_total{{{SEL}}}[{RI}]))",
             "percentunit", steps=((0.01, "yellow"), (0.05, "red"))),
        stat("p99 latency (unary RPCs)", "99th percentile of quantd_request_duration_seconds over all unary methods "
             "(streams, model loads and reflection left out).",
             f'histogram_quantile(0.99, sum by (le) (rate(quantd_request_duration_seconds_bucket{{{SEL}, method!~"{STREAMS}"}}[{RI}])))',
             "s", steps=((1, "yellow"), (5, "red"))),
        stat("RPCs in flight", "RPCs being served now (quantd_requests_in_flight).",
             f"sum(quantd_requests_in_flight{{{SEL}}})", "short"),
        stat("Resident memory", "Resident set size of the quantd processes (process_resident_memory_bytes).",
             f"sum(process_resident_memory_bytes{{{SEL}}})", "bytes"),
        stat("Uptime", "Time since the (most recently started) quantd process started (process_start_time_seconds).",
             f"time() - max(process_start_time_seconds{{{SEL}}})", "s"),
        table("Build info", "quantd_build_info: version, CPU architecture, selected kernel ISA, OpenMP threads.",
              f"quantd_build_info{{{SEL}}}", w=24, h=5),
    ]
    rpcs = [
        timeseries("Requests/s by method and code", "quantd_requests_total, per method and gRPC status code.",
                   targets((f"sum by (method, code) (rate(quantd_requests_total{{{RPC}}}[{RI}]))", "{{method}} {{code}}")),
                   unit="reqps"),
        timeseries("Latency p50 / p90 / p99 by method", "Quantiles of quantd_request_duration_seconds (all codes).",
                   targets((q(0.5, "quantd_request_duration_seconds", "method, le", RPC), "p50 {{method}}"),
                           (q(0.9, "quantd_request_duration_seconds", "method, le", RPC), "p90 {{method}}"),
                           (q(0.99, "quantd_request_duration_seconds", "method, le", RPC), "p99 {{method}}")),
                   unit="s", log=True),
        heatmap("Latency distribution", "quantd_request_duration_seconds buckets of the selected methods.",
                f"sum by (le) (increase(quantd_request_duration_seconds_bucket{{{RPC}}}[{RI}]))", "s"),
        timeseries("RPCs in flight by method", "quantd_requests_in_flight.",
                   targets((f"sum by (method) (quantd_requests_in_flight{{{RPC}}})", "{{method}}"))),
        timeseries("Errors/s by method and code", "quantd_request_errors_total: RPCs with a status other than OK.",
                   targets((f"sum by (method, code) (rate(quantd_request_errors_total{{{RPC}}}[{RI}]))", "{{method}} {{code}}")),
                   unit="reqps"),
        timeseries("Error ratio by method", "Failed RPCs as a fraction of all RPCs, per method.",
                   targets((f"sum by (method) (rate(quantd_request_errors_total{{{RPC}}}[{RI}])) / "
                            f"sum by (method) (rate(quantd_requests_total{{{RPC}}}[{RI}]))", "{{method}}")),
                   unit="percentunit"),
    ]
    quant = [
        timeseries("Quantize throughput by scheme", "Tensor bytes in (quantd_quantize_input_bytes_total) and "
                   "packed bytes out (quantd_quantize_output_bytes_total) per second.",
                   targets((f"sum by (scheme) (rate(quantd_quantize_input_bytes_total{{{SCHEME}}}[{RI}]))", "in {{scheme}}"),
                           (f"sum by (scheme) (rate(quantd_quantize_output_bytes_total{{{SCHEME}}}[{RI}]))", "out {{scheme}}")),
                   unit="binBps"),
        timeseries("Compression by scheme", "Input bytes / output bytes.",
                   targets((f"sum by (scheme) (rate(quantd_quantize_input_bytes_total{{{SCHEME}}}[{RI}])) / "
                            f"sum by (scheme) (rate(quantd_quantize_output_bytes_total{{{SCHEME}}}[{RI}]))", "{{scheme}}")),
                   unit="suffix:x"),
        timeseries("RMSE by scheme (p50, p90, mean)", "Quantization error per tensor (quantd_quantize_rmse).",
                   targets((q(0.5, "quantd_quantize_rmse", "scheme, le", SCHEME), "p50 {{scheme}}"),
                           (q(0.9, "quantd_quantize_rmse", "scheme, le", SCHEME), "p90 {{scheme}}"),
                           (f"sum by (scheme) (rate(quantd_quantize_rmse_sum{{{SCHEME}}}[{RI}])) / "
                            f"sum by (scheme) (rate(quantd_quantize_rmse_count{{{SCHEME}}}[{RI}]))", "mean {{scheme}}")),
                   log=True),
        timeseries("SNR by scheme (p10, p50, mean)", "Signal-to-noise ratio per tensor in dB (quantd_quantize_snr_db); "
                   "low is bad, so the 10th percentile is the one to watch.",
                   targets((q(0.1, "quantd_quantize_snr_db", "scheme, le", SCHEME), "p10 {{scheme}}"),
                           (q(0.5, "quantd_quantize_snr_db", "scheme, le", SCHEME), "p50 {{scheme}}"),
                           (f"sum by (scheme) (rate(quantd_quantize_snr_db_sum{{{SCHEME}}}[{RI}])) / "
                            f"sum by (scheme) (rate(quantd_quantize_snr_db_count{{{SCHEME}}}[{RI}]))", "mean {{scheme}}")),
                   unit="dB", min_zero=False),
        heatmap("RMSE distribution", "quantd_quantize_rmse buckets of the selected schemes.",
                f"sum by (le) (increase(quantd_quantize_rmse_bucket{{{SCHEME}}}[{RI}]))", "short"),
        heatmap("SNR distribution", "quantd_quantize_snr_db buckets of the selected schemes.",
                f"sum by (le) (increase(quantd_quantize_snr_db_bucket{{{SCHEME}}}[{RI}]))", "dB"),
    ]
    generation = [
        timeseries("Time to first token p50 / p99", "quantd_generate_time_to_first_token_seconds.",
                   targets((q(0.5, "quantd_generate_time_to_first_token_seconds", "le", SEL), "p50"),
                           (q(0.99, "quantd_generate_time_to_first_token_seconds", "le", SEL), "p99")),
                   unit="s", w=8),
        timeseries("Inter-token latency p50 / p99", "quantd_generate_inter_token_seconds.",
                   targets((q(0.5, "quantd_generate_inter_token_seconds", "le", SEL), "p50"),
                           (q(0.99, "quantd_generate_inter_token_seconds", "le", SEL), "p99")),
                   unit="s", w=8),
        timeseries("Tokens/s", "Generated tokens (quantd_generate_tokens_total) and prompt tokens processed "
                   "(quantd_generate_prompt_tokens_total) per second.",
                   targets((f"sum(rate(quantd_generate_tokens_total{{{SEL}}}[{RI}]))", "generated"),
                           (f"sum(rate(quantd_generate_prompt_tokens_total{{{SEL}}}[{RI}]))", "prompt")),
                   unit="suffix: tok/s", w=8),
        timeseries("Active streams and queues", "Generate streams running (quantd_generate_active_streams), Generate "
                   "requests waiting for a slot (quantd_generate_queue_length), large Quantize/Dequantize jobs "
                   "waiting for the compute lease (quantd_compute_queue_length).",
                   targets((f"sum by (instance) (quantd_generate_active_streams{{{SEL}}})", "active streams {{instance}}"),
                           (f"sum by (instance) (quantd_generate_queue_length{{{SEL}}})", "generate queue {{instance}}"),
                           (f"sum by (instance) (quantd_compute_queue_length{{{SEL}}})", "compute queue {{instance}}"))),
        timeseries("KV cache bytes", "Bytes of KV cache held by running generations (quantd_kv_cache_bytes).",
                   targets((f"sum by (instance) (quantd_kv_cache_bytes{{{SEL}}})", "{{instance}}")), unit="bytes"),
    ]
    memory = [
        timeseries("Model bytes by model and kind", "quantd_model_bytes: kind=mapped (file mapping) or allocated "
                   "(owned copies, e.g. re-quantized weights).",
                   targets((f"sum by (model, kind) (quantd_model_bytes{{{SEL}}})", "{{model}} {{kind}}")),
                   unit="bytes", stack=True),
        timeseries("Process memory", "Resident (process_resident_memory_bytes) and virtual "
                   "(process_virtual_memory_bytes) memory, with the KV cache for comparison.",
                   targets((f"process_resident_memory_bytes{{{SEL}}}", "resident {{instance}}"),
                           (f"process_virtual_memory_bytes{{{SEL}}}", "virtual {{instance}}"),
                           (f"quantd_kv_cache_bytes{{{SEL}}}", "KV cache {{instance}}")),
                   unit="bytes"),
        timeseries("CPU (cores used)", "rate(process_cpu_seconds_total): user + system CPU seconds per second.",
                   targets((f"rate(process_cpu_seconds_total{{{SEL}}}[{RI}])", "{{instance}}"))),
        timeseries("File descriptors and threads", "process_open_fds and process_threads.",
                   targets((f"process_open_fds{{{SEL}}}", "open fds {{instance}}"),
                           (f"process_threads{{{SEL}}}", "threads {{instance}}"))),
    ]
    return [("Overview", overview), ("RPCs", rpcs), ("Quantization", quant),
            ("Generation", generation), ("Memory and process", memory)]


def layout():
    panels = []
    y = 0
    for title, items in rows():
        panels.append({"type": "row", "title": title, "id": next(_ids), "collapsed": False, "panels": [],
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}})
        y += 1
        x = 0
        row_h = 0
        for p in items:
            w, h = p.pop("_size")
            if x + w > 24:
                x = 0
                y += row_h
                row_h = 0
            p["id"] = next(_ids)
            p["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
            panels.append(p)
            x += w
            row_h = max(row_h, h)
        y += row_h
    return panels


def variable_query(name, label, query, multi=True):
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DS,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery", "qryType": 1},
        "refresh": 2,
        "includeAll": True,
        "multi": multi,
        "allValue": ".*",
        "current": {"text": ["All"], "value": ["$__all"]},
        "options": [],
        "sort": 1,
        "regex": "",
        "hide": 0,
    }


def dashboard():
    return {
        "uid": "quantd-overview",
        "title": "quantd",
        "description": "quantd: RPCs, quantization, generation, memory (deploy/grafana, generated by generate_dashboard.py)",
        "tags": ["quantd"],
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": "30s",
        "schemaVersion": 42,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "weekStart": "",
        "links": [],
        "annotations": {"list": [{
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        }]},
        "templating": {"list": [
            {
                "type": "datasource",
                "name": "datasource",
                "label": "Data source",
                "query": "prometheus",
                "refresh": 1,
                "regex": "",
                "includeAll": False,
                "multi": False,
                "options": [],
                "hide": 0,
            },
            variable_query("job", "Job", "label_values(quantd_build_info, job)"),
            variable_query("instance", "Instance", 'label_values(quantd_build_info{job=~"$job"}, instance)'),
            variable_query("method", "Method", 'label_values(quantd_requests_total{job=~"$job", instance=~"$instance"}, method)'),
            variable_query("scheme", "Scheme",
                           'label_values(quantd_quantize_input_bytes_total{job=~"$job", instance=~"$instance"}, scheme)'),
        ]},
        "panels": layout(),
    }


def render():
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboards", "quantd.json")
    if len(sys.argv) > 1:
        out = sys.argv[1]
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write(render())
    print(f"wrote {out}")
