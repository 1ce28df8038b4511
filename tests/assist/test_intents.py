"""Intent classification: training, thresholds, out-of-scope handling, evaluation, registry."""

from __future__ import annotations

import pickle
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from finai import registry
from finai.assist import (
    KIND,
    IntentModel,
    IntentPrediction,
    IntentTrainResult,
    demo_test_data,
    demo_training_data,
    evaluate,
    load_labelled,
    load_model,
    register_model,
    train,
)
from finai.assist.intents import (
    ANSWER_PRECISION,
    _clarify_threshold,
    _fit_head,
    _handoff_threshold,
    _split,
    check_training,
)
from finai.context import Platform
from finai.exceptions import NotFound, ValidationError

OOS = "out_of_scope"


def _by_label() -> dict[str, list[str]]:
    texts, labels = demo_training_data()
    found: dict[str, list[str]] = defaultdict(list)
    for text, label in zip(texts, labels, strict=True):
        found[label].append(text)
    return found


INTENTS = [
    "card_arrival",
    "exchange_rate",
    "lost_or_stolen_card",
    "change_pin",
    "top_up_failed",
    "atm_support",
    "age_limit",
    "cash_withdrawal_charge",
    "country_support",
    "apple_pay_or_google_pay",
]
OUTSIDE = ["terminate_account", "verify_my_identity"]


@pytest.fixture(scope="module")
def subset() -> tuple[list[str], list[str]]:
    """10 BANKING77 intents x 30 rows, plus 2 other intents x 15 rows as out of scope."""
    found = _by_label()
    texts, labels = [], []
    for intent in INTENTS:
        texts += found[intent][:30]
        labels += [intent] * 30
    for intent in OUTSIDE:
        texts += found[intent][:15]
        labels += [OOS] * 15
    return texts, labels


@pytest.fixture(scope="module")
def held_out() -> tuple[list[str], list[str]]:
    """Test rows of the same intents (10 each) and of the out-of-scope ones (10 each)."""
    texts, labels = demo_test_data()
    found: dict[str, list[str]] = defaultdict(list)
    for text, label in zip(texts, labels, strict=True):
        found[label].append(text)
    out_texts, out_labels = [], []
    for intent in INTENTS + OUTSIDE:
        out_texts += found[intent][:10]
        out_labels += [intent if intent in INTENTS else OOS] * 10
    return out_texts, out_labels


@pytest.fixture(scope="module")
def trained(subset: tuple[list[str], list[str]]) -> IntentTrainResult:
    texts, labels = subset
    return train(texts, labels, oos_label=OOS, encoder="tfidf", seed=7)


# --- training ----------------------------------------------------------------------


def test_training_keeps_out_of_scope_rows_out_of_the_classes(trained: IntentTrainResult) -> None:
    model = trained.model
    assert model.labels == tuple(sorted(INTENTS))
    assert OOS not in model.labels
    assert model.encoder == "tfidf"
    assert model.oos_label == OOS
    # 15% of 30 rows per intent (rounded) is held out; the out-of-scope rows only validate.
    assert (trained.train_rows, trained.validation_rows, trained.oos_rows) == (260, 40, 30)
    assert trained.candidates == {"tfidf": trained.metrics["validation_accuracy"]}
    assert trained.metrics["validation_accuracy"] >= 0.85
    assert trained.metrics["validation_oos_recall"] >= 0.6
    assert model.thresholds.rule == "oos"
    assert 0.0 < model.handoff_threshold <= model.clarify_threshold <= 1.0
    assert trained.params["thresholds"] == model.thresholds.to_dict()
    assert trained.fit_seconds > 0
    assert len(trained.data_fingerprint) == 64


