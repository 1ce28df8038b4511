"""Hypothesis on the parsers and validators that had none: every input is accepted or refused
with the documented error, and what can be written out reads back the same.
"""

from __future__ import annotations

import base64
import json
import re
import string
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pydantic
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from finai.api import credit_schemas, fraud_schemas, schemas
from finai.api.routes import outcomes
from finai.credit.reasons import Reason
from finai.credit.records import MISSING, WITHHELD, _reason_view, _stored_reason, withhold_values
from finai.exceptions import ConfigurationError, IntegrityError, ValidationError
from finai.fraud.windows import parse_date
from finai.governance.protected import ProtectedAttribute
from finai.registry.versions import parse_ref
from finai.security import idempotency
from finai.security.keyring import KEY_BYTES, KeyRing, _encode, read_key_file
from finai.security.vault import MAX_SUBJECT, Vault, normalise_subject
from finai.store import Base

FAST = settings(max_examples=60, deadline=None)

# -- subjects (the blind index's input) -------------------------------------------------

VAULT = Vault(KeyRing({"k1": b"\x01" * KEY_BYTES}, "k1"), b"i" * 32)


@example("A\u00b4")  # a spacing accent: a space and a combining accent, decomposed
@example("A\u0345\u0301")
@given(st.text(max_size=250))
def test_subjects_normalise_once_or_are_refused_by_field(text: str) -> None:
    try:
        canonical = normalise_subject(text)
    except ValidationError as exc:
        assert exc.field == "subject"
        assert not text.strip() or len(text) * 18 > MAX_SUBJECT  # NFKC grows a char 18-fold
        return
    assert canonical and len(canonical) <= MAX_SUBJECT
    assert not any(c.isspace() for c in canonical)
    assert normalise_subject(canonical) == canonical  # idempotent
    assert VAULT.subject_index(canonical) == VAULT.subject_index(text)


@given(st.text(alphabet=string.ascii_letters + string.digits + "-/.", min_size=1, max_size=50))
def test_case_and_spaces_never_change_who_a_subject_is(subject_id: str) -> None:
    spaced = " ".join(subject_id.swapcase()) + "\t"
    assert VAULT.subject_index(spaced) == VAULT.subject_index(subject_id)
    other = subject_id + "0"
    assert VAULT.subject_index(other) != VAULT.subject_index(subject_id)


# -- model references --------------------------------------------------------------------

NAMES = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")


@given(NAMES, st.one_of(st.none(), st.integers(min_value=1, max_value=10**9 - 1)))
def test_model_refs_round_trip(name: str, version: int | None) -> None:
    ref = name if version is None else f"{name}:{version}"
    assert parse_ref(ref) == (name, version)
    assert re.fullmatch(_pattern(schemas.ModelRef), ref)  # the API takes what parses


@example("m:\u00b2")  # a superscript two is a digit to str.isdigit, not to int()
@example("m:\u0661")  # an Arabic-Indic one: int() reads it
@given(st.text(max_size=30))
def test_model_refs_parse_or_name_the_model_field(text: str) -> None:
    try:
        name, version = parse_ref(text)
    except ValidationError as exc:
        assert exc.field == "model"
        return
    before, _, after = text.partition(":")
    assert name == before != ""
    assert (version is None) == (not after)
    assert version is None or (version >= 1 and str(version) == after.lstrip("0"))


def _pattern(annotated: Any) -> str:
    for meta in annotated.__metadata__:
        if getattr(meta, "pattern", None):
            return str(meta.pattern)
    raise AssertionError("no pattern")


# -- Idempotency-Key and kept answers ----------------------------------------------------


@given(st.text(max_size=210))
def test_idempotency_keys_are_1_to_200_visible_ascii(key: str) -> None:
    valid = 1 <= len(key) <= 200 and all("!" <= c <= "~" for c in key)
    assert bool(re.fullmatch(idempotency.PATTERN, key)) == valid


@given(st.text(max_size=40), st.text(max_size=200), st.text(max_size=200))
def test_request_hashes_tell_routes_and_bodies_apart(route: str, body: str, other: str) -> None:
    assert idempotency.request_hash(route, body) == idempotency.request_hash(route, body)
    if other != body:
        assert idempotency.request_hash(route, body) != idempotency.request_hash(route, other)


