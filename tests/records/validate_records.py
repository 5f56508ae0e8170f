#!/usr/bin/env python3
"""Checks schemas/records/*.schema.json, then validates every Redis record and Kafka header set the
e2e tests recorded against them.

usage: validate_records.py SCHEMAS_DIR RECORDS_DIR

The e2e tests append {key, type, value} (a Redis key as it was when the test ended) or
{kafka: "kafka_headers" | "dlq_headers", value} to RECORDS_DIR/records-<pid>.jsonl
(tests/support/record_log.cpp). Every key must match a schema: a key of ours without one fails.
"""
import glob
import json
import os
import re
import sys

from jsonschema import Draft202012Validator, RefResolver

# The key layout of common/billing/keys.hpp (prefix "stripe:"), each to its schema.
TAG = r"\{[^}]+\}"
KEYS = [
    (rf"^stripe:{TAG}:customer$", "customer", "hash"),
    (rf"^stripe:{TAG}:subscription:[^:]+$", "subscription", "hash"),
    (rf"^stripe:{TAG}:payment_method:[^:]+$", "payment_method", "hash"),
    (rf"^stripe:{TAG}:invoice:[^:]+$", "invoice", "hash"),
    (rf"^stripe:{TAG}:checkout_session:[^:]+$", "checkout_session", "hash"),
    (rf"^stripe:{TAG}:entitlements$", "entitlements", "hash"),
    (rf"^stripe:{TAG}:(subscriptions|payment_methods|entitlements:active)$", "id_set", "set"),
    (rf"^stripe:{TAG}:invoices$", "invoice_history", "zset"),
    (rf"^stripe:{TAG}:events:[0-9]+$", "markers", "hash"),
    (rf"^stripe:{TAG}:audit$", "audit_entry", "stream"),
    (r"^stripe:\{price_[^}]+\}:price$", "price", "hash"),
    (r"^stripe:\{prod_[^}]+\}:product$", "product", "hash"),
    (r"^stripe:portal:\{portal\}:session:[^:]+$", "portal_session", "hash"),
    (r"^stripe:portal:\{portal\}:sessions$", "id_set", "set"),
    (r"^stripe:portal:\{portal\}:events:[0-9]+$", "markers", "hash"),
    (r"^stripe:portal:\{portal\}:audit$", "audit_entry", "stream"),
    (r"^stripe:portal:\{portal\}:configuration:[^:]+$", "portal_configuration", "hash"),
    (r"^stripe:ratelimit:\{stripe-api\}$", "stripe_budget", "hash"),
    (r"^stripe:\{fetch\}:(due|since)$", "fetch_schedule", "zset"),
    (r"^stripe:\{fetch\}:requests$", "fetch_requests", "hash"),
    (r"^stripe:\{fetch\}:(seq|attempts)$", "fetch_counts", "hash"),
    (r"^stripe:\{fetch\}:notification:[^:]+$", "fetch_notification", "string"),
    (r"^stripe:\{dlq\}:entries$", "dlq_entries", "hash"),
]


def self_test(schemas_dir):
    """The check itself: good records pass, and each kind of bad one fails."""
    import subprocess
    import tempfile
    good = {"key": "stripe:{cus_1}:customer", "type": "hash",
            "value": {"id": "cus_1", "livemode": "false", "deleted": "0", "_v": "17955000001", "_event": "evt_1",
                      "_synced_ms": "1795500000123"}}
    bad = [
        dict(good, value=dict(good["value"], nickname="x")),        # a field the table does not write
        dict(good, value=dict(good["value"], livemode="maybe")),    # a boolean that is not one
        dict(good, value={k: v for k, v in good["value"].items() if k != "_v"}),  # no stamp
        {"key": "stripe:{cus_1}:somethingelse", "type": "hash", "value": {}},       # a key with no schema
        {"key": "stripe:{cus_1}:events:20789", "type": "hash", "value": {"evt_1": "duplicate"}},  # not a marker code
        {"kafka": "dlq_headers", "value": {"stripe-event-id": "evt_1", "stripe-event-type": "x",
                                           "stripe-event-created": "1", "source": "webhook"}},  # no dlq-*
    ]
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "records-1.jsonl"), "w") as f:
            f.write(json.dumps(good) + "\n")
        ok = subprocess.run([sys.executable, __file__, schemas_dir, d], capture_output=True, text=True)
        if ok.returncode != 0:
            print("a good record failed:\n" + ok.stdout)
            return 1
        for b in bad:
            with open(os.path.join(d, "records-1.jsonl"), "w") as f:
                f.write(json.dumps(good) + "\n" + json.dumps(b) + "\n")
            r = subprocess.run([sys.executable, __file__, schemas_dir, d], capture_output=True, text=True)
            if r.returncode == 0 or "1 failed" not in r.stdout:
                print(f"a bad record passed: {json.dumps(b)}\n{r.stdout}")
                return 1
    print(f"self-test: 1 good record passed, {len(bad)} bad ones failed")
    return 0


def main():
    if sys.argv[1] == "--self-test":
        return self_test(sys.argv[2])
    schemas_dir, records_dir = sys.argv[1], sys.argv[2]
    store, by_name, problems = {}, {}, []
    for path in sorted(glob.glob(os.path.join(schemas_dir, "*.schema.json"))):
        schema = json.load(open(path))
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as e:  # noqa: BLE001 - report every bad schema
            problems.append(f"{path}: {e}")
        store[schema["$id"]] = schema
        by_name[os.path.basename(path)[: -len(".schema.json")]] = schema
    for _, name, _ in KEYS:
        if name not in by_name:
            problems.append(f"no schema file for {name}")
    for name in ("kafka_headers", "dlq_headers"):
        if name not in by_name:
            problems.append(f"no schema file for {name}")
    if problems:
        print("\n".join(problems))
        return 1

    def validator(name):
        schema = by_name[name]
        return Draft202012Validator(schema, resolver=RefResolver(schema["$id"], schema, store=store))

    validators = {name: validator(name) for name in by_name}
    checked, failures, seen = 0, [], set()
    files = sorted(glob.glob(os.path.join(records_dir, "records-*.jsonl")))
    if not files:
        print(f"{schemas_dir} is consistent; no records were left by this run")
        return 0
    for file in files:
        for line in open(file):
            r = json.loads(line)
            if "kafka" in r:
                name, values, where = r["kafka"], [r["value"]], r["kafka"]
            else:
                key = r["key"]
                match = next(((n, t) for p, n, t in KEYS if re.match(p, key)), None)
                if match is None:
                    failures.append(f"{key}: a key with no schema in {schemas_dir}")
                    continue
                name, want_type = match
                if r["type"] != want_type:
                    failures.append(f"{key}: a {r['type']}, the schema {name} is for a {want_type}")
                    continue
                values = r["value"] if want_type == "stream" else [r["value"]]
                where = key
            for value in values:
                errors = list(validators[name].iter_errors(value))
                if errors:
                    failures.append(f"{where} ({name}): {errors[0].message}")
                checked += 1
            seen.add(name)
    for f in failures[:30]:
        print(f)
    print(f"{checked} records validated against {schemas_dir} ({len(seen)} kinds: {', '.join(sorted(seen))}), "
          f"{len(failures)} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
