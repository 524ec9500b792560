#!/usr/bin/env python3
"""Runbook shim: `python scripts/sign_constitution.py <verb> [args]` runs
`aragora constitution <verb> [args]` (init, sign, verify).
See docs/nomic.md. The aragora binary is $ARAGORA_BIN, else `aragora` on PATH."""
import os
import shutil
import sys


def main() -> None:
    binary = os.environ.get("ARAGORA_BIN") or shutil.which("aragora")
    if not binary:
        sys.exit("sign_constitution.py: the aragora binary is not on PATH (or set ARAGORA_BIN)")
    os.execv(binary, [binary, "constitution", *sys.argv[1:]])


if __name__ == "__main__":
    main()