def test_predictions_follow_the_two_thresholds(
    trained: IntentTrainResult, held_out: tuple[list[str], list[str]]
) -> None:
    model = trained.model
    texts, _ = held_out
    predictions = model.predict(texts)
    assert len(predictions) == len(texts)
    seen = set()
    for p in predictions:
        assert isinstance(p, IntentPrediction)
        assert len(p.top) == 3
        assert [s for _, s in p.top] == sorted((s for _, s in p.top), reverse=True)
        assert p.confidence == p.top[0][1]
        if p.confidence < model.handoff_threshold:
            assert (p.action, p.intent) == ("handoff", None)
        elif p.confidence < model.clarify_threshold:
            assert (p.action, p.intent) == ("clarify", p.top[0][0])
        else:
            assert (p.action, p.intent) == ("answer", p.top[0][0])
        seen.add(p.action)
    assert {"answer", "handoff"} <= seen
    proba = model.predict_proba(texts)
    assert proba.shape == (len(texts), 10)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert model.predict([]) == []


def test_out_of_scope_messages_are_mostly_handed_off(
    trained: IntentTrainResult, held_out: tuple[list[str], list[str]]
) -> None:
    metrics = evaluate(trained.model, *held_out, oos_label=OOS)
    assert metrics["n"] == 120
    assert (metrics["n_in_scope"], metrics["n_oos"]) == (100, 20)
    assert metrics["oos_recall"] is not None and metrics["oos_recall"] >= 0.6
    assert metrics["in_scope_accuracy"] is not None and metrics["in_scope_accuracy"] >= 0.6
    assert metrics["top1_accuracy"] is not None and metrics["top1_accuracy"] >= 0.85
    prediction = trained.model.predict(["what is the capital of australia"])[0]
    assert prediction.action != "answer"


def test_with_thresholds_changes_only_the_actions(trained: IntentTrainResult) -> None:
    model = trained.model
    always = model.with_thresholds(0.0, 0.0)
    assert always.thresholds.rule == "manual"
    texts = ["where is my new card", "what is the capital of australia"]
    assert [p.action for p in always.predict(texts)] == ["answer", "answer"]
    never = model.with_thresholds(1.0, 1.0)
    assert [p.intent for p in never.predict(texts)] == [None, None]
    assert np.array_equal(always.predict_proba(texts), model.predict_proba(texts))
    with pytest.raises(ValidationError, match="handoff <= clarify") as caught:
        model.with_thresholds(0.8, 0.5)
    assert caught.value.field == "thresholds"


def test_without_out_of_scope_rows_the_handoff_keeps_most_correct_answers(
    subset: tuple[list[str], list[str]],
) -> None:
    texts, labels = subset
    in_scope = [(t, lab) for t, lab in zip(texts, labels, strict=True) if lab != OOS]
    result = train([t for t, _ in in_scope], [lab for _, lab in in_scope], encoder="tfidf")
    assert result.model.thresholds.rule == "keep-correct"
    assert result.oos_rows == 0
    assert "validation_oos_recall" not in result.metrics
    assert result.metrics["validation_handoff_rate"] <= 0.1
    assert result.model.oos_label is None


def test_the_split_is_stratified_and_reproducible() -> None:
    labels = ["a"] * 20 + ["b"] * 7 + ["c"] * 3
    fit, held = _split(labels, seed=1)
    assert sorted(np.concatenate([fit, held]).tolist()) == list(range(30))
    assert [labels[i] for i in held].count("a") == 3
    assert [labels[i] for i in held].count("b") == 1
    assert [labels[i] for i in held].count("c") == 1
    again_fit, again_held = _split(labels, seed=1)
    assert np.array_equal(held, again_held) and np.array_equal(fit, again_fit)
    assert not np.array_equal(held, _split(labels, seed=2)[1])


# --- thresholds on hand-made confidences -------------------------------------------------


def test_handoff_threshold_with_out_of_scope_rows_separates_them() -> None:
    conf_in = np.array([0.9, 0.8, 0.7, 0.35])
    correct = np.array([True, True, True, False])
    conf_oos = np.array([0.2, 0.3, 0.4])
    # Keeping >= 0.7 hands off every OOS row and the wrong in-scope one: in-scope
    # accuracy 3/4, OOS recall 1. The threshold lies midway between 0.4 and 0.7.
    assert _handoff_threshold(conf_in, correct, conf_oos) == pytest.approx(0.55)


