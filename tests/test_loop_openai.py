"""`discover run` with the openai proposer against a scripted local endpoint: every kind of reply
and failure ends up in the archive with the right status and reason, and the run completes."""

import json

import pytest

import tests.support.probe_evaluator  # noqa: F401  (registers the "probe" evaluator)
from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.llm import EndpointSettings
from discovery.proposers.llm import OpenAIProposer
from discovery.records import CandidateStatus, RunStatus
from discovery.runner import start_run
from tests.support.fake_openai import MODEL, FakeOpenAI, Reply, dead_endpoint
from tests.support.objective_sources import (
    CRASHING,
    DPO_RESPELLED,
    EXPONENTIAL,
    FORBIDDEN,
    MIXED,
    SKEWED,
    SMOOTH_HINGE,
    SQUARED_HINGE,
    SQUARED_LOGISTIC,
)


def as_json(name: str, code: str) -> str:
    return json.dumps({"thought": f"try {name}", "name": name, "code": code})


SCRIPT = [
    Reply.chat(as_json("squared_hinge", SQUARED_HINGE)),  # g1: bare JSON
    Reply.chat("```json\n" + as_json("exponential", EXPONENTIAL) + "\n```"),  # g2: fenced
    Reply.chat(
        "Here is my idea.\n" + as_json("smooth_hinge", SMOOTH_HINGE) + "\nHope it helps!"
    ),  # g3: prose
    Reply.chat("{'thought': oops"),  # g4: malformed ...
    Reply.chat("still not json"),  # ... and the repair turn too
    Reply.chat(as_json("escape", FORBIDDEN)),  # g5: fails the gate ...
    Reply.chat(as_json("escape_again", FORBIDDEN)),  # ... and again after repair
    Reply.chat(as_json("softplus_dpo", DPO_RESPELLED)),  # g6: a duplicate of DPO ...
    Reply.chat(as_json("softplus_dpo_2", DPO_RESPELLED)),  # ... twice
    Reply.status(429),  # g7: rate limited, then fine
    Reply.chat(as_json("squared_logistic", SQUARED_LOGISTIC)),
    Reply.status(500),  # g8: server error, then fine
    Reply.chat(as_json("mixed_tails", MIXED)),
    Reply.delay(3.0, then=Reply.chat(as_json("late", SKEWED))),  # g9: times out, then fine
    Reply.chat(as_json("skewed_logistic", SKEWED)),
    Reply.chat(as_json("crasher", CRASHING)),  # g10: valid, but training raises
]


def test_scripted_endpoint_run_records_every_outcome(tmp_path, monkeypatch) -> None:
    with FakeOpenAI(SCRIPT) as server:
        monkeypatch.setattr(
            "discovery.runner.make_proposer",
            lambda *args: (
                OpenAIProposer(
                    EndpointSettings(model=MODEL, base_url=server.base_url, timeout=1.0, max_retries=2)
                ),
                None,
            ),
        )
        config = RunConfig(  # one worker: the script answers the generations in order
            generations=10,
            evaluator="probe",
            proposer="openai",
            seed_objectives=["dpo", "slic"],
            executor={"workers": 1},
        )
        outcome = start_run(tmp_path, config)

    assert outcome.run.status == RunStatus.FINISHED and outcome.stopped_reason is None
    with Archive.open(tmp_path, outcome.run.id) as archive:
        by_generation = {c.generation: c for c in archive.candidates() if not c.is_seed}
        exchanges = archive.exchanges()
        tokens = archive.tokens_spent()

    statuses = {g: (c.status, c.name) for g, c in by_generation.items()}
    assert statuses[1] == (CandidateStatus.SCORED, "squared_hinge")
    assert statuses[2] == (CandidateStatus.SCORED, "exponential")
    assert statuses[3] == (CandidateStatus.SCORED, "smooth_hinge")
    assert by_generation[4].status == CandidateStatus.INVALID and by_generation[4].stage == "reply"
    assert by_generation[5].status == CandidateStatus.INVALID and by_generation[5].stage == "static"
    assert "os" in by_generation[5].reason
    assert by_generation[6].status == CandidateStatus.DUPLICATE and "dpo" in by_generation[6].reason
    assert statuses[7] == (CandidateStatus.SCORED, "squared_logistic")
    assert statuses[8] == (CandidateStatus.SCORED, "mixed_tails")
    assert statuses[9] == (CandidateStatus.SCORED, "skewed_logistic")
    assert by_generation[10].status == CandidateStatus.FAILED and "NaN" in by_generation[10].reason

    # the repair turns quote the exact error back to the model
    repair_prompts = [r.messages[-1]["content"] for r in server.requests if len(r.messages) > 2]
    assert any("os" in text for text in repair_prompts)
    assert any("dpo" in text.lower() for text in repair_prompts)
    assert tokens[0] > 0 and tokens[1] > 0 and len(exchanges) >= 10


