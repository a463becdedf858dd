"""Small helpers shared by bench/speed.py and bench/scale.py: clocks, percentiles, RSS, tables, machine."""
from __future__ import annotations

import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from datetime import datetime
from typing import Sequence


def clock() -> float:
    return time.perf_counter()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100), the 'inclusive' method."""
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * p / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Resident set size right now, in MiB (from /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def secs(seconds: float) -> str:
    return f"{seconds:.2f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "n/a"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def command_line() -> str:
    """The command that made this output, as one would type it from the repo root."""
    module = sys.modules["__main__"].__spec__
    name = module.name if module else sys.argv[0]
    args = " ".join(shlex.quote(a) for a in sys.argv[1:])
    return f"PYTHONPATH=. .venv/bin/python -m {name}" + (f" {args}" if args else "")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_total() -> str:
    try:
        out = subprocess.run(["free", "-h"], capture_output=True, text=True, check=True).stdout.splitlines()
        return out[1].split()[1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {os.cpu_count()} CPUs ({cpu_model()}), "
        f"{memory_total()} RAM; Python {platform.python_version()}; load average at start {load}"
    )


def header(title: str) -> str:
    return f"### {title}\n\n```\n{command_line()}\n```\n\n{machine()}\n"
