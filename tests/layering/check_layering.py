#!/usr/bin/env python3
"""Fails when a source file includes against the module direction of ARCHITECTURE.md:

    core <- http, kafka, redis, stripe <- billing <- ingress, worker

(stripe may also use redis: the Stripe request budget lives there). The two executables never
include each other. Run by ctest as `layering`; usage: check_layering.py <source root>.
"""
import pathlib
import re
import sys

# What each module may include, besides itself.
ALLOWED = {
    "common/core": set(),
    "common/http": {"common/core"},
    "common/kafka": {"common/core"},
    "common/redis": {"common/core"},
    "common/stripe": {"common/core", "common/redis"},
    "common/billing": {"common/core", "common/kafka", "common/redis", "common/stripe"},
}
COMMON = set(ALLOWED)
ALLOWED["ingress"] = COMMON
ALLOWED["worker"] = COMMON

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module_of(path: str):
    """The module a project path belongs to: the longest key of ALLOWED that prefixes it."""
    best = None
    for m in ALLOWED:
        if path == m or path.startswith(m + "/"):
            if best is None or len(m) > len(best):
                best = m
    return best


def violations(root: pathlib.Path):
    out = []
    for top in ("common", "ingress", "worker"):
        for f in sorted((root / top).rglob("*")):
            if f.suffix not in (".cpp", ".hpp", ".in"):
                continue
            rel = f.relative_to(root).as_posix()
            mine = module_of(rel)
            if mine is None:
                out.append(f"{rel}: not in any module (a file directly under common/?)")
                continue
            for inc in INCLUDE.findall(f.read_text(encoding="utf-8")):
                theirs = module_of(inc)
                if theirs is None or theirs == mine:
                    continue
                if theirs not in ALLOWED[mine]:
                    out.append(f"{rel}: includes {inc} ({mine} may not depend on {theirs})")
    return out


def self_test():
    """The check itself must find a wrong include, or it proves nothing."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        root = pathlib.Path(d)
        files = {
            "common/core/a.cpp": '#include "common/redis/x.hpp"\n',      # core -> redis
            "common/redis/b.cpp": '#include "common/billing/y.hpp"\n',   # redis -> billing
            "ingress/c.cpp": '#include "worker/w.hpp"\n',                # executable -> executable
            "common/stray.cpp": "",                                       # outside any module
            "common/billing/ok.cpp": '#include "common/stripe/s.hpp"\n#include "common/billing/z.hpp"\n',
            "worker/ok.cpp": '#include "common/billing/z.hpp"\n',
        }
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        found = violations(root)
        assert len(found) == 4, found
        assert not any("ok.cpp" in v for v in found), found
    print("layering self-test: ok")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    found = violations(root)
    for v in found:
        print(v)
    print(f"layering: {len(found)} violation(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
