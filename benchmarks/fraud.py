"""Fraud: FinAI's models against standard classifiers on the Handbook-scale simulator.

1. Offline detection (:func:`bench_offline`): ``finai.fraud.simulate`` at the scale of
   the Fraud Detection Handbook (Le Borgne et al.): 5,000 cards, 10,000 terminals,
   183 days from 2026-04-01, seed 0 (about 1.8 million transactions, 0.85% fraud).
   One fixed time split, the Handbook's protocol of fit / delay / test with a 7-day
   label delay, laid out from the last day of the simulation::

       fit         2026-07-25 .. 2026-09-02   40 days (day 115 on, where the Handbook's
                                              baseline training week starts: 2018-07-25)
       gap         2026-09-03 .. 2026-09-09    7 days (label delay; no model uses them)
       validation  2026-09-10 .. 2026-09-16    7 days (FinAI only: early stopping and
                                              thresholds, never fitted on)
       delay       2026-09-17 .. 2026-09-23    7 days (labels not yet known at go-live)
       test        2026-09-24 .. 2026-09-30    7 days (every model scored here)

   FinAI's rows are ``finai.fraud.train(frame, train_start=2026-07-25,
   train_end=2026-09-16, delay_days=7, validation_days=7, algorithm=...)``, whose fit
   part is exactly the fit days above. The peers get the same feature matrix
   (``offline_features(frame, FeatureConfig(delay_days=7))``: every transaction's
   features from the history before it), are fitted on the same fit rows with library
   defaults and scored on the same test rows; every model is measured by the same
   functions (scikit-learn's ``roc_auc_score`` and ``average_precision_score``,
   ``finai.fraud.card_precision_top_k`` with k = 100). FinAI's figures are checked
   against ``finai.fraud.evaluate_model`` on the test week (the product's own path).

2. Online (:func:`bench_http`): ``POST /v1/fraud/score`` through one real uvicorn
   worker with the state in Redis and every score stored and audited in SQLite, set up
   by ``finai init`` (the demo fraud model); the transactions are a fresh simulation
   sent in time order, one per request, against ``GET /healthz`` of the same process
   as the floor.

3. Stream (:func:`bench_stream`): one ``finai.fraud.Consumer`` pinned to one core
   scoring a fresh simulation from a Redis Stream, with the state in Redis and, for
   comparison, in memory; throughput per wall second and per CPU second, and where
   the time goes.

Run it through ``benchmarks/run.py fraud``.
"""

from __future__ import annotations

import gc
import os
import secrets
import sqlite3
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pandas as pd
import redis
from lightgbm import LGBMClassifier
from pydantic import SecretStr
from sklearn.ensemble import IsolationForest, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits
from xgboost import XGBClassifier

from benchmarks._common import (
    finai_cli,
    finai_env,
    log,
    md_table,
    num,
    percentile,
    ratio,
    scratch_dir,
    uvicorn_server,
)
from finai.config import Settings
from finai.context import Platform
from finai.fraud import (
    Consumer,
    FeatureConfig,
    MemoryStore,
    RedisStore,
    Scorers,
    StateStore,
    StreamConfig,
    TrainResult,
    Window,
    card_precision_top_k,
    evaluate_model,
    offline_features,
    publish,
    register_model,
    simulate,
    state_redis,
    train,
)
from finai.fraud.models import build
from finai.fraud.state import StoredEvent
from finai.fraud.transactions import CARD, LABEL, TIME
from finai.store import upgrade

SEED = 42

# 1. Offline detection
SIM_CUSTOMERS = 5_000
SIM_TERMINALS = 10_000
SIM_DAYS = 183
SIM_SEED = 0
SIM_START = date(2026, 4, 1)
DELAY_DAYS = 7
VALIDATION_DAYS = 7
TEST_DAYS = 7
TRAIN_START = date(2026, 7, 25)  # day 115, as the Handbook's 2018-07-25 of 2018-04-01 on
TRAIN_END = date(2026, 9, 16)
TEST_START = TRAIN_END + timedelta(days=DELAY_DAYS + 1)
TEST_END = TEST_START + timedelta(days=TEST_DAYS - 1)
TOP_K = 100
WARMUP_ROWS = 5_000  # every model is fitted once, untimed, on this many fit rows first
RF_MAX_ROWS: int | None = None  # None: the random forest is fitted on every fit row
AGREE = 1e-9  # FinAI's metrics here and from evaluate_model must agree this closely

