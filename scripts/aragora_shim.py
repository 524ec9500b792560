"""What the runbook shims share (docs/nomic.md): each execs
`aragora <command> [args]` with its own arguments. The aragora binary is
$ARAGORA_BIN, else `aragora` on PATH."""
import os
import shutil
import sys


def exec_aragora(script: str, command: str) -> None:
    """Replaces this process by `aragora <command> <sys.argv[1:]>`; exits
    with a message naming script when there is no binary."""
    binary = os.environ.get("ARAGORA_BIN") or shutil.which("aragora")
    if not binary:
        sys.exit(f"{script}: the aragora binary is not on PATH (or set ARAGORA_BIN)")
    os.execv(binary, [binary, command, *sys.argv[1:]])
