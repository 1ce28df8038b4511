from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames

from finai.registry import fingerprint

FRAMES = data_frames(
    [
        column("a", dtype=float, elements=st.floats(allow_nan=True, width=32)),
        column("b", dtype=str, elements=st.text(max_size=5)),
    ]
)


@given(FRAMES)
@settings(max_examples=50, deadline=None)
def test_fingerprint_ignores_the_index_and_sees_every_value(frame: pd.DataFrame) -> None:
    assert fingerprint(frame) == fingerprint(frame.reset_index(drop=True))
    assert fingerprint(frame) == fingerprint(frame.copy())
    if len(frame):
        changed = frame.copy()
        changed.iloc[0, 1] = str(changed.iloc[0, 1]) + "!"
        assert fingerprint(changed) != fingerprint(frame)


def test_fingerprint_sees_schema_names_types_and_order() -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 1.5, 2.5]})
    assert fingerprint(frame) != fingerprint(frame.rename(columns={"x": "z"}))
    assert fingerprint(frame) != fingerprint(frame.astype({"x": np.float64}))
    assert fingerprint(frame) != fingerprint(frame[["y", "x"]])
    assert fingerprint(frame) != fingerprint(frame.iloc[::-1])
    assert fingerprint(frame.iloc[:0]) != fingerprint(frame.iloc[:0][["y", "x"]])