FINAI_ALGORITHMS = ("lightgbm", "logistic", "isolation_forest")
FINAI_LABELS = {
    "lightgbm": "FinAI LightGBM",
    "logistic": "FinAI logistic",
    "isolation_forest": "FinAI isolation forest",
}
REFERENCE = "FinAI LightGBM"

Floats = npt.NDArray[np.float64]


def usable_cores() -> int:
    """Return the cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# ---------------------------------------------------------------------------
# 1. Offline detection
# ---------------------------------------------------------------------------


@dataclass
class Row:
    """One model's results on the test week."""

    label: str
    threads: str
    fit_s: float
    roc_auc: float
    average_precision: float
    card_precision: float
    note: str = ""


@dataclass
class TestWeek:
    """The test rows and what the metrics need of them."""

    features: pd.DataFrame
    X: Floats
    y: npt.NDArray[np.int8]
    cards: npt.NDArray[Any]
    timestamps: pd.Series


def measure(scores: Floats, test: TestWeek) -> tuple[float, float, float]:
    """ROC AUC, average precision and card precision@k of scores of the test rows."""
    return (
        float(roc_auc_score(test.y, scores)),
        float(average_precision_score(test.y, scores)),
        card_precision_top_k(scores, test.y, cards=test.cards, timestamps=test.timestamps, k=TOP_K),
    )


@dataclass
class Peer:
    """A standard classifier with its library defaults."""

    label: str
    threads: str
    make: Callable[[], Any]
    supervised: bool = True
    max_rows: int | None = None

    def score(self, estimator: Any, X: Floats) -> Floats:
        """Higher = more suspect: P(fraud), or the isolation forest's anomaly score."""
        if self.supervised:
            return np.asarray(estimator.predict_proba(X)[:, 1], dtype=np.float64)
        return -np.asarray(estimator.score_samples(X), dtype=np.float64)


def peers(cores: int) -> list[Peer]:
    """The baselines: library defaults, seeded; only thread counts and logging set."""
    all_cores = f"all ({cores})"
    return [
        Peer(
            "scikit-learn `StandardScaler` + `LogisticRegression`",
            "1 (lbfgs)",
            lambda: Pipeline(
                [("scale", StandardScaler()), ("lr", LogisticRegression(random_state=SEED))]
            ),
        ),
        Peer(
            "scikit-learn `RandomForestClassifier`",
            f"`n_jobs=-1`: {all_cores}",
            lambda: RandomForestClassifier(n_jobs=-1, random_state=SEED),
            max_rows=RF_MAX_ROWS,
        ),
        Peer(
            "XGBoost `XGBClassifier`",
            f"default: {all_cores}",
            lambda: XGBClassifier(random_state=SEED),
        ),
        Peer(
            "LightGBM `LGBMClassifier`",
            f"default: {all_cores}",
            lambda: LGBMClassifier(random_state=SEED, verbose=-1),
        ),
        Peer(
            "scikit-learn `IsolationForest` (no labels)",
            "1 (default)",
            lambda: IsolationForest(random_state=SEED),
            supervised=False,
        ),
    ]


