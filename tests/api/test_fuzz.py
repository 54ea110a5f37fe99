"""Schemathesis against the gateway's own /openapi.json, in-process over ASGI, with the API key.

Every operation gets a few valid requests (positive) and a few that break its schema (negative).
Whatever they hold, the gateway must answer without a 5xx, with a status the operation documents
(or its `default` error), in a documented content type, with a body that matches the documented
schema. Bounded: a few examples per operation and mode (EXAMPLES) keep the file well under a minute;
at 40 per operation and mode it found nothing more (raise them locally to search harder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import API_KEY, make_settings
from waqtor.app import create_app

# Invalid requests cost more to generate (each must break the schema) and mostly end at validation.
EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 3, schemathesis.GenerationMode.NEGATIVE: 2}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def schema(tmp_path: Path) -> Any:
    # Webhooks registered by the fuzzer point anywhere: their attempts must not outlive the test by long.
    # The app runs in schemathesis' thread while hypothesis generates in this one: on a loaded machine its
    # lease renewals could lag past a short lease, and the session would then be "moving" (503); this
    # test is about answers, not about leases (tests/sessions/test_ownership.py is).
    app = create_app(make_settings(tmp_path / "data", webhook_timeout=1.0, webhook_backoff_base=60.0,
                                   lease_ttl=3600, forward_timeout=2.0))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _fuzz(operation: Any, mode: schemathesis.GenerationMode) -> str | None:
    """Run the operation's examples in `mode`; the failure report, or None when every answer passed."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, database=None, phases=[Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(headers={"X-API-Key": API_KEY}, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        return None  # nothing in this operation can be made invalid (no parameters, no body)
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis groups its check failures (not an Exception)
        return f"{operation.label} ({mode.value}): {exc}"
    return None


def test_every_operation_answers_as_documented_and_never_with_a_5xx(schema: Any) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40, "the schema should list every route of the API"
    failures = [report for operation in operations for mode in EXAMPLES if (report := _fuzz(operation, mode))]
    assert not failures, "\n\n".join(failures)


def test_the_schema_describes_the_error_envelope_for_every_operation(tmp_path: Path) -> None:
    document = create_app(make_settings(tmp_path / "data")).openapi()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            default = operation["responses"].get("default")
            assert default, f"{method.upper()} {path} has no default error response"
            assert default["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
    detail = document["components"]["schemas"]["ErrorDetail"]["properties"]
    assert {"code", "message", "details", "requestId"} <= set(detail)
