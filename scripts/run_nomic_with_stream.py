#!/usr/bin/env python3
"""Runbook shim: `python scripts/run_nomic_with_stream.py run [args]` runs
`aragora nomic run [args]`, which always streams its progress.
See docs/nomic.md. The aragora binary is $ARAGORA_BIN, else `aragora` on PATH."""
import os
import shutil
import sys


def main() -> None:
    binary = os.environ.get("ARAGORA_BIN") or shutil.which("aragora")
    if not binary:
        sys.exit("run_nomic_with_stream.py: the aragora binary is not on PATH (or set ARAGORA_BIN)")
    os.execv(binary, [binary, "nomic", *sys.argv[1:]])


if __name__ == "__main__":
    main()
