#!/usr/bin/env python3
"""Runbook shim: `python scripts/nomic_loop.py <verb> [args]` runs
`aragora nomic <verb> [args]` (run, preflight, list-backups, rollback, status).
See docs/nomic.md. The aragora binary is $ARAGORA_BIN, else `aragora` on PATH."""
import sys

sys.dont_write_bytecode = True  # no __pycache__ next to the runbook's scripts

from aragora_shim import exec_aragora  # noqa: E402


if __name__ == "__main__":
    exec_aragora("nomic_loop.py", "nomic")
