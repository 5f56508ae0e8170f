#!/usr/bin/env python3
"""Checks deploy/grafana/stripe-sync.json:

- every panel's expression is valid PromQL: the expressions become recording rules of a rules
  file that `promtool check rules` reads ($__rate_interval, Grafana's, becomes 5m);
- every metric the panels name is in README.md's metric table;
- with --scrape FILE (repeatable, /metrics text of the running processes): every metric the panels
  name is exported by one of them.

    check_dashboard.py ROOT [--scrape FILE]...
Exits 0 when all holds, 1 with one line per problem otherwise.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")
FUNCTIONS = {"sum", "rate", "max", "min", "histogram_quantile", "by", "without", "delta", "increase", "avg"}


def metric_names(expr):
    names = set()
    for token in re.findall(r"\b([a-z_][a-z0-9_]*)\b(?=\s*[\[{(]|\s*\)|\s*$|\s*[<>=!+*/-])", expr):
        if token.startswith("stripe_") or token == "up":
            names.add(token)
    return names


def base_name(name, readme_names):
    for part in HISTOGRAM_PARTS:
        if name.endswith(part) and name[: -len(part)] in readme_names:
            return name[: -len(part)]
    return name


def main():
    root = sys.argv[1]
    scrapes = [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--scrape"]
    dashboard = json.load(open(os.path.join(root, "deploy/grafana/stripe-sync.json")))
    readme = open(os.path.join(root, "README.md")).read()
    readme_names = set(re.findall(r"^\| `([a-z_][a-z0-9_]*)", readme, re.M))
    problems, rules, names = [], [], set()
    for panel in dashboard["panels"]:
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"panel '{panel['title']}' has no expression")
        for t in targets:
            expr = t["expr"].replace("$__rate_interval", "5m")
            rules.append({"record": f"stripe_sync:dashboard_panel_{panel['id']}_{t['refId'].lower()}", "expr": expr})
            names |= metric_names(expr)
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)  # JSON is YAML
        path = f.name
    check = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    os.unlink(path)
    if check.returncode != 0:
        problems.append("promtool check rules: " + (check.stdout + check.stderr).strip())
    exported = set()
    for s in scrapes:
        for line in open(s):
            m = re.match(r"([a-z_][a-z0-9_]*)[{ ]", line)
            if m:
                exported.add(m.group(1))
    for name in sorted(names):
        base = base_name(name, readme_names)
        if base not in readme_names:
            problems.append(f"{name}: not in README.md's metric table")
        if scrapes and name not in exported and base not in exported:
            problems.append(f"{name}: no running process exports it")
    for p in problems:
        print(p)
    print(f"{len(dashboard['panels'])} panels, {len(rules)} expressions, {len(names)} metrics checked"
          + (f" against {len(scrapes)} scrapes" if scrapes else "") + f": {len(problems)} problems")
    return 1 if problems or not names else 0


if __name__ == "__main__":
    sys.exit(main())