@pytest.fixture(scope="module")
def memory_session() -> Iterator[Session]:
    """A vault's tables in memory: hypothesis runs many examples against one session."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


@FAST
@given(
    st.text(max_size=500),
    st.one_of(st.none(), st.text(alphabet=string.printable, min_size=1, max_size=50)),
)
def test_kept_answers_round_trip_sealed(
    memory_session: Session, body: str, subject: str | None
) -> None:
    assume(subject is None or subject.strip())
    stored = idempotency.seal_body(memory_session, VAULT, body, subject=subject)
    assert stored.startswith(idempotency.SEALED)
    assert len(body) < 12 or body not in stored  # nothing of the answer shows
    assert idempotency.open_body(memory_session, VAULT, stored) == body


@FAST
@given(st.text(max_size=200), st.binary(max_size=120))
def test_damaged_answers_fail_their_integrity_check(
    memory_session: Session, text: str, raw: bytes
) -> None:
    for stored in (idempotency.SEALED + text, idempotency.SEALED + base64.b64encode(raw).decode()):
        try:
            idempotency.open_body(memory_session, VAULT, stored)
        except IntegrityError:
            continue
        raise AssertionError(f"{stored!r} opened")
    sealed = idempotency.seal_body(memory_session, VAULT, "{}", subject=None)
    flipped = bytearray(base64.b64decode(sealed[len(idempotency.SEALED) :]))
    flipped[len(raw) % len(flipped)] ^= 1 + len(text) % 255
    with pytest.raises(IntegrityError):
        idempotency.open_body(
            memory_session, VAULT, idempotency.SEALED + base64.b64encode(bytes(flipped)).decode()
        )


# -- key files ---------------------------------------------------------------------------

KEK_IDS = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=16)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for every example's key file (each example rewrites it)."""
    return tmp_path_factory.mktemp("keyfiles")


@FAST
@given(st.dictionaries(KEK_IDS, st.binary(min_size=KEY_BYTES, max_size=KEY_BYTES), min_size=1))
def test_key_files_round_trip(scratch: Path, keys: dict[str, bytes]) -> None:
    current = sorted(keys)[0]
    path = scratch / "kek.json"
    path.write_text(_encode(keys, current))
    ring = read_key_file(path)
    assert ring.current() == current and sorted(ring.ids) == sorted(keys)
    wrapped = ring.wrap(current, b"d" * KEY_BYTES, b"ctx")
    assert ring.unwrap(current, wrapped, b"ctx") == b"d" * KEY_BYTES


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@FAST
@given(
    st.one_of(
        st.text(max_size=200),
        JSONISH.map(json.dumps),
        st.fixed_dictionaries({"current": JSONISH, "keys": JSONISH}).map(json.dumps),
        st.fixed_dictionaries(
            {"current": st.just("a"), "keys": st.dictionaries(st.just("a"), st.text(max_size=60))}
        ).map(json.dumps),
    )
)
def test_broken_key_files_are_a_configuration_error_naming_no_key(scratch: Path, text: str) -> None:
    path = scratch / "kek.json"
    path.write_text(text)
    try:
        read_key_file(path)
    except ConfigurationError as exc:
        assert str(path) in str(exc)
        try:
            keys = json.loads(text)["keys"]
        except (ValueError, KeyError, TypeError):
            return
        if isinstance(keys, dict):
            assert not any(
                isinstance(v, str) and len(v) >= 8 and v in str(exc) for v in keys.values()
            )
        return
    body = json.loads(text)  # it loaded: then it was a valid key file
    assert body["current"] in body["keys"]


# -- request bodies ----------------------------------------------------------------------

REQUEST_MODELS = sorted(
    {
        model
        for module in (schemas, credit_schemas, fraud_schemas, outcomes)
        for model in vars(module).values()
        if isinstance(model, type)
        and issubclass(model, schemas.Strict)
        and model is not schemas.Strict
    },
    key=lambda m: m.__name__,
)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.text(alphabet="\x00\x1f\x7f", min_size=1, max_size=3),
    st.dates().map(date.isoformat),
    st.datetimes().map(datetime.isoformat),
    st.lists(st.text(max_size=10), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=10), st.floats(allow_nan=False), max_size=3),
)