def fit_peer(
    peer: Peer, X_fit: Floats, y_fit: npt.NDArray[np.int8], test: TestWeek
) -> tuple[Row, int]:
    """Fit a peer on the fit rows (a warm-up first) and score it on the test week."""
    rows = np.arange(len(X_fit))
    if peer.max_rows is not None and peer.max_rows < len(rows):
        sample = np.random.default_rng(SEED).choice(rows, peer.max_rows, replace=False)
        rows = np.sort(sample)
    X, y = X_fit[rows], y_fit[rows]
    warm = slice(None, None, max(1, len(X) // WARMUP_ROWS))
    warm_model = peer.make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm_model.fit(X[warm], y[warm] if peer.supervised else None)
    estimator = peer.make()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X, y if peer.supervised else None)
        seconds = time.perf_counter() - start
    scores = peer.score(estimator, test.X)
    auc, ap, cp = measure(scores, test)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    note = "" if converged else "did not converge"
    return Row(peer.label, peer.threads, seconds, auc, ap, cp, note), len(rows)


def fit_finai(algorithm: str, frame: pd.DataFrame, test: TestWeek) -> tuple[Row, TrainResult]:
    """``finai.fraud.train`` on the train window, scored on the test week."""
    warm = frame.loc[Window(TRAIN_START, TRAIN_START).contains(frame[TIME])]
    warm_X = offline_features(warm, FeatureConfig(delay_days=DELAY_DAYS)).to_numpy()
    warm_y = warm[LABEL].to_numpy(dtype=np.int8)
    warm_X, warm_y = warm_X[: WARMUP_ROWS + 1], warm_y[: WARMUP_ROWS + 1]
    build(algorithm, SEED).fit(warm_X, warm_y)  # the isolation forest ignores the labels
    start = time.perf_counter()
    result = train(
        frame,
        train_start=TRAIN_START,
        train_end=TRAIN_END,
        delay_days=DELAY_DAYS,
        validation_days=VALIDATION_DAYS,
        algorithm=algorithm,
        seed=SEED,
    )
    wall = time.perf_counter() - start
    scores = result.model.score(test.features)
    auc, ap, cp = measure(scores, test)
    checked = evaluate_model(result.model, frame, start=TEST_START, end=TEST_END, k=TOP_K)
    for name, ours, theirs in (
        ("ROC AUC", auc, checked.roc_auc),
        ("average precision", ap, checked.average_precision),
        ("card precision", cp, checked.card_precision_top_k),
    ):
        if theirs is None or abs(ours - theirs) > AGREE:
            raise AssertionError(f"{algorithm}: {name} {ours} here, {theirs} by evaluate_model")
    note = f"`train()` {wall:.0f} s in all"
    if result.best_iteration is not None and algorithm == "lightgbm":
        note += f"; {result.best_iteration} rounds kept"
    threads = "1 (lbfgs)" if algorithm == "logistic" else "1"
    return Row(FINAI_LABELS[algorithm], threads, result.fit_seconds, auc, ap, cp, note), result


def bench_offline() -> str:
    """FinAI's fraud models against standard classifiers on one fixed time split."""
    heading = (
        "### 1. Offline detection: Handbook-scale simulator, one time split,"
        " same features for every model\n\n"
    )
    log(f"offline: simulating {SIM_CUSTOMERS:,} cards, {SIM_TERMINALS:,} terminals")
    started = time.perf_counter()
    frame = simulate(
        customers=SIM_CUSTOMERS,
        terminals=SIM_TERMINALS,
        days=SIM_DAYS,
        seed=SIM_SEED,
        start=SIM_START,
    )
    simulate_s = time.perf_counter() - started
    config = FeatureConfig(delay_days=DELAY_DAYS)
    log(f"offline: features of {len(frame):,} transactions")
    started = time.perf_counter()
    features = offline_features(frame, config)
    features_s = time.perf_counter() - started
    stamps = frame[TIME]
    test_rows = Window(TEST_START, TEST_END).contains(stamps)
    labels = frame[LABEL].to_numpy(dtype=np.int8)
    test_features = features.loc[test_rows]
    test = TestWeek(
        features=test_features,
        X=test_features.to_numpy(dtype=np.float64),
        y=labels[test_rows],
        cards=frame.loc[test_rows, CARD].to_numpy(dtype=object),
        timestamps=stamps.loc[test_rows],
    )

    rows: list[Row] = []
    results: dict[str, TrainResult] = {}
    for algorithm in FINAI_ALGORITHMS:
        log(f"offline: finai.fraud.train({algorithm})")
        row, result = fit_finai(algorithm, frame, test)
        rows.append(row)
        results[algorithm] = result
    split = results["lightgbm"].split
    assert str(split.fit) == "2026-07-25..2026-09-02", split.fit
    assert str(split.validation) == "2026-09-10..2026-09-16", split.validation
    fit_rows = split.fit.contains(stamps)
    assert int(fit_rows.sum()) == results["lightgbm"].fit_rows
    X_fit = features.loc[fit_rows].to_numpy(dtype=np.float64)
    y_fit = labels[fit_rows]
    validation_rows = split.validation.contains(stamps)

    fitted_on: dict[str, int] = {}
    for peer in peers(usable_cores()):
        log(f"offline: {peer.label} on {len(X_fit):,} rows")
        row, n = fit_peer(peer, X_fit, y_fit, test)
        rows.append(row)
        fitted_on[peer.label] = n

    reference = next(r for r in rows if r.label == REFERENCE)
    table = [
        [
            r.label,
            r.threads,
            f"{r.roc_auc:.4f}",
            f"{r.average_precision:.4f}",
            f"{r.card_precision:.3f}",
            f"{r.fit_s:.1f}",
            ratio(r.fit_s / reference.fit_s),
            r.note,
        ]
        for r in rows
    ]
    best_peer = max(
        (r for r in rows if not r.label.startswith("FinAI")), key=lambda r: r.average_precision
    )
    summary = (
        f"FinAI LightGBM: average precision {reference.average_precision:.4f}, card"
        f" precision@{TOP_K} {reference.card_precision:.3f}, ROC AUC {reference.roc_auc:.4f}."
        f" Best peer by average precision: {best_peer.label},"
        f" {best_peer.average_precision:.4f} (card precision@{TOP_K}"
        f" {best_peer.card_precision:.3f}), fitted in {ratio(best_peer.fit_s / reference.fit_s)}"
        " FinAI LightGBM's time."
    )
    n_fraud = int(test.y.sum())
    fraud_cards = int(pd.Series(test.cards[test.y == 1]).nunique())
    rf_rows = fitted_on["scikit-learn `RandomForestClassifier`"]
    rf_text = (
        "on every fit row"
        if rf_rows == len(X_fit)
        else f"on a random {num(rf_rows)} of the fit rows (seed {SEED}), a deviation"
    )
    cores = usable_cores()
    notes = (
        f"`simulate(customers={SIM_CUSTOMERS:,}, terminals={SIM_TERMINALS:,},"
        f" days={SIM_DAYS}, seed={SIM_SEED}, start={SIM_START})`: {num(len(frame))}"
        f" transactions, {labels.mean():.2%} fraud ({simulate_s:.0f} s). Features:"
        f" `offline_features(frame, FeatureConfig(delay_days={DELAY_DAYS}))`, the"
        f" {features.shape[1]} Handbook features (card counts and mean amounts over 1, 7"
        " and 30 days, terminal counts and fraud rates over 1, 7 and 30 days with labels"
        f" at least {DELAY_DAYS} days old, amount, time of day, weekend, night), computed"
        f" once over the whole history ({features_s:.0f} s); each row's features use only"
        " the transactions before it, so they are the same as those `train` computes"
        " over the history up to the end of its window."
        f" **Split** (the Handbook's fit / delay / test with a {DELAY_DAYS}-day label"
        f" delay): fit {split.fit} ({num(len(X_fit))} transactions,"
        f" {int(y_fit.sum()):,} fraud; every model learns from these rows only), gap"
        f" {DELAY_DAYS} days, validation {split.validation}"
        f" ({num(int(validation_rows.sum()))} transactions; FinAI only), delay"
        f" {DELAY_DAYS} days, **test {TEST_START}..{TEST_END}** ({num(len(test.y))}"
        f" transactions, {n_fraud:,} fraud on {fraud_cards:,} cards). The fit starts on"
        " day 115 of the simulation, where the Handbook's baseline training week starts"
        " (2018-07-25 of its 2018-04-01 on), so the 30-day card and 37-day terminal"
        f" windows are full; it is {split.fit.days} days rather than the Handbook's 7 so"
        f" that the models have {len(X_fit) / 1000:,.0f}k rows to learn from."
        f" **FinAI** rows: `finai.fraud.train(frame, train_start={TRAIN_START},"
        f" train_end={TRAIN_END}, delay_days={DELAY_DAYS},"
        f" validation_days={VALIDATION_DAYS}, algorithm=..., seed={SEED})` as shipped"
        " (LightGBM: up to 500 rounds at learning rate 0.05, fraud rows weighted by the"
        " square root of genuine / fraud, early stopping on the validation week's"
        " average precision, 1 thread; logistic: standardised features, L2, C = 1,"
        " max_iter 1000; isolation forest: 200 trees, no labels). The validation week"
        " gives FinAI's LightGBM its number of rounds (and every FinAI model its alert"
        " thresholds), information the peers do not get; none of them is fitted on it."
        " **Peers**: library defaults, seeded with"
        f" {SEED}, fitted on the same fit rows as float64 arrays: `LogisticRegression()`"
        " (lbfgs, C = 1, max_iter 100) after `StandardScaler()`;"
        f" `RandomForestClassifier(n_jobs=-1)` (100 fully grown trees) {rf_text};"
        " `XGBClassifier()` (100 rounds, depth 6, learning rate 0.3, hist);"
        " `LGBMClassifier(verbose=-1)` (100 rounds, 31 leaves, learning rate 0.1);"
        " `IsolationForest()` (100 trees of 256 rows, fitted without labels, score ="
        " minus `score_samples`). None of them weights the fraud rows or stops early."
        f" **Scores**: every model on the same {num(len(test.y))} test rows; ROC AUC"
        " and average precision by scikit-learn, card precision by"
        f" `finai.fraud.card_precision_top_k(k={TOP_K})` (each day the {TOP_K} cards"
        " with the highest score, the share of them with a fraud that day, cards found"
        " taken out of the following days; mean over the 7 days). A random ranking's"
        f" average precision is the fraud rate, {n_fraud / len(test.y):.4f}. FinAI's"
        " three rows agree to 1e-9 with `finai.fraud.evaluate_model` on the test week."
        " **Fit s** is the estimator's fit alone (FinAI: `TrainResult.fit_seconds`;"
        " its whole `train()`, features, validation and thresholds included, is in the"
        " last column), after one untimed fit of each model on about"
        f" {WARMUP_ROWS:,} rows; fit time is against FinAI LightGBM's. Threads differ"
        f" (FinAI's estimators use 1 thread; this machine has {cores} cores), so the"
        " multi-threaded peers' ratios flatter them by up to that factor."
    )
    versions = ", ".join(
        f"{name} {version(name)}"
        for name in ("lightgbm", "xgboost", "scikit-learn", "pandas", "numpy")
    )
    return (
        heading
        + md_table(
            [
                "model",
                "threads",
                "ROC AUC",
                "average precision",
                f"card precision@{TOP_K}",
                "fit s",
                "fit time vs FinAI LightGBM",
                "note",
            ],
            table,
        )
        + f"\n\n{summary}\n\n{notes}\n\nLibraries: {versions}.\n"
    )


# ---------------------------------------------------------------------------
# 2. Online: HTTP scoring latency
# ---------------------------------------------------------------------------

HTTP_WARMUP = 500
HTTP_REQUESTS = 5_000
HTTP_P99_GOAL_MS = 10.0
REDIS_URL = os.environ.get("FINAI_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def online_transactions(n: int) -> list[dict[str, Any]]:
    """The first ``n`` transactions of a fresh simulation after the demo's training days."""
    frame = simulate(customers=1_000, terminals=2_000, days=30, seed=SEED, start="2026-07-01")
    rows = frame.head(n)
    return [
        {
            "transaction_id": str(row.transaction_id),
            "timestamp": row.timestamp.isoformat(),
            "customer_id": str(row.customer_id),
            "terminal_id": str(row.terminal_id),
            "amount": float(row.amount),
        }
        for row in rows.itertuples(index=False)
    ]


def timed(send: Callable[[], httpx.Response], expect: int) -> float:
    start = time.perf_counter()
    response = send()
    elapsed = time.perf_counter() - start
    if response.status_code != expect:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
    return elapsed


def bench_http() -> str:
    """``POST /v1/fraud/score`` over HTTP with Redis state, against ``GET /healthz``."""
    prefix = f"finai:bench:{uuid.uuid4().hex}:"
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    with scratch_dir("fraud-http") as home:
        env = {**finai_env(home), "FINAI_REDIS_URL": REDIS_URL, "FINAI_REDIS_PREFIX": prefix}
        log("http: finai init (trains and promotes the demo models)")
        finai_cli(env, home, "init")
        token = finai_cli(env, home, "keys", "create", "--name", "bench", "--role", "operator")
        sent = online_transactions(HTTP_WARMUP + HTTP_REQUESTS)
        actions: Counter[str] = Counter()
        scores: list[float] = []
        health: list[float] = []
        degraded = 0
        try:
            with (
                uvicorn_server("finai.api:create_app", factory=True, env=env, work=home) as url,
                httpx.Client(base_url=url, headers={"X-API-Key": token}, timeout=30) as http,
            ):
                log("http: warm-up")
                for body in sent[:HTTP_WARMUP]:
                    timed(lambda b=body: http.post("/v1/fraud/score", json=b), 200)
                    timed(lambda: http.get("/healthz"), 200)
                log(f"http: {HTTP_REQUESTS:,} transactions")
                for body in sent[HTTP_WARMUP:]:
                    start = time.perf_counter()
                    response = http.post("/v1/fraud/score", json=body)
                    scores.append(time.perf_counter() - start)
                    if response.status_code != 200:
                        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
                    answer = response.json()
                    actions[answer["action"]] += 1
                    degraded += answer["degraded"]
                    health.append(timed(lambda: http.get("/healthz"), 200))
            with sqlite3.connect(home / "finai.db") as db:
                stored = db.execute("SELECT count(*) FROM fraud_scores").fetchone()[0]
                alerts = db.execute("SELECT count(*) FROM fraud_alerts").fetchone()[0]
        finally:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
    if stored != len(sent) or degraded:
        raise RuntimeError(f"sent {len(sent)}, stored {stored}, degraded {degraded}")
    s50, s99 = percentile(scores, 50) * 1e3, percentile(scores, 99) * 1e3
    h50, h99 = percentile(health, 50) * 1e3, percentile(health, 99) * 1e3
    table = md_table(
        ["route", "p50 ms", "p99 ms", "max ms", "req/s", "p50 vs floor", "p99 vs floor",
         f"p99 <= {HTTP_P99_GOAL_MS:.0f} ms"],
        [
            ["`POST /v1/fraud/score` (operator key)", f"{s50:.2f}", f"{s99:.2f}",
             f"{percentile(scores, 100) * 1e3:.1f}", num(len(scores) / sum(scores)),
             ratio(s50 / h50), ratio(s99 / h99),
             "yes" if s99 <= HTTP_P99_GOAL_MS else "**no**"],
            ["`GET /healthz` (floor)", f"{h50:.2f}", f"{h99:.2f}",
             f"{percentile(health, 100) * 1e3:.1f}", num(len(health) / sum(health)),
             "1.00x", "1.00x", "-"],
        ],
    )  # fmt: skip
    mix = ", ".join(f"{k} {v:,}" for k, v in sorted(actions.items()))
    notes = (
        "One uvicorn worker, SQLite in a scratch `FINAI_HOME` set up by `finai init` (the"
        " demo fraud model, LightGBM), the online state in Redis (`FINAI_REDIS_URL`, a"
        " prefix of its own, deleted afterwards). One keep-alive httpx client sends one"
        f" transaction per POST ({HTTP_WARMUP:,} warm-up, then {HTTP_REQUESTS:,} timed) in"
        " time order, each followed by a `GET /healthz`. Each score reads the card's and"
        " terminal's state, scores, records the event and remembers the answer (three Redis"
        " round trips); the score (and an alert for review or block) is stored with an audit"
        " entry per batch by the service's `ScoreWriter` within `FINAI_FRAUD_WRITE_DELAY_MS`"
        f" (50 ms), off the request path. Actions: {mix}; {alerts:,} alerts;"
        " reasons (TreeSHAP) for review and block only."
    )
    return f"### Online scoring over HTTP\n\n{table}\n\n{notes}\n"


# ---------------------------------------------------------------------------
# 3. Online: the stream consumer's throughput
# ---------------------------------------------------------------------------

STREAM_WARMUP = 1_000
STREAM_TRANSACTIONS = 20_000
STREAM_BATCH = 200
STREAM_GOAL = 1_000  # transactions a second on one core
STREAM_MODEL = "bench-fraud"
STREAM_PRELOAD_DAYS = 38  # the state's retention: every window full from the start
STREAM_PARTS = ("state", "model", "DB", "streams")


class Clock:
    """Wall time spent in wrapped functions, by part; nested wrapped calls count once."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self._depth = 0
        self._wrapped: list[tuple[object, str, Any]] = []

    def wrap(self, owner: object, names: tuple[str, ...], part: str) -> None:
        """Time ``owner.NAME`` for each of ``names`` it has, as ``part``."""
        for name in names:
            method = getattr(owner, name, None)
            if method is not None:
                self._wrapped.append((owner, name, method))
                setattr(owner, name, self._timed(method, part))

    def unwrap(self) -> None:
        """Put the wrapped functions back."""
        for owner, name, method in reversed(self._wrapped):
            setattr(owner, name, method)
        self._wrapped.clear()

    def _timed(self, method: Callable[..., Any], part: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return method(*args, **kwargs)
            self._depth += 1
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[part] += time.perf_counter() - start
                self._depth -= 1

        return timed


def stream_transactions() -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """A fresh simulation: the history to preload, then the transactions to publish."""
    frame = simulate(customers=1_000, terminals=2_000, days=50, seed=SEED, start="2026-07-01")
    cut = pd.Timestamp("2026-07-01", tz="UTC") + pd.Timedelta(days=STREAM_PRELOAD_DAYS)
    history = frame[frame[TIME] < cut]
    sent = frame[frame[TIME] >= cut].head(STREAM_WARMUP + STREAM_TRANSACTIONS)
    if len(sent) < STREAM_WARMUP + STREAM_TRANSACTIONS:
        raise RuntimeError(f"the simulation has only {len(sent):,} transactions to send")
    fields = ["transaction_id", "timestamp", "customer_id", "terminal_id", "amount"]
    return history, sent[fields].to_dict("records")  # type: ignore[return-value]


def preload(store: StateStore, history: pd.DataFrame, retention: timedelta) -> None:
    """Record the history in the state, as scoring it would, and label its frauds."""
    events = [
        (card, terminal, StoredEvent(tid, int(at.value) // 1_000, float(amount)))
        for tid, at, card, terminal, amount in history[
            ["transaction_id", "timestamp", "customer_id", "terminal_id", "amount"]
        ].itertuples(index=False)
    ]
    retention_us = retention // timedelta(microseconds=1)
    lateness_us = timedelta(days=1) // timedelta(microseconds=1)
    for start in range(0, len(events), 1_000):
        store.record_many(
            events[start : start + 1_000], retention_us=retention_us, max_lateness_us=lateness_us
        )
    for tid in history.loc[history[LABEL] == 1, "transaction_id"]:
        store.label(str(tid), True)


@contextmanager
def one_core() -> Iterator[str]:
    """Pin this process to one core and OpenMP/BLAS to one thread; yield a description."""
    previous = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        with threadpool_limits(1):
            if affinity is None:
                yield "not pinned (no `sched_setaffinity` here), 1 OpenMP thread"
            else:
                core = min(affinity)
                os.sched_setaffinity(0, {core})
                yield f"pinned to core {core} (`os.sched_setaffinity`), 1 OpenMP thread"
    finally:
        if affinity is not None:
            os.sched_setaffinity(0, affinity)
        if previous is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = previous


@dataclass
class StreamRow:
    """One consumer run."""

    label: str
    seconds: float
    cpu_seconds: float
    redis_cpu_seconds: float
    parts: dict[str, float]
    alerts: int
    pinning: str


def redis_cpu(client: redis.Redis) -> float:
    """CPU seconds the Redis server has used (all its clients)."""
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def consume_once(
    label: str,
    store: StateStore,
    result: TrainResult,
    history: pd.DataFrame,
    sent: list[dict[str, Any]],
    prefix: str,
    client: redis.Redis,
    home: Path,
) -> StreamRow:
    """Publish ``sent``, preload the state, and time one consumer over the timed part."""
    url = f"sqlite:///{home / 'finai.db'}"
    upgrade(url)
    platform = Platform(
        Settings(
            environment="test",
            home=home,
            database_url=url,
            secret_key=SecretStr(secrets.token_urlsafe(48)),
        )
    )
    try:
        with platform.sessions() as session:
            register_model(
                session,
                platform.audit_key,
                platform.artifact_dir,
                name=STREAM_MODEL,
                result=result,
                actor="system",
            )
            session.commit()
        scorers = Scorers(store, platform.artifact_dir)
        with platform.sessions() as session:
            scorer = scorers.get(session, STREAM_MODEL)
        log(f"stream ({label}): preloading {len(history):,} transactions of history")
        preload(store, history, scorer.online.retention)
        publish(client, sent, f"{prefix}in")
        config = StreamConfig(
            stream=f"{prefix}in",
            output=f"{prefix}out",
            dead=f"{prefix}dead",
            consumer="bench",
            batch=STREAM_BATCH,
            block_ms=100,
            maxlen=None,
        )
        consumer = Consumer(
            client,
            lambda s: scorers.get(s, STREAM_MODEL),
            platform.sessions,
            platform.audit_key,
            config,
        )
        clock = Clock()
        clock.wrap(
            store,
            ("read", "record", "label", "remember", "read_many", "record_many", "remember_many"),
            "state",
        )
        clock.wrap(state_redis, ("_view",), "state")  # Redis views are parsed as accessed
        clock.wrap(scorer.model, ("score", "assess", "reasons", "score_row", "assess_row"), "model")
        clock.wrap(consumer, ("_save", "_current_scorer"), "DB")
        clock.wrap(consumer, ("_read", "_settle"), "streams")
        try:
            with one_core() as pinning:
                warm = consumer.run(max_messages=STREAM_WARMUP)
                clock.seconds.clear()
                log(f"stream ({label}): {STREAM_TRANSACTIONS:,} transactions")
                gc.collect()
                redis_before = redis_cpu(client)
                cpu_before = time.process_time()
                start = time.perf_counter()
                stats = consumer.run(max_messages=STREAM_TRANSACTIONS)
                seconds = time.perf_counter() - start
                cpu_seconds = time.process_time() - cpu_before
                redis_seconds = redis_cpu(client) - redis_before
        finally:
            clock.unwrap()
        if (warm.scored, stats.scored, stats.dead + warm.dead, stats.replayed) != (
            STREAM_WARMUP,
            STREAM_TRANSACTIONS,
            0,
            0,
        ):
            raise RuntimeError(f"{label}: warm-up {warm}, timed {stats}")
        with sqlite3.connect(home / "finai.db") as db:
            stored = db.execute("SELECT count(*) FROM fraud_scores").fetchone()[0]
        if stored != len(sent):
            raise RuntimeError(f"{label}: sent {len(sent):,}, stored {stored:,}")
        return StreamRow(
            label, seconds, cpu_seconds, redis_seconds, dict(clock.seconds), stats.alerts, pinning
        )
    finally:
        platform.close()


def goal(per_second: float, per_cpu_second: float) -> str:
    """Whether the wall-clock and the CPU throughput reach the goal."""

    def mark(value: float) -> str:
        return "yes" if value >= STREAM_GOAL else "**no**"

    return f"wall {mark(per_second)}, CPU {mark(per_cpu_second)}"


def bench_stream() -> str:
    """The stream consumer's throughput on one core, Redis state against in-memory state."""
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    log("stream: training the demo fraud model")
    frame = simulate(customers=1_000, terminals=2_000, days=90, seed=7)
    result = train(
        frame, train_start="2026-04-01", train_end="2026-06-29", alerts_per_day=20.0, seed=7
    )
    history, sent = stream_transactions()
    rows: list[StreamRow] = []
    prefixes: list[str] = []
    state_client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        with scratch_dir("fraud-stream") as work:
            for label in ("Redis", "in memory"):
                prefix = f"finai:bench:{uuid.uuid4().hex}:"
                prefixes.append(prefix)
                store: StateStore = (
                    RedisStore(state_client, prefix=prefix) if label == "Redis" else MemoryStore()
                )
                home = work / label.replace(" ", "-")
                home.mkdir()
                rows.append(consume_once(label, store, result, history, sent, prefix, client, home))
    finally:
        for prefix in prefixes:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])
        client.close()
        state_client.close()
    n = STREAM_TRANSACTIONS
    table = md_table(
        ["state", "tx/s (1 core)", "tx per CPU-second", f">= {STREAM_GOAL:,} per core",
         "CPU ms per tx", "Redis server CPU ms per tx",
         *(f"{part} %" for part in STREAM_PARTS), "other %"],
        [
            [
                r.label, num(n / r.seconds), num(n / r.cpu_seconds),
                goal(n / r.seconds, n / r.cpu_seconds),
                f"{r.cpu_seconds / n * 1e3:.3f}",
                f"{r.redis_cpu_seconds / n * 1e3:.3f}" if r.label == "Redis" else "-",
                *(f"{r.parts.get(p, 0.0) / r.seconds:.0%}" for p in STREAM_PARTS),
                f"{1 - sum(r.parts.values()) / r.seconds:.0%}",
            ]
            for r in rows
        ],
    )  # fmt: skip
    notes = (
        f"One `finai.fraud.Consumer` (batches of {STREAM_BATCH}) in this process,"
        f" {rows[0].pinning}; Redis (the streams, and the state in the Redis row) runs as"
        f" its own process, not pinned ({usable_cores()} cores usable here)."
        " The model is the demo's"
        " (`simulate(customers=1_000, terminals=2_000, days=90, seed=7)`, LightGBM trained"
        " on 2026-04-01..2026-06-29 with 20 alerts a day), registered in a fresh SQLite"
        " database per row and looked up per batch as `finai fraud consume` does. The"
        " transactions are a fresh simulation (1,000 cards, 2,000 terminals, seed"
        f" {SEED}, from 2026-07-01): its first {STREAM_PRELOAD_DAYS} days are preloaded"
        " into the state (events and fraud labels: every feature window full, as in a"
        f" running deployment), the next {STREAM_WARMUP:,} are consumed untimed, then"
        f" {n:,} timed, published beforehand in time order. Every message is scored"
        " (features from the state, recorded, first answer remembered), stored with its"
        " alert (review or block: reasons by TreeSHAP) and audited in SQLite, and written"
        " to the output stream; the batch is then acknowledged."
        f" The goal is {STREAM_GOAL:,} transactions a second per core. **tx/s (1 core)** is"
        " wall-clock throughput: it includes the consumer waiting for Redis (the server"
        " works while the consumer waits, one pipeline at a time) and SQLite, and"
        " anything else the machine runs meanwhile slows it. **tx per CPU-second** is"
        " the consumer process's own CPU time (`time.process_time`): what its core"
        " delivers when the consumer never waits."
        " **Redis server CPU** is the server's (`INFO cpu`; every client of the server"
        " counted). The shares are of wall time: the state store (round trips, and"
        " building the views of Redis replies), the model (score, and reasons for alerts),"
        " the database (`save_scores`, the scorer lookup) and the streams (reading,"
        " writing results and acknowledging); **other** is parsing messages, feature"
        " arithmetic and bookkeeping. Alerts opened: "
        + ", ".join(f"{r.label} {r.alerts:,}" for r in rows)
        + "."
    )
    return f"### Stream consumer throughput\n\n{table}\n\n{notes}\n"


def main() -> str:
    """Run the fraud benchmarks and return their markdown."""
    return "\n".join([bench_http(), bench_stream(), bench_offline()])
