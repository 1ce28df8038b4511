"""Run the capability benchmarks and (re)write their sections of ``benchmarks/RESULTS.md``.

Every ``benchmarks/<capability>.py`` (not starting with ``_``) is a capability script:
its ``main()`` takes no arguments, prints progress to stderr and returns the markdown
body of its section. This runner heads each section with the date and the machine,
and replaces only that section, between ``<!-- bench:<name>:start/end -->`` markers,
so sections of scripts not run this time are kept.

Usage::

    .venv/bin/python benchmarks/run.py              # every capability
    .venv/bin/python benchmarks/run.py platform     # only these
    .venv/bin/python benchmarks/run.py --list
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# Run as a script, Python puts benchmarks/ first on sys.path, where platform.py would
# shadow the standard library's ``platform``. Import the scripts as ``benchmarks.<name>``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

RESULTS = BENCH_DIR / "RESULTS.md"
HEADER = """# FinAI benchmarks

Measured by `make bench` (`.venv/bin/python benchmarks/run.py`). Each section belongs
to one script, `benchmarks/<capability>.py`, and is rewritten only when that script
runs (`benchmarks/run.py <capability>`); the others are kept as they were. Figures are
comparisons made side by side in one run on the machine named in the section, so
quote the ratios, not the lone times.
"""
SECTION = re.compile(
    r"<!-- bench:(?P<name>[\w-]+):start -->\n.*?<!-- bench:(?P=name):end -->\n?", re.DOTALL
)


def capabilities() -> list[str]:
    """Return the names of the capability scripts, sorted."""
    return sorted(
        path.stem
        for path in BENCH_DIR.glob("*.py")
        if not path.stem.startswith("_") and path.stem != "run"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def _os_name() -> str:
    pretty = ""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    kernel = f"{platform.system()} {platform.release()}"
    return f"{pretty} ({kernel})" if pretty else kernel


def machine_info() -> dict[str, str]:
    """Describe the machine: CPU model, cores, RAM, Python and OS."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    logical = os.cpu_count() or 0
    cores = f"{usable} usable of {logical} logical" if usable and usable != logical else logical
    ram = _ram_gib()
    return {
        "CPU": f"{_cpu_model()} ({platform.machine()})",
        "Cores": str(cores),
        "RAM": f"{ram:.1f} GiB" if ram is not None else "unknown",
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "OS": _os_name(),
    }


def load_average() -> str:
    """Return the 1-minute load average (other work on the machine skews the figures)."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "?"


def render_section(
    name: str, title: str, body: str, started: datetime, seconds: float, machine: dict[str, str]
) -> str:
    """Wrap a script's markdown in its markers, headed with date and machine."""
    about = " · ".join(f"**{k}** {v}" for k, v in machine.items())
    heading = f"## {name}: {title}" if title else f"## {name}"
    return (
        f"<!-- bench:{name}:start -->\n"
        f"{heading}\n\n"
        f"Run {started:%Y-%m-%d %H:%M} UTC by `benchmarks/run.py {name}` in {seconds:.0f} s.  \n"
        f"{about}\n\n"
        f"{body.strip()}\n"
        f"<!-- bench:{name}:end -->\n"
    )


def merge(existing: str, sections: dict[str, str]) -> str:
    """Replace the named sections of ``existing``, keep the others, append new ones."""
    kept = {m["name"]: m.group(0).rstrip("\n") + "\n" for m in SECTION.finditer(existing)}
    kept.update(sections)
    order = sorted(kept)
    return HEADER + "".join(f"\n{kept[name]}" for name in order)


def run_one(name: str) -> str:
    """Run ``benchmarks/<name>.py``'s ``main()`` and return its rendered section."""
    module = importlib.import_module(f"benchmarks.{name}")
    doc = (module.__doc__ or "").strip().splitlines()
    title = doc[0].split(":", 1)[-1].strip().rstrip(".") if doc else ""
    machine = machine_info()
    load_start = load_average()
    started = datetime.now(UTC)
    clock = time.perf_counter()
    body = module.main()
    seconds = time.perf_counter() - clock
    machine["Load (1-min average) at start → end"] = f"{load_start} → {load_average()}"
    return render_section(name, title, body, started, seconds, machine)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen capabilities (default: all) and rewrite RESULTS.md."""
    known = capabilities()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="capability", help=f"one of {known}")
    parser.add_argument("--list", action="store_true", help="list the capabilities and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(known))
        return 0
    unknown = sorted(set(args.names) - set(known))
    if unknown:
        parser.error(f"unknown capability {', '.join(unknown)}; known: {', '.join(known)}")
    failed: list[str] = []
    for name in args.names or known:
        print(f"== benchmarks/{name}.py", file=sys.stderr, flush=True)
        try:
            section = run_one(name)
        except Exception:
            traceback.print_exc()
            print(f"== {name} failed; its section in RESULTS.md is kept", file=sys.stderr)
            failed.append(name)
            continue
        existing = RESULTS.read_text() if RESULTS.exists() else ""
        RESULTS.write_text(merge(existing, {name: section}))
        print(f"== {name}: wrote its section of {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