@pytest.mark.parametrize("model", REQUEST_MODELS, ids=lambda m: m.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_request_bodies_validate_or_name_the_field_and_round_trip(
    model: type[pydantic.BaseModel], data: st.DataObject
) -> None:
    fields = list(model.model_fields)
    body = data.draw(
        st.dictionaries(
            st.sampled_from([*fields, "unknown_field"]), VALUES | JSONISH, max_size=len(fields) + 1
        )
    )
    try:
        parsed = model.model_validate_json(json.dumps(body))
    except pydantic.ValidationError as exc:
        for error in exc.errors():
            # field errors name the field (and the index within it); a rule over several
            # fields is the body's own (pydantic's empty location)
            assert error["loc"] or error["type"] == "value_error", error
            if error["loc"]:
                assert error["loc"][0] in (*fields, "unknown_field"), error
        assert "unknown_field" not in body or any(
            e["loc"][:1] == ("unknown_field",) for e in exc.errors()
        )
        return
    assert "unknown_field" not in body
    assert model.model_validate_json(parsed.model_dump_json()) == parsed


VALID: dict[str, dict[str, Any]] = {
    "AlertAssign": {"assignee": "ana"},
    "AlertResolve": {"resolution": "fraud", "note": "card stolen"},
    "ApplicantSearch": {"national_id": "ZQX-1"},
    "ApprovalCreate": {"comment": "checked the card and the fairness report"},
    "BatchCreate": {"model": "pd:2", "applicants": [{"income": 1.5}], "ref_field": "id"},
    "ChallengerUpdate": {"version": 3},
    "DecisionCreate": {
        "model": "pd",
        "applicant": {"income": 2500.0, "purpose": "car", "owner": True, "debt": None},
        "applicant_ref": "A-1",
        "personal": {"national_id": "ZQX-1", "name": "Ann", "date_of_birth": "1980-01-31"},
    },
    "KeyCreate": {"name": "ops key", "role": "operator", "expires_in_days": 30},
    "LabelCreate": {"transaction_id": "t-1", "is_fraud": True, "source": "analyst"},
    "LabelsCreate": {"labels": [{"transaction_id": "t-1", "is_fraud": False}]},
    "OutcomeCreate": {
        "decision_id": "a" * 32,
        "defaulted": True,
        "observed_at": "2026-01-02T03:04:05+00:00",
    },
    "OutcomesCreate": {"outcomes": [{"decision_id": "b" * 32, "defaulted": False}]},
    "PersonalCreate": {"national_id": "ZQX-1", "email": "a@b.example"},
    "PersonalPublic": {"national_id": "ZQX-1", "phone": "+44 1"},
    "PolicyUpdate": {"yaml": "name: p"},
    "TransactionCreate": {
        "transaction_id": "t-1",
        "timestamp": "2026-01-02T03:04:05Z",
        "card_number": "4111 1111 1111 1111",
        "terminal_id": "T1",
        "amount": 12.5,
        "model": "fraud:1",
        "explain": True,
    },
}


def test_every_request_model_has_a_valid_body() -> None:
    assert sorted(VALID) == [m.__name__ for m in REQUEST_MODELS]
    for model in REQUEST_MODELS:
        parsed = model.model_validate_json(json.dumps(VALID[model.__name__]))
        assert model.model_validate_json(parsed.model_dump_json()) == parsed


@pytest.mark.parametrize("model", REQUEST_MODELS, ids=lambda m: m.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_one_changed_field_is_accepted_or_refused_by_its_name(
    model: type[pydantic.BaseModel], data: st.DataObject
) -> None:
    body = dict(VALID[model.__name__])
    field = data.draw(st.sampled_from(list(model.model_fields)))
    if data.draw(st.booleans()):
        body.pop(field, None)
    else:
        body[field] = data.draw(VALUES | JSONISH)
    try:
        parsed = model.model_validate_json(json.dumps(body))
    except pydantic.ValidationError as exc:
        # the changed field is named; only a rule over several fields is the body's own
        assert all(e["loc"][:1] == (field,) or e["loc"] == () for e in exc.errors()), exc
        return
    assert model.model_validate_json(parsed.model_dump_json()) == parsed


PRINTABLE = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40
)


@given(
    st.fixed_dictionaries(
        {"national_id": PRINTABLE},
        optional={
            "name": PRINTABLE,
            "address": PRINTABLE,
            "email": PRINTABLE.map(lambda t: t + "@x.example"),
            "phone": PRINTABLE,
            "date_of_birth": st.dates().map(date.isoformat),
            "notes": PRINTABLE,
        },
    ),
    st.sampled_from(["national_id", "name", "address", "phone", "notes"]),
    st.sampled_from(["\x00", "\n", "\x7f", "x" * 2_001]),
)
def test_personal_data_round_trips_and_control_text_is_refused_by_field(
    person: dict[str, str], field: str, bad: str
) -> None:
    parsed = credit_schemas.PersonalCreate.model_validate(person)
    assert parsed.model_dump(mode="json", exclude_none=True) == person
    with pytest.raises(pydantic.ValidationError) as refused:
        credit_schemas.PersonalCreate.model_validate({**person, field: f"a{bad}"})
    assert [e["loc"] for e in refused.value.errors()] == [(field,)]


# -- dates, protected attributes ---------------------------------------------------------


@given(st.one_of(st.dates(), st.datetimes(), st.text(max_size=30), st.integers(), st.none()))
def test_dates_parse_or_name_their_field(value: object) -> None:
    try:
        parsed = parse_date(value, "start")
    except ValidationError as exc:
        assert exc.field == "start"
        assert not (isinstance(value, date) and not isinstance(value, datetime))
        return
    assert isinstance(parsed, date) and not isinstance(parsed, datetime)
    assert parse_date(parsed.isoformat(), "start") == parsed


COLUMNS = st.from_regex(r"\A[a-z_][a-z0-9_]{0,20}\Z")


@given(COLUMNS, st.lists(st.integers(-1000, 1000), min_size=1, max_size=5, unique=True))
def test_protected_bands_round_trip(column: str, cuts: list[int]) -> None:
    ordered = sorted(cuts)
    parsed = ProtectedAttribute.parse(f"{column}:{','.join(map(str, ordered))}")
    assert parsed.column == column and parsed.cuts == tuple(float(c) for c in ordered)
    assert len(parsed.bands) == len(ordered) + 1


@given(st.text(max_size=40))
def test_protected_attributes_parse_or_name_their_column(text: str) -> None:
    try:
        parsed = ProtectedAttribute.parse(text)
    except ValidationError as exc:
        # the column named, or "protected" itself when there is none
        assert (
            exc.field == "protected"
            if not text.rpartition(":")[0]
            else text.startswith(str(exc.field))
        )
        return
    assert text.startswith(parsed.column)


# -- reasons as stored -------------------------------------------------------------------

LABELS = st.text(alphabet=string.ascii_letters + " _", min_size=1, max_size=20)
VALUE_TEXTS = st.one_of(
    st.from_regex(r"\A-?[0-9]{1,7}(\.[0-9]{1,4})?\Z"),
    st.text(alphabet=string.ascii_letters + string.digits + " -", min_size=1, max_size=12),
)


@given(
    LABELS,
    VALUE_TEXTS,
    st.floats(min_value=1e-6, max_value=500),
    st.sampled_from([") lowered the score by 4 points", ") raised the estimated risk"]),
)
def test_stored_reasons_never_hold_the_value_and_read_back_as_stored(
    label: str, value: str, contribution: float, tail: str
) -> None:
    assume(value not in (MISSING, WITHHELD) and value not in label and value not in tail)
    reason = Reason("feature", value, contribution, f"{label} ({value}{tail}")
    stored = _stored_reason(reason)
    assert "value" not in stored and value not in str(stored["text"])
    [kept] = withhold_values([reason])
    assert kept.value == WITHHELD and kept.text == f"{label}{tail[1:]}"
    assert _reason_view(json.loads(json.dumps(stored))) == kept
    assert withhold_values([kept]) == (kept,)
