from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, update

from finai import credit
from finai.context import Platform
from finai.credit.personal import with_values
from finai.credit.records import WITHHELD, as_stored
from finai.exceptions import NotFound, ValidationError
from finai.security.vault import Erased
from finai.store import CreditApplicantRow, CreditDecisionRow


def _decision(platform: Platform, decision_id: str, national_id: str, days_ago: int) -> None:
    when = datetime.now(UTC) - timedelta(days=days_ago)
    with platform.sessions() as session:
        session.add(
            CreditDecisionRow(
                id=decision_id,
                created_at=when,
                actor="t",
                model_name="m",
                model_version=1,
                policy_version=1,
                input_hash="0" * 64,
                outcome="approve",
                pd=0.1,
                score=600.0,
                currency="EUR",
                reasons=[],
                knockouts=[],
            )
        )
        session.flush()
        personal = {"national_id": national_id, "name": f"N {decision_id}"}
        credit.store_personal(session, platform.vault, decision_id=decision_id, personal=personal)
        session.execute(
            update(CreditApplicantRow)
            .where(CreditApplicantRow.decision_id == decision_id)
            .values(created_at=when)
        )
        session.commit()


def test_retention_erases_people_whose_newest_data_is_too_old(platform: Platform) -> None:
    _decision(platform, "a" * 32, "OLD-1", days_ago=400)
    _decision(platform, "b" * 32, "MIXED-2", days_ago=400)
    _decision(platform, "c" * 32, "MIXED-2", days_ago=10)  # a newer application keeps them
    _decision(platform, "d" * 32, "NEW-3", days_ago=5)
    before = datetime.now(UTC) - timedelta(days=365)
    with platform.sessions() as session:
        erased = credit.erase_expired(
            session, platform.vault, platform.audit_key, before=before, actor="t"
        )
        session.commit()
    assert erased == 1
    with platform.sessions() as session:
        with pytest.raises(Erased):
            credit.read_personal(
                session, platform.vault, platform.audit_key, decision_id="a" * 32, actor="t"
            )
        kept = credit.read_personal(
            session, platform.vault, platform.audit_key, decision_id="b" * 32, actor="t"
        )
        assert kept["national_id"] == "MIXED-2"
        again = credit.erase_expired(
            session, platform.vault, platform.audit_key, before=before, actor="t"
        )
        assert again == 0


def test_personal_data_needs_a_national_id_and_known_fields(platform: Platform) -> None:
    with platform.sessions() as session:
        with pytest.raises(ValidationError, match="national id"):
            credit.store_personal(
                session, platform.vault, decision_id="e" * 32, personal={"name": "x"}
            )
        with pytest.raises(ValidationError, match="unknown personal fields"):
            credit.store_personal(
                session,
                platform.vault,
                decision_id="e" * 32,
                personal={"national_id": "1", "salary": 1},
            )
        with pytest.raises(NotFound):
            credit.read_personal(
                session, platform.vault, platform.audit_key, decision_id="f" * 32, actor="t"
            )


def test_reasons_are_sealed_with_the_person_and_read_back_until_erasure(
    platform: Platform,
) -> None:
    told = (
        credit.Reason("monthly_income", "812.5", 1.2, "Monthly income (812.5) raised the risk"),
        credit.Reason("bankruptcy", "yes", 0.0, "A bankruptcy has been declared"),
    )
    _decision(platform, "9" * 32, "RS-1", days_ago=1)
    with platform.sessions() as session:
        session.execute(delete(CreditApplicantRow))
        stored = as_stored(replace(credit.get_decision(session, "9" * 32), reasons=told))
        credit.store_personal(
            session,
            platform.vault,
            decision_id="9" * 32,
            personal={"national_id": "RS-1", "name": "Rhoda"},
            reasons=told,
        )
        session.commit()
    with platform.sessions() as session:
        opened = with_values(
            session, platform.vault, platform.audit_key, decision=stored, actor="t"
        )
        assert opened.reasons == told
        assert stored.reasons[0] == credit.Reason(
            "monthly_income", WITHHELD, 1.2, "Monthly income raised the risk"
        )
        # the personal fields read back without the sealed reasons
        assert credit.read_personal(
            session, platform.vault, platform.audit_key, decision_id="9" * 32, actor="t"
        ) == {"national_id": "RS-1", "name": "Rhoda"}
        platform.vault.erase(session, platform.audit_key, subject_id="RS-1", actor="t")
        session.commit()
    with platform.sessions() as session:
        after = with_values(session, platform.vault, platform.audit_key, decision=stored, actor="t")
        assert after is stored
