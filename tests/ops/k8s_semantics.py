#!/usr/bin/python3
"""Consistency checks of the rendered Kubernetes manifests with each other, with the image
(deploy/docker/Dockerfile) and with quantd's flags (server/main.cc).

    k8s_semantics.py BASE.yaml EDGE.yaml
"""
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opslib  # noqa: E402

failures = []
check = lambda cond, msg: opslib.check(cond, msg, failures)  # noqa: E731


def quantity(q, kind):
    q = str(q)
    if kind == "cpu":
        return float(q[:-1]) / 1000 if q.endswith("m") else float(q)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    for u, f in units.items():
        if q.endswith(u):
            return float(q[: -len(u)]) * f
    return float(q)


def load(path):
    docs = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    return by_kind


# What the image provides (deploy/docker/Dockerfile).
dockerfile = open(os.path.join(opslib.DEPLOY, "docker", "Dockerfile"), encoding="utf-8").read()
image_grpc = int(re.search(r"QUANTD_GRPC_PORT=(\d+)", dockerfile).group(1))
image_metrics = int(re.search(r"QUANTD_METRICS_PORT=(\d+)", dockerfile).group(1))
image_uid = int(re.search(r"^USER (\d+)", dockerfile, re.M).group(1))
image_model_dir = re.search(r"--model_dir=(\S+?)[ \"]", dockerfile).group(1)
# quantd's flags: the names server/main.cc gives server/common/flags (set.add("threads", ...)).
main_cc = open(os.path.join(opslib.REPO, "server", "main.cc"), encoding="utf-8").read()
known_flags = set(re.findall(r"\bset\.add(?:_bytes|_list)?\(\s*\"(\w+)\"", main_cc))


def flags_of(configmap, key):
    text = configmap["data"][key]
    flags = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"--(\w+)=(.*)", line)
        check(m is not None and m.group(1) in known_flags,
              f"flag line {line!r} is a quantd flag (server/main.cc)")
        if m:
            flags[m.group(1)] = m.group(2)
    return flags