@pytest.mark.slow
def test_dead_endpoint_stops_the_run_with_a_message_and_keeps_the_archive(tmp_path) -> None:
    from tests.support.commands import discover_subprocess

    result = discover_subprocess(
        "run", "--proposer", "openai", "--base-url", dead_endpoint(), "--model", "m",
        "--evaluator", "sentiment", "--set", "preset=tiny", "--seed-objectives", "dpo",
        "--generations", "1", "--runs-dir", str(tmp_path), "--json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "interrupted"
    assert "discover run --resume" in result.stderr and "Traceback" not in result.stderr
    with Archive.open(tmp_path, document["run_id"]) as archive:
        assert [c.status for c in archive.candidates()] == [CandidateStatus.SCORED]


# What a broken endpoint answers, one kind per generation (twice: the reply and its repair turn),
# and what the invalid candidate's reason then says.
BROKEN_BODIES = [
    (Reply.raw_body(b"<html>Bad Gateway</html>", content_type="text/html"), "is not a chat completion"),
    (Reply.raw_body(b""), "is not a chat completion: 'an empty body'"),
    (Reply.raw_body(b"upstream timeout"), "is not a chat completion: 'upstream timeout'"),
    (Reply.raw_body(b'{"object": "error"}'), "is not a chat completion"),
    (Reply.raw_body(b"[" * 3000), "is not a chat completion"),
    (
        Reply.truncated(Reply.chat(as_json("cut", SQUARED_HINGE)), keep=50),
        "the reply broke off after 50 bytes",
    ),
    (Reply.trickle(Reply.chat(as_json("slow", SQUARED_HINGE)), every_s=0.1), "did not finish within 1 s"),
    (Reply.stall(30.0), "the reply broke off after 0 bytes: timed out"),
    (Reply.chat("x" * 10_000), "the reply is longer than 4096 bytes"),
    (
        Reply.chat(json.dumps({"thought": "t" * 2500, "name": "long", "code": SQUARED_HINGE})),
        "at most 2000 characters",
    ),
]


def endpoint_config(server: FakeOpenAI, generations: int, **settings) -> RunConfig:
    """A run whose proposer is `server`, reached through the run config's own endpoint settings; the
    script answers proposals only, so no meta-summary is asked for unless `settings` say so."""
    settings = {"summary_interval": 0} | settings
    return RunConfig(
        generations=generations,
        evaluator="probe",
        proposer="openai",
        model=MODEL,
        base_url=server.base_url,
        seed_objectives=["dpo"],
        **settings,
    )


def test_broken_bodies_become_invalid_candidates_and_the_run_finishes(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    script = [reply for reply, _ in BROKEN_BODIES for _ in range(2)]
    with FakeOpenAI(script) as server:
        config = endpoint_config(
            server, len(BROKEN_BODIES), request_timeout=1.0, max_retries=0, max_reply_bytes=4096
        )
        outcome = start_run(tmp_path, config)
    assert outcome.run.status == RunStatus.FINISHED and outcome.stopped_reason is None
    with Archive.open(tmp_path, outcome.run.id) as archive:
        proposed = sorted((c for c in archive.candidates() if not c.is_seed), key=lambda c: c.generation)
    assert len(proposed) == len(BROKEN_BODIES)
    for candidate, (_, reason) in zip(proposed, BROKEN_BODIES, strict=True):
        assert (candidate.status, candidate.stage) == (CandidateStatus.INVALID, "reply"), candidate
        assert reason in candidate.reason and len(candidate.thought) <= 2000


def test_an_endpoint_that_hangs_stops_the_run_resumably(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAI([Reply.delay(60.0)] * 2) as server:
        config = endpoint_config(server, 1, request_timeout=0.5, max_retries=1)
        outcome = start_run(tmp_path, config)
    assert outcome.run.status == RunStatus.INTERRUPTED
    assert "did not answer within 0.5 s (after 1 retry)" in outcome.stopped_reason
    assert f"discover run --resume {outcome.run.id}" in outcome.stopped_reason


def test_a_run_against_a_broken_endpoint_finishes_from_the_command_line(tmp_path) -> None:
    from tests.support.commands import discover_subprocess, finished_run_id

    html = Reply.raw_body(b"<html><body>It works!</body></html>", content_type="text/html")
    trickle = Reply.trickle(Reply.chat(as_json("slow", SQUARED_HINGE)), every_s=0.1)
    with FakeOpenAI([html, html, trickle, Reply.chat("x" * 10_000)]) as server:
        result = discover_subprocess(
            "run", "--proposer", "openai", "--base-url", server.base_url, "--model", MODEL,
            "-e", "tests.support.probe_evaluator:probe", "--seed-objectives", "dpo", "-g", "2",
            "--request-timeout", "1", "--max-retries", "0", "--max-reply-bytes", "4096",
            "--runs-dir", str(tmp_path), "--json", env={"OPENAI_API_KEY": ""},
        )  # fmt: skip
    with Archive.open(tmp_path, finished_run_id(result)) as archive:
        statuses = [c.status for c in archive.candidates() if not c.is_seed]
    assert statuses == [CandidateStatus.INVALID, CandidateStatus.INVALID]
