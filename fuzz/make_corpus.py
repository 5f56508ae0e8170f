#!/usr/bin/python3
"""Seed corpora for the fuzz targets, from Stripe's data copied into tests/fixtures/.

usage: make_corpus.py <tests/fixtures> <out dir>
"""
import hashlib
import hmac
import json
import os
import sys

fixtures, out = sys.argv[1], sys.argv[2]
events = sorted(os.listdir(os.path.join(fixtures, "events")))
bodies = [open(os.path.join(fixtures, "events", e), "rb").read() for e in events]


def write(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def sign(body, secret, t):
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


for name, body in zip(events, bodies):
    write("fuzz_envelope", name, body)
    write("fuzz_event_extract", name, body)
    obj = json.loads(body)["data"]["object"]
    write("fuzz_event_extract", "object-" + name, json.dumps(obj).encode())
    write("fuzz_form_encoding", name, json.dumps(obj).encode())
    # The fuzz targets' clock is 1795500000 and their secret whsec_fuzz.
    header = sign(body, "whsec_fuzz", 1795500000)
    write("fuzz_signature", name, header.encode() + b"\n" + body)
    request = (b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Stripe-Signature: " + header.encode() + b"\r\nContent-Length: " + str(len(body)).encode() +
               b"\r\n\r\n" + body)
    write("fuzz_http_request", name, request)
for i, v in enumerate(json.load(open(os.path.join(fixtures, "signature-vectors.json")))):
    path = os.path.join(fixtures, v.get("payload_file", ""))
    body = open(path, "rb").read() if v.get("payload_file") and os.path.exists(path) else b"{}"
    write("fuzz_signature", f"vector-{i}", v.get("header", "").encode() + b"\n" + body)
write("fuzz_form_encoding", "nested", b"features[customer_update][allowed_updates][]=email&items[0][price]=p_1&x=%20")
for route in (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
              b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", b"DELETE /webhooks/stripe HTTP/1.1\r\nHost: x\r\n\r\n",
              b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"):
    write("fuzz_http_request", hashlib.sha1(route).hexdigest()[:12], route)
print(f"corpora in {out}")