def test_handoff_threshold_without_out_of_scope_rows_keeps_98_percent() -> None:
    conf = np.linspace(0.01, 1.0, 100)
    correct = np.ones(100, dtype=bool)
    # The 2nd percentile of 100 correct confidences: the third lowest is kept.
    assert _handoff_threshold(conf, correct, np.array([])) == pytest.approx(0.03)
    assert _handoff_threshold(conf, np.zeros(100, dtype=bool), np.array([])) == 0.0


def test_clarify_threshold_is_where_answers_become_precise() -> None:
    assert ANSWER_PRECISION == 0.95
    conf_in = np.array([0.99] * 19 + [0.6, 0.5])
    correct = np.array([True] * 19 + [True, False])
    # From 0.6 up: 20 of 20 right; from 0.5 up: 20 of 21 (0.952) is still enough.
    assert _clarify_threshold(conf_in, correct, np.array([]), 0.1) == 0.5
    # Out-of-scope rows count as wrong answers: from 0.55 up 20 of 22 (0.909) are
    # right, from 0.56 up 20 of 21.
    assert _clarify_threshold(conf_in, correct, np.array([0.55, 0.56]), 0.1) == 0.56
    # Never below the handoff threshold; 1.0 when no answers are precise enough.
    assert _clarify_threshold(conf_in, correct, np.array([]), 0.7) == 0.99
    assert _clarify_threshold(np.array([0.9]), np.array([False]), np.array([]), 0.1) == 1.0


# --- evaluation on hand-checkable predictions --------------------------------------------


class Scripted:
    """A model whose predictions are written down: text -> (intent or None, action)."""

    labels = ("a", "b")

    def __init__(self, answers: dict[str, tuple[str, str]]) -> None:
        self.answers = answers

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        out = []
        for text in texts:
            top, action = self.answers[text]
            other = "b" if top == "a" else "a"
            intent = None if action == "handoff" else top
            out.append(IntentPrediction(intent, 0.5, action, ((top, 0.5), (other, 0.3))))
        return out


def test_evaluate_counts_as_documented() -> None:
    model = Scripted(
        {
            "1": ("a", "answer"),  # in scope a: right
            "2": ("a", "clarify"),  # in scope a: right (confirms the right intent)
            "3": ("a", "handoff"),  # in scope a: wrong (handed off), top-1 right
            "4": ("a", "answer"),  # in scope b: wrong
            "5": ("b", "answer"),  # in scope b: right
            "6": ("a", "handoff"),  # out of scope: right
            "7": ("b", "clarify"),  # out of scope: right (not answered)
            "8": ("b", "answer"),  # out of scope: wrong
        }
    )
    texts = list("12345678")
    labels = ["a", "a", "a", "b", "b", OOS, OOS, OOS]
    metrics = evaluate(model, texts, labels, oos_label=OOS)
    assert metrics["n"] == 8
    assert metrics["accuracy"] == metrics["accuracy_with_handoff"] == pytest.approx(5 / 8)
    assert metrics["in_scope_accuracy"] == pytest.approx(3 / 5)
    assert metrics["oos_recall"] == pytest.approx(2 / 3)
    assert (metrics["n_in_scope"], metrics["n_oos"]) == (5, 3)
    assert metrics["handoff_rate"] == pytest.approx(2 / 8)
    assert metrics["clarify_rate"] == pytest.approx(2 / 8)
    # a: predicted for rows 1, 2, 4 (TP 2, FP 1), missed row 3: P 2/3, R 2/3, F1 2/3.
    # b: predicted for rows 5 and 8 (TP 1, FP 1), missed row 4: P 1/2, R 1/2, F1 1/2.
    assert metrics["macro_f1"] == metrics["macro_f1_with_handoff"]
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    # Top-1 on in-scope rows, thresholds ignored: rows 1, 2, 3, 5 right.
    assert metrics["top1_accuracy"] == pytest.approx(4 / 5)
    # a: TP 3, FP 1 (row 4), FN 0: F1 6/7. b: TP 1, FN 1: F1 2/3.
    assert metrics["top1_macro_f1"] == pytest.approx((6 / 7 + 2 / 3) / 2)


