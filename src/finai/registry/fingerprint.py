"""Fingerprints of training data: the same table and schema always give the same hash."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def fingerprint(frame: pd.DataFrame) -> str:
    """Return the sha256 of a table's schema and contents.

    The schema (column names and dtypes, in order) and every value take part; the
    index does not. Row order matters: a shuffled table is different training data
    for an order-sensitive split.
    """
    schema = json.dumps([[str(name), str(dtype)] for name, dtype in frame.dtypes.items()])
    digest = hashlib.sha256(schema.encode())
    if len(frame.columns):
        import pandas as pd  # deferred: keeps the CLI's start-up fast

        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        digest.update(rows.tobytes())
    digest.update(str(frame.shape).encode())
    return digest.hexdigest()
