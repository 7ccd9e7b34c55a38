"""The warm helpers (the sandbox's worker, the evaluation worker) survive a request they cannot read:
it is answered with the reason, and the same warm process serves the next request."""

import os
import time
from pathlib import Path

import pytest

from discovery.sandbox.channel import JsonLinesProcess


@pytest.mark.parametrize("module", ["discovery.sandbox.worker", "discovery.execution.worker"])
def test_a_bad_request_is_answered_and_the_helper_serves_the_next(module: str, tmp_path: Path) -> None:
    environment = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    helper = JsonLinesProcess(module, [str(tmp_path)], environment, str(tmp_path), startup_s=180)
    try:
        answers = []
        for request in ({"validate": 3, "timeout_s": 1}, {"job": {"evaluator": "sentiment"}}, {"what": 1}):
            assert helper.send(request)
            answers.append(helper.read(time.monotonic() + 60))
        assert all(answer is not None and answer["error"].startswith("bad request: ") for answer in answers)
        assert helper.alive
    finally:
        helper.close()


def test_a_refused_validation_is_a_rejection_with_the_reason_not_a_crash(monkeypatch) -> None:
    """Should the sandbox's worker ever refuse a request, the candidate is rejected, saying so."""
    from discovery.sandbox import Validator

    monkeypatch.setattr(Validator, "_start", lambda self: None)
    monkeypatch.setattr(Validator, "_ask", lambda self, request: {"error": "bad request: probe: missing"})
    verdict = Validator().validate("def loss(): pass")
    assert not verdict.ok and verdict.stage == "runtime"
    assert verdict.reason == "the sandbox worker refused it: bad request: probe: missing"