def test_evaluate_without_out_of_scope_label() -> None:
    model = Scripted({"1": ("a", "answer"), "2": ("b", "handoff")})
    metrics = evaluate(model, ["1", "2"], ["a", "b"])
    # Without out-of-scope rows, accuracy is which intent each request has.
    assert metrics["accuracy"] == metrics["top1_accuracy"] == 1.0
    assert metrics["macro_f1"] == metrics["top1_macro_f1"] == 1.0
    assert metrics["accuracy_with_handoff"] == 0.5
    assert "oos_recall" not in metrics and "in_scope_accuracy" not in metrics


def test_evaluate_refuses_labels_the_model_does_not_know() -> None:
    model = Scripted({"1": ("a", "answer")})
    with pytest.raises(ValidationError, match="'zzz'") as caught:
        evaluate(model, ["1"], ["zzz"])
    assert caught.value.field == "label_col"
    assert "out-of-scope label" in str(caught.value)
    with pytest.raises(ValidationError, match="no row is labelled") as caught:
        evaluate(model, ["1"], ["a"], oos_label="none")
    assert caught.value.field == "oos_label"
    with pytest.raises(ValidationError, match="no rows"):
        evaluate(model, [], [])
    with pytest.raises(ValidationError, match="2 labels"):
        evaluate(model, ["1"], ["a", "a"])


# --- bad training data ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("texts", "labels", "oos", "field", "message"),
    [
        (["x"] * 5, ["a"] * 5, None, "label_col", "at least two in-scope intents"),
        (["x"] * 6, ["a"] * 3 + [OOS] * 3, OOS, "label_col", "only 'a'"),
        (["x"] * 5, ["a"] * 3 + ["b"] * 2, None, "label_col", "at least 3 examples; 1 have"),
        (["x", " ", "y", "z"], ["a", "a", "b", "b"], None, "text_col", "row 2 have an empty"),
        (["x"] * 6, ["a"] * 3 + ["b"] * 3, "none", "oos_label", "out-of-scope label 'none'"),
        (["x"] * 3, ["a"] * 2, None, "data", "3 texts but 2 labels"),
    ],
)
def test_training_refuses_bad_data(
    texts: list[str], labels: list[str], oos: str | None, field: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        check_training(texts, labels, oos)
    assert caught.value.field == field


def test_training_refuses_unknown_encoders() -> None:
    with pytest.raises(ValidationError, match="unknown encoder 'bert'") as caught:
        train(["x"] * 6, ["a"] * 3 + ["b"] * 3, encoder="bert")
    assert caught.value.field == "encoder"


# --- reading labelled files ----------------------------------------------------------


def test_load_labelled_reads_csv_and_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"utterance": ["  hello there ", "bye"], "intent": [3, 4], "x": [1, 2]})
    frame.to_csv(tmp_path / "rows.csv", index=False)
    frame.to_parquet(tmp_path / "rows.parquet", index=False)
    for name in ("rows.csv", "rows.parquet"):
        texts, labels = load_labelled(tmp_path / name, "utterance", "intent")
        assert texts == ["hello there", "bye"]
        assert labels == ["3", "4"]


