"""`end_child`: ending a helper process that reads jobs on its stdin and ends with it (the link
helpers of `pipfence.installer`, the page workers of `pipfence.index`)."""

from __future__ import annotations

import contextlib
import subprocess

__all__ = ["end_child"]


def end_child(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Close ``process``'s input and wait up to ``timeout`` seconds for it to end (it finishes
    the job under way); kill it if it does not. Its output pipe is closed either way."""
    if process.stdin is not None:
        with contextlib.suppress(OSError, ValueError):
            process.stdin.close()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        with contextlib.suppress(OSError, ValueError):
            process.stdout.close()
