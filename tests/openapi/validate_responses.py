#!/usr/bin/env python3
"""Checks schemas/openapi.yaml, then validates every JSON response the tests recorded against it.

usage: validate_responses.py OPENAPI_YAML RESPONSES_DIR

The C++ tests' HTTP client appends {method, path, status, body} to RESPONSES_DIR/responses-<pid>.jsonl
when STRIPE_SYNC_RESPONSE_LOG_DIR is set (ctest sets it). Validation uses jsonschema's Draft 2020-12
validator (OpenAPI 3.1 schemas are JSON Schema 2020-12), resolving $refs within the document.
"""
import glob
import json
import re
import sys

import yaml
from jsonschema import Draft202012Validator, RefResolver

METHODS = ("get", "post", "put", "patch", "delete")


def check_document(spec):
    problems = []
    if not str(spec.get("openapi", "")).startswith("3.1"):
        problems.append("openapi must be 3.1.x")
    for field in ("info", "paths", "components"):
        if field not in spec:
            problems.append(f"missing {field}")
    for name, schema in spec["components"]["schemas"].items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as e:  # noqa: BLE001 - report every bad schema
            problems.append(f"components.schemas.{name}: {e}")
    resolver = RefResolver.from_schema(spec)
    def walk(node, where):
        if isinstance(node, dict):
            if "$ref" in node:
                try:
                    resolver.resolve(node["$ref"])
                except Exception:  # noqa: BLE001
                    problems.append(f"{where}: unresolvable $ref {node['$ref']}")
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")
    walk(spec, "#")
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item and not item[method].get("responses"):
                problems.append(f"{method.upper()} {path}: no responses")
    return problems


def main():
    spec = yaml.safe_load(open(sys.argv[1]))
    problems = check_document(spec)
    if problems:
        print("\n".join(problems))
        return 1
    resolver = RefResolver.from_schema(spec)
    routes = []
    for template, item in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
        routes.append((pattern, item))
    error_schema = {"$ref": "#/components/schemas/Error"}

    def response_schema(op, status):
        response = op["responses"].get(str(status)) or op["responses"].get("default")
        if response is None:
            return None
        if "$ref" in response:
            response = resolver.resolve(response["$ref"])[1]
        return response.get("content", {}).get("application/json", {}).get("schema")

    checked, failures = 0, []
    files = sorted(glob.glob(f"{sys.argv[2]}/responses-*.jsonl"))
    if not files:
        # A filtered run (ctest -R ...) with no HTTP test in it: the document was still checked.
        print(f"{sys.argv[1]} is consistent; no responses were recorded by this run")
        return 0
    for file in files:
        for line in open(file):
            r = json.loads(line)
            path, method, status = r["path"], r["method"].lower(), r["status"]
            if path == "/metrics":
                continue  # Prometheus text, not JSON
            if status == 304:
                # Not Modified has no body by definition; it must be documented and empty.
                op = next((item[method] for pattern, item in routes if pattern.match(path) and method in item), None)
                if op is None or "304" not in op["responses"] or r["body"]:
                    failures.append(f"{method.upper()} {path} 304: undocumented, or with a body")
                checked += 1
                continue
            try:
                body = json.loads(r["body"])
            except ValueError:
                failures.append(f"{method.upper()} {path} {status}: body is not JSON: {r['body'][:80]!r}")
                continue
            op = next((item[method] for pattern, item in routes if pattern.match(path) and method in item), None)
            if op is None:
                # Not a documented operation: the answer must be the error shape (404 / 405 / 400).
                schema = error_schema
                if status not in (400, 404, 405):
                    failures.append(f"{method.upper()} {path} {status}: undocumented route answered {status}")
            else:
                schema = response_schema(op, status)
                if schema is None:
                    failures.append(f"{method.upper()} {path} {status}: status not documented")
                    continue
            errors = list(Draft202012Validator(schema, resolver=resolver).iter_errors(body))
            if errors:
                failures.append(f"{method.upper()} {path} {status}: {errors[0].message}")
            checked += 1
    for f in failures[:30]:
        print(f)
    print(f"{checked} responses validated against {sys.argv[1]}, {len(failures)} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
