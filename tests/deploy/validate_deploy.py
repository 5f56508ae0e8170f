#!/usr/bin/python3
"""Checks deploy/ against the code it deploys.

usage: validate_deploy.py <repo root> <stripe-ingress> <stripe-worker> <stripe-sync>

- compose.yaml and every Kubernetes manifest parse (python3-yaml); `docker compose config` /
  `docker-compose config` also run when one of them is installed;
- every setting they pass is one the binaries read (from their --help), every Secret and
  ConfigMap key referenced exists, commands are real binaries and subcommands, probes use real
  routes, worker replicas do not exceed the topic's partitions;
- the Dockerfile is multi-stage on Debian 12, runs as a non-root user, and its final stage
  installs no -dev package;
- the systemd units pass `systemd-analyze verify` (ExecStart pointed at the built binaries) with
  no warning at all, when systemd-analyze is available.
Any problem is printed and the exit status is 1.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

problems = []


def problem(text):
    problems.append(text)


def settings_of(binary, *args):
    out = subprocess.run([binary, *args, "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"env ([A-Z0-9_]+)", out))


def main():
    root, ingress_bin, worker_bin, cli_bin = (os.path.abspath(a) for a in sys.argv[1:5])
    deploy = os.path.join(root, "deploy")
    ingress_settings = settings_of(ingress_bin)
    worker_settings = settings_of(worker_bin)
    backfill_settings = settings_of(cli_bin, "backfill")
    if "STRIPE_WEBHOOK_SECRET" not in ingress_settings or "WORKER_METRICS_LISTEN" not in worker_settings:
        problem("could not read the settings from the binaries' --help")
    binaries = {"stripe-ingress": ingress_settings, "stripe-worker": worker_settings}
    cli_commands = {"backfill": backfill_settings}

    # --- compose ---------------------------------------------------------------------------
    with open(os.path.join(deploy, "compose.yaml")) as f:
        compose = yaml.safe_load(f)
    services = compose.get("services", {})
    for name in ["kafka-1", "kafka-2", "kafka-3", "kafka-topics", "redis", "ingress", "worker", "prometheus"]:
        if name not in services:
            problem(f"compose.yaml: no service {name}")
    partitions = None
    for name, svc in services.items():
        if name.startswith("kafka-") and name != "kafka-topics":
            if not str(svc.get("image", "")).startswith("apache/kafka:"):
                problem(f"compose.yaml: {name} is not the official apache/kafka image")
            env = svc.get("environment", {})
            if "controller" not in str(env.get("KAFKA_PROCESS_ROLES", "")):
                problem(f"compose.yaml: {name} is not in KRaft mode")
        command = svc.get("command")
        if isinstance(command, list) and command and command[0] in binaries:
            allowed = binaries[command[0]]
            for key in svc.get("environment", {}):
                if key not in allowed:
                    problem(f"compose.yaml: {name} sets {key}, which {command[0]} does not read")
    topics_cmd = " ".join(services.get("kafka-topics", {}).get("command", []))
    if "--replication-factor 3" not in topics_cmd or "min.insync.replicas=2" not in topics_cmd:
        problem("compose.yaml: the topics are not created with replication 3 and min.insync.replicas 2")
    m = re.search(r"--topic stripe\.events --partitions (\d+)", topics_cmd)
    partitions = int(m.group(1)) if m else None
    if partitions is None:
        problem("compose.yaml: cannot find the partitions of stripe.events")
    redis_cmd = services.get("redis", {}).get("command", [])
    if "--appendonly" not in redis_cmd or redis_cmd[redis_cmd.index("--appendonly") + 1] != "yes":
        problem("compose.yaml: Redis without AOF")
    # The Redis Cluster variant: an override of compose.yaml.
    with open(os.path.join(deploy, "compose.redis-cluster.yaml")) as f:
        cluster_compose = yaml.safe_load(f)
    cluster_services = cluster_compose.get("services", {})
    nodes = [n for n in cluster_services if n.startswith("redis-") and n != "redis-cluster-create"]
    if len(nodes) < 6:
        problem(f"compose.redis-cluster.yaml: {len(nodes)} Redis nodes, fewer than 3 masters with a replica each")
    for n in nodes:
        text = " ".join(str(x) for x in cluster_services[n].get("command", []))
        for needed in ("--cluster-enabled yes", "--appendonly yes", "--maxmemory-policy noeviction"):
            if needed not in text:
                problem(f"compose.redis-cluster.yaml: {n} runs without {needed}")
    for name in ("ingress", "worker"):
        svc = cluster_services.get(name, {})
        command = services.get(name, {}).get("command", [None])[0]
        for key in svc.get("environment", {}):
            if key not in binaries.get(command, set()):
                problem(f"compose.redis-cluster.yaml: {name} sets {key}, which {command} does not read")
        if "redis-1:6379" not in svc.get("environment", {}).get("REDIS_URL", ""):
            problem(f"compose.redis-cluster.yaml: {name} is not pointed at the cluster")
    if cluster_services.get("worker", {}).get("environment", {}).get("REDIS_WAIT_REPLICAS") != "1":
        problem("compose.redis-cluster.yaml: the worker does not wait for a replica")
    worker_listen = services.get("worker", {}).get("environment", {}).get("WORKER_METRICS_LISTEN", "")
    with open(os.path.join(deploy, "prometheus", "prometheus.yml")) as f:
        prom = yaml.safe_load(f)
    targets = [t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    if "worker:" + worker_listen.rsplit(":", 1)[-1] not in targets or "ingress:8080" not in targets:
        problem(f"prometheus.yml does not scrape both processes where they listen: {targets}")
    for tool in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(tool[0]) and subprocess.run(tool + ["version"], capture_output=True).returncode == 0:
            for files in (["compose.yaml"], ["compose.yaml", "compose.redis-cluster.yaml"]):
                args = [a for f in files for a in ("-f", os.path.join(deploy, f))]
                r = subprocess.run(tool + args + ["config", "-q"], capture_output=True, text=True,
                                   env={**os.environ, "STRIPE_WEBHOOK_SECRET": "whsec_x"})
                if r.returncode != 0:
                    problem(f"{' '.join(tool)} {' '.join(files)} config: {r.stderr.strip()}")
            break

    # --- Dockerfile ------------------------------------------------------------------------
    with open(os.path.join(deploy, "Dockerfile")) as f:
        dockerfile = f.read()
    stages = re.split(r"(?m)^FROM ", dockerfile)[1:]
    if len(stages) < 2 or not all(s.startswith("debian:12") for s in stages):
        problem("Dockerfile: not a multi-stage build on Debian 12")
    else:
        final = stages[-1]
        if re.search(r"install[^\n]*-dev\b", final):
            problem("Dockerfile: the final stage installs a -dev package")
        user = re.search(r"(?m)^USER (\S+)", final)
        if not user or user.group(1).split(":")[0] in ("0", "root"):
            problem("Dockerfile: the final stage does not run as a non-root user")
        for b in ("stripe-ingress", "stripe-worker", "stripe-sync"):
            if b not in final:
                problem(f"Dockerfile: {b} is not in the final image")
        # The final stage must install the package of every library the binaries link directly
        # (what debian:12-slim already has aside): read from the built binaries, not guessed.
        installed = set(re.findall(r"\b(lib[a-z0-9.+-]+|ca-certificates)\b", final.split("useradd")[0]))
        in_slim = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}
        # The sanitizer runtimes belong to the asan/tsan test builds, not to the image (which the
        # Dockerfile builds with the release preset).
        sanitizer = re.compile(r"^lib(asan|ubsan|tsan|lsan)\.so")
        if shutil.which("readelf") and shutil.which("dpkg"):
            for binary in (ingress_bin, worker_bin, cli_bin):
                dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout
                for lib in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic):
                    if sanitizer.match(lib):
                        continue
                    path = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
                    m = re.search(r"\s" + re.escape(lib) + r" \(libc6,x86-64\) => (\S+)", path)
                    if not m:
                        continue
                    owner = subprocess.run(["dpkg", "-S", os.path.realpath(m.group(1))], capture_output=True, text=True)
                    if owner.returncode != 0:
                        owner = subprocess.run(["dpkg", "-S", m.group(1)], capture_output=True, text=True)
                    package = owner.stdout.split(":")[0].strip()
                    if package and package not in installed and package not in in_slim:
                        problem(f"Dockerfile: {os.path.basename(binary)} needs {lib} (package {package}), "
                                "which the final stage does not install")

    # --- Kubernetes ------------------------------------------------------------------------
    docs = []
    k8s = os.path.join(deploy, "k8s")
    for name in sorted(os.listdir(k8s)):
        if name.endswith(".yaml"):
            with open(os.path.join(k8s, name)) as f:
                for d in yaml.safe_load_all(f):
                    if d:
                        docs.append((name, d))
    by_kind = {}
    for name, d in docs:
        for field in ("apiVersion", "kind", "metadata"):
            if field not in d:
                problem(f"k8s/{name}: a document without {field}")
        by_kind.setdefault(d.get("kind"), []).append(d)
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in by_kind.get("ConfigMap", [])}
    secrets = {d["metadata"]["name"]: d.get("stringData", {}) for d in by_kind.get("Secret", [])}
    compose_image = services.get("ingress", {}).get("image")
    workloads = []
    for d in by_kind.get("Deployment", []):
        workloads.append((d["metadata"]["name"], d["spec"]["template"]["spec"], d))
    for d in by_kind.get("CronJob", []):
        workloads.append((d["metadata"]["name"], d["spec"]["jobTemplate"]["spec"]["template"]["spec"], d))
    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    for wname, pod, d in workloads:
        sc = pod.get("securityContext", {})
        if not sc.get("runAsNonRoot"):
            problem(f"k8s {wname}: runAsNonRoot is not set")
        for c in pod["containers"]:
            if c.get("image") != compose_image:
                problem(f"k8s {wname}: image {c.get('image')} is not the one deploy/ builds ({compose_image})")
            command = c.get("command", [])
            if command[0] in binaries:
                allowed = binaries[command[0]]
            elif command[0] == "stripe-sync" and len(command) > 1 and command[1] in cli_commands:
                allowed = cli_commands[command[1]]
            else:
                problem(f"k8s {wname}: unknown command {command}")
                continue
            for ref in c.get("envFrom", []):
                cm = ref.get("configMapRef", {}).get("name")
                if cm not in configmaps:
                    problem(f"k8s {wname}: ConfigMap {cm} does not exist")
                    continue
                # A ConfigMap shared by several processes may carry settings only some read;
                # every key must be read by at least one of them.
                for key in configmaps[cm]:
                    if key not in ingress_settings | worker_settings | backfill_settings:
                        problem(f"k8s ConfigMap {cm}: {key} is read by no process")
            for e in c.get("env", []):
                if e["name"] not in allowed:
                    problem(f"k8s {wname}: {e['name']} is not a setting of {' '.join(command[:2])}")
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and (ref["name"] not in secrets or ref["key"] not in secrets[ref["name"]]):
                    problem(f"k8s {wname}: Secret {ref['name']} has no key {ref['key']}")
            for probe, route in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                if command[0] in binaries:
                    path = c.get(probe, {}).get("httpGet", {}).get("path")
                    if path != route:
                        problem(f"k8s {wname}: {probe} should GET {route}, has {path}")
            if command[0] in binaries and "requests" not in c.get("resources", {}):
                problem(f"k8s {wname}: no resource requests")
        if wname == "stripe-worker" and partitions and d["spec"].get("replicas", 1) > partitions:
            problem(f"k8s stripe-worker: {d['spec']['replicas']} replicas for {partitions} partitions")
    for h in by_kind.get("HorizontalPodAutoscaler", []):
        target = h["spec"]["scaleTargetRef"]["name"]
        if target not in deployments:
            problem(f"k8s HPA {h['metadata']['name']}: no Deployment {target}")
    for p in by_kind.get("PodDisruptionBudget", []):
        sel = p["spec"]["selector"]["matchLabels"]
        if not any(all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in sel.items())
                   for d in deployments.values()):
            problem(f"k8s PDB {p['metadata']['name']}: selects no Deployment's pods")
    for st in by_kind.get("StatefulSet", []):
        if st["metadata"]["name"] != "redis-cluster":
            continue
        args = " ".join(" ".join(c.get("args", [])) for c in st["spec"]["template"]["spec"]["containers"])
        for needed in ("--cluster-enabled yes", "--appendonly yes", "--maxmemory-policy noeviction"):
            if needed not in args:
                problem(f"k8s redis-cluster: runs without {needed}")
        if st["spec"].get("replicas", 1) < 6:
            problem("k8s redis-cluster: fewer than 6 nodes (3 masters with a replica each)")
        if not st["spec"]["template"]["spec"].get("securityContext", {}).get("runAsNonRoot"):
            problem("k8s redis-cluster: runAsNonRoot is not set")
    if "stripe-ingress" not in {h["spec"]["scaleTargetRef"]["name"] for h in by_kind.get("HorizontalPodAutoscaler", [])}:
        problem("k8s: stripe-ingress has no HorizontalPodAutoscaler")

    # --- systemd ---------------------------------------------------------------------------
    if shutil.which("systemd-analyze"):
        units = os.path.join(deploy, "systemd")
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for name in sorted(os.listdir(units)):
                with open(os.path.join(units, name)) as f:
                    text = f.read()
                for b, real in (("stripe-ingress", ingress_bin), ("stripe-worker", worker_bin), ("stripe-sync", cli_bin)):
                    text = text.replace("/usr/local/bin/" + b + "\n", real + "\n").replace("/usr/local/bin/" + b + " ", real + " ")
                if "/usr/local/bin/" in text:
                    problem(f"systemd/{name}: an ExecStart this check cannot map to a built binary")
                path = os.path.join(tmp, name)
                with open(path, "w") as f:
                    f.write(text)
                paths.append(path)
            r = subprocess.run(["systemd-analyze", "verify", *paths], capture_output=True, text=True)
            output = (r.stdout + r.stderr).strip()
            if r.returncode != 0 or output:
                problem("systemd-analyze verify: " + (output or f"exit {r.returncode}"))
    else:
        print("systemd-analyze not available: the units were not verified")

    for p in problems:
        print("deploy: " + p)
    print(f"deploy/: {len(problems)} problem(s); compose {len(services)} services, {len(docs)} Kubernetes objects")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
