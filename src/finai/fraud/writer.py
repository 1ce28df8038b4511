"""Store scores off the request path: batched, one transaction and one audit entry each.

Scoring answers within milliseconds; a database commit (an fsync) and an audit append
per transaction would take most of that budget. :class:`ScoreWriter` queues each result
and a background thread stores what has arrived every ``delay`` (or ``max_batch``
results, whichever comes first) with :func:`finai.fraud.records.save_scores`: one
database transaction, one audit entry for the batch.

The trade-off, stated plainly: a score is in the database within ``delay`` of its
answer, not before; if the process dies in between, the answers of that window are
missing from the database (the online state and the remembered answers are in the state
store, and a retried transaction stores its first answer). A failed write is retried
every second and its results are kept; when ``max_pending`` results wait, ``submit``
blocks, slowing answers rather than dropping records. ``delay=0`` stores each result in
the caller's thread before ``submit`` returns.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from finai.fraud.records import save_scores
from finai.fraud.scoring import ScoreResult, Transaction

__all__ = ["ScoreWriter"]

logger = logging.getLogger(__name__)

_Item = tuple[Transaction, ScoreResult, str, str]


class ScoreWriter:
    """Queues scores and stores them in batches from a background thread.

    Parameters
    ----------
    sessions
        Session factory of the platform's database.
    audit_key
        Key of the audit chain.
    delay
        Longest wait before a queued score is stored; ``timedelta(0)`` stores at once.
    max_batch
        Most scores per database transaction.
    max_pending
        Most scores waiting; beyond it :meth:`submit` blocks.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        audit_key: bytes,
        *,
        delay: timedelta = timedelta(milliseconds=50),
        max_batch: int = 500,
        max_pending: int = 100_000,
    ) -> None:
        self.sessions = sessions
        self.audit_key = audit_key
        self.delay = delay.total_seconds()
        self.max_batch = max_batch
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=max_pending)
        self._idle = threading.Condition()
        self._busy = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.delay > 0:
            self._thread = threading.Thread(
                target=self._run, name="fraud-score-writer", daemon=True
            )
            self._thread.start()

    def submit(self, tx: Transaction, result: ScoreResult, *, actor: str, source: str) -> None:
        """Queue one score (store it now when the writer has no delay)."""
        if self._thread is None:
            self._write([(tx, result, actor, source)])
            return
        with self._idle:
            self._busy += 1
        self._queue.put((tx, result, actor, source))

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every score submitted so far is stored; ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        """Store what is queued and stop the thread."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not (self._stop.is_set() and self._queue.empty()):
            try:
                first = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            batch = [first]
            deadline = time.monotonic() + self.delay
            while len(batch) < self.max_batch:
                left = deadline - time.monotonic()
                try:
                    batch.append(
                        self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
            while True:
                try:
                    self._write(batch)
                    break
                except Exception:
                    logger.exception("storing %d fraud scores failed; retrying in 1 s", len(batch))
                    time.sleep(1.0)
            with self._idle:
                self._busy -= len(batch)
                self._idle.notify_all()

    def _write(self, batch: list[_Item]) -> None:
        groups: defaultdict[tuple[str, str], list[tuple[Transaction, ScoreResult]]] = defaultdict(
            list
        )
        for tx, result, actor, source in batch:
            groups[(actor, source)].append((tx, result))
        with self.sessions() as session:
            for (actor, source), results in groups.items():
                save_scores(session, self.audit_key, results, actor=actor, source=source)
            session.commit()
