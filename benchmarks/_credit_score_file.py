"""Run ``finai.credit.score_file`` in a process of its own; print time and memory as JSON.

Used by ``benchmarks/credit.py`` so the peak resident set size belongs to the scoring
alone. Run as a module from the repository root (a script run from ``benchmarks/``
would let ``benchmarks/platform.py`` shadow the standard library)::

    python -m benchmarks._credit_score_file MODEL.pkl DATA.csv OUT.csv CHUNK_ROWS
"""

from __future__ import annotations

import hashlib
import json
import pickle
import resource
import sys
import time
from pathlib import Path


def rss_mib() -> float:
    """Current resident set size of this process in MiB (``VmRSS``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str]) -> int:
    model_path, data, out, chunk = Path(argv[0]), Path(argv[1]), Path(argv[2]), int(argv[3])
    from finai.credit import DEFAULT_POLICY, PolicyVersion, parse_policy, score_file
    from finai.store import utcnow

    model = pickle.loads(model_path.read_bytes())  # written by the parent run
    policy = PolicyVersion(
        version=1,
        policy=parse_policy(DEFAULT_POLICY),
        body=DEFAULT_POLICY,
        sha256=hashlib.sha256(DEFAULT_POLICY.encode()).hexdigest(),
        created_at=utcnow(),
        created_by="bench",
    )
    before = rss_mib()
    start = time.perf_counter()
    summary = score_file(
        model, policy, data, out, model_name="bench", model_version=1, chunk_rows=chunk
    )
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "rows": summary.rows,
                "outcomes": summary.outcomes,
                "seconds": seconds,
                "rss_before_mib": before,
                "peak_rss_mib": peak_kib / 1024,
                "out_bytes": out.stat().st_size,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