def test_load_labelled_names_missing_columns_and_empty_rows(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("text,label\nhello,a\n,b\nbye,\n")
    with pytest.raises(ValidationError, match="column 'utterance' is not in the data") as caught:
        load_labelled(path, "utterance", "label")
    assert caught.value.field == "text_col"
    assert "'text', 'label'" in str(caught.value)
    with pytest.raises(ValidationError, match="column 'intent'") as caught:
        load_labelled(path, "text", "intent")
    assert caught.value.field == "label_col"
    with pytest.raises(ValidationError, match=r"row 2 of .* have no text") as caught:
        load_labelled(path, "text", "label")
    assert caught.value.field == "text_col"
    path.write_text("text,label\nhello,a\nbye,\n")
    with pytest.raises(ValidationError, match=r"row 2 of .* have no label") as caught:
        load_labelled(path, "text", "label")
    assert caught.value.field == "label_col"
    with pytest.raises(ValidationError) as caught:
        load_labelled(tmp_path / "missing.csv", "text", "label")
    assert caught.value.field == "data"


def test_bundled_banking77() -> None:
    texts, labels = demo_training_data()
    assert (len(texts), len(set(labels))) == (10_003, 77)
    assert texts[0] == "I am still waiting on my card?" and labels[0] == "card_arrival"
    test_texts, test_labels = demo_test_data()
    assert len(test_texts) == 3_080 and set(test_labels) == set(labels)


# --- persistence ---------------------------------------------------------------------


def test_the_model_pickles_and_predicts_the_same(
    trained: IntentTrainResult, held_out: tuple[list[str], list[str]]
) -> None:
    texts, _ = held_out
    restored = pickle.loads(pickle.dumps(trained.model))
    assert isinstance(restored, IntentModel)
    assert restored.labels == trained.model.labels
    assert restored.thresholds == trained.model.thresholds
    assert np.array_equal(restored.predict_proba(texts), trained.model.predict_proba(texts))


def test_register_and_load_round_trip(platform: Platform, trained: IntentTrainResult) -> None:
    with platform.sessions() as session:
        version = register_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name="intents-test",
            result=trained,
            actor="t",
        )
        session.commit()
    assert (version.name, version.version, version.kind) == ("intents-test", 1, KIND)
    assert version.metrics["fit_seconds"] == trained.fit_seconds
    assert version.metrics["validation_oos_recall"] == trained.metrics["validation_oos_recall"]
    assert version.params["encoder"] == "tfidf"
    assert version.params["thresholds"]["handoff"] == trained.model.handoff_threshold
    assert version.params["labels"] == sorted(INTENTS)
    assert version.params["oos_label"] == OOS
    assert (version.params["train_rows"], version.params["oos_rows"]) == (260, 30)
    assert version.seed == 7
    assert version.data_fingerprint == trained.data_fingerprint
    with platform.sessions() as session:
        info, model = load_model(session, platform.artifact_dir, "intents-test:1")
    assert info.version == 1
    texts = ["my card still has not come", "which countries do you support"]
    assert [p.intent for p in model.predict(texts)] == [
        p.intent for p in trained.model.predict(texts)
    ]


def test_load_refuses_other_kinds_and_unknown_names(platform: Platform) -> None:
    with platform.sessions() as session:
        registry.register(
            session, platform.audit_key, platform.artifact_dir, name="fraud-model",
            model={"not": "intents"}, kind="fraud.model", actor="t",
        )  # fmt: skip
        session.commit()
        with pytest.raises(ValidationError, match="not an intent model") as caught:
            load_model(session, platform.artifact_dir, "fraud-model")
        assert caught.value.field == "model"
        with pytest.raises(NotFound):
            load_model(session, platform.artifact_dir, "nope")


@pytest.mark.parametrize("n_intents", [2, 4])
def test_head_probabilities_match_scikit_learn(n_intents: int) -> None:
    found = _by_label()
    texts = [t for intent in INTENTS[:n_intents] for t in found[intent][:12]]
    labels = [intent for intent in INTENTS[:n_intents] for _ in range(12)]
    head = _fit_head("tfidf", texts, labels)
    probe = ["where is my card", "exchange rate for euros", "change my pin"]
    features = head.encoder.transform(probe)
    assert np.allclose(head.proba(probe), head.classifier.predict_proba(features))
    assert np.allclose(features.toarray(), head.encoder.union_.transform(probe).toarray())
