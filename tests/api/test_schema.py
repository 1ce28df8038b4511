"""Property-based run over the OpenAPI schema: no 5xx, every answer matches its schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from finai.api import create_app
from finai.context import Platform
from finai.security import Role
from tests.conftest import auth
from tests.factories import register_versions

EXAMPLES = 25
# Valid JSON can still be refused on meaning (a policy whose cut-offs cross, an
# applicant without the model's features, a transaction dated in the future, an
# outcome for an unknown decision, a report on data without the named columns): there,
# 422 is the right answer.
SEMANTIC = {
    "PUT /v1/credit/policy",
    "POST /v1/credit/decisions",
    "POST /v1/credit/decisions/batch",
    "POST /v1/credit/models/train",
    "POST /v1/fraud/score",
    "POST /v1/credit/outcomes",
    "POST /v1/governance/drift/checks",
    "POST /v1/governance/fairness",
    "POST /v1/governance/mitigations",
    "POST /v1/assist/messages",
    "POST /v1/assist/audio",
    "POST /v1/assist/kb",
    "POST /v1/assist/conversations/{conversation_id}/replies",
}


def test_api_answers_match_the_schema(platform: Platform, tokens: dict[Role, str]) -> None:
    register_versions(platform, [{}])
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(platform))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    headers = auth(tokens[Role.ADMIN])
    for operation in operations:
        excluded = [positive_data_acceptance] if operation.label in SEMANTIC else []
        _checker(operation, headers, excluded)()


def _checker(
    operation: schemathesis.APIOperation, headers: dict[str, str], excluded: list[Any]
) -> Callable[[], None]:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    return check  # type: ignore[no-any-return]