def check_variant(name, k):
    print(f"--- {name}")
    for kind in ("Deployment", "Service", "ConfigMap", "ServiceMonitor"):
        check(len(k.get(kind, [])) == 1, f"{name}: one {kind}")
    dep, svc, cm, sm = (k[x][0] for x in ("Deployment", "Service", "ConfigMap", "ServiceMonitor"))
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    check(ports == {"grpc": image_grpc, "metrics": image_metrics},
          f"{name}: container ports {ports} are the image's ({image_grpc}, {image_metrics})")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        p = c.get(probe, {})
        check(p.get("grpc", {}).get("port") == image_grpc, f"{name}: {probe} is a native gRPC probe on {image_grpc}")

    # Security.
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == image_uid,
          f"{name}: pod runs as non-root uid {image_uid} (the image's USER)")
    check(csc.get("readOnlyRootFilesystem") is True and csc.get("allowPrivilegeEscalation") is False
          and csc.get("capabilities", {}).get("drop") == ["ALL"],
          f"{name}: read-only root file system, no privilege escalation, all capabilities dropped")
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    check(all(n in volumes for n in mounts), f"{name}: every volumeMount has a volume")
    check(mounts.get("models", {}).get("mountPath") == image_model_dir and mounts["models"].get("readOnly") is True,
          f"{name}: models volume mounted read-only at {image_model_dir} (the image's --model_dir)")
    check("tmp" in mounts and "emptyDir" in volumes.get("tmp", {}), f"{name}: writable /tmp (emptyDir)")

    # Resources.
    res = c.get("resources", {})
    check(all(res.get(a, {}).get(b) for a in ("requests", "limits") for b in ("cpu", "memory")),
          f"{name}: cpu and memory requests and limits set")
    cpu_limit = quantity(res["limits"]["cpu"], "cpu")
    mem_limit = quantity(res["limits"]["memory"], "memory")
    check(quantity(res["requests"]["cpu"], "cpu") <= cpu_limit and
          quantity(res["requests"]["memory"], "memory") <= mem_limit, f"{name}: requests <= limits")

    # Flags from the ConfigMap.
    args = c.get("args", [])
    flagfile = next((a.split("=", 1)[1] for a in args if a.startswith("--flagfile=")), None)
    check(flagfile is not None, f"{name}: args read a --flagfile")
    fdir, fkey = os.path.split(flagfile or "/x/y")
    fmount = next((m for m in c.get("volumeMounts", []) if m["mountPath"] == fdir), None)
    fvol = volumes.get(fmount["name"]) if fmount else None
    check(fvol is not None and fvol.get("configMap", {}).get("name") == cm["metadata"]["name"]
          and fkey in cm.get("data", {}),
          f"{name}: {flagfile} is key {fkey} of ConfigMap {cm['metadata']['name']} mounted at {fdir}")
    flags = flags_of(cm, fkey) if fkey in cm.get("data", {}) else {}
    threads = int(flags.get("threads", "0"))
    check(0 < threads <= cpu_limit, f"{name}: --threads={threads} within the CPU limit {cpu_limit:g}")
    grace = int(flags.get("shutdown_grace_seconds", "10"))
    check(grace < pod.get("terminationGracePeriodSeconds", 30),
          f"{name}: --shutdown_grace_seconds={grace} < terminationGracePeriodSeconds")
    check(not any(a.startswith(("--listen", "--metrics_listen")) for a in args)
          and "listen" not in flags and "metrics_listen" not in flags,
          f"{name}: the listening addresses stay the image's (ports and probes agree)")

    # Service and ServiceMonitor.
    tmpl_labels = dep["spec"]["template"]["metadata"]["labels"]
    check(dep["spec"]["selector"]["matchLabels"].items() <= tmpl_labels.items(),
          f"{name}: Deployment selector matches its pod template")
    check(svc["spec"]["selector"].items() <= tmpl_labels.items(), f"{name}: Service selects the pods")
    sports = {p["name"]: p for p in svc["spec"]["ports"]}
    check(set(sports) == {"grpc", "metrics"} and all(p["targetPort"] in ports for p in sports.values()),
          f"{name}: Service ports grpc and metrics target the container's named ports")
    check(sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items(),
          f"{name}: ServiceMonitor selects the Service")
    check([e["port"] for e in sm["spec"]["endpoints"]] == ["metrics"] and sm["spec"]["endpoints"][0].get("path") == "/metrics",
          f"{name}: ServiceMonitor scrapes the metrics port at /metrics")
    job = svc["metadata"]["labels"].get(sm["spec"].get("jobLabel", ""), svc["metadata"]["name"])
    check(job == "quantd", f"{name}: scraped series get job=\"{job}\" (the rules select job=\"quantd\")")
    return {"cpu": cpu_limit, "memory": mem_limit, "threads": threads, "pod": pod, "kinds": k}


base = check_variant("base", load(sys.argv[1]))
edge = check_variant("edge", load(sys.argv[2]))
print("--- base vs edge")
check("nodeSelector" not in base["pod"] or "kubernetes.io/arch" not in base["pod"]["nodeSelector"],
      "base: any architecture")
check(edge["pod"].get("nodeSelector", {}).get("kubernetes.io/arch") == "arm64", "edge: nodeSelector kubernetes.io/arch=arm64")
check(edge["cpu"] < base["cpu"] and edge["memory"] < base["memory"],
      f"edge: smaller limits (cpu {edge['cpu']:g} < {base['cpu']:g}, memory {edge['memory'] / 2**30:g} < {base['memory'] / 2**30:g} GiB)")
check(edge["threads"] < base["threads"], f"edge: fewer threads ({edge['threads']} < {base['threads']})")
check("PersistentVolumeClaim" in base["kinds"], "base: a PersistentVolumeClaim for the models")
bvol = {v["name"]: v for v in base["pod"]["volumes"]}["models"]
check(bvol.get("persistentVolumeClaim", {}).get("claimName") == base["kinds"]["PersistentVolumeClaim"][0]["metadata"]["name"],
      "base: the models volume is that claim")
evol = {v["name"]: v for v in edge["pod"]["volumes"]}["models"]
check("PersistentVolumeClaim" not in edge["kinds"] and set(evol) == {"name", "hostPath"},
      "edge: models from a hostPath, no claim")

if failures:
    print(f"\n{len(failures)} check(s) failed")
    sys.exit(1)
print("\nk8s_semantics: all checks passed")
