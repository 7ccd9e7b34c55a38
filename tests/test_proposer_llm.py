"""The `openai` proposer against a local scripted OpenAI-compatible server."""

import json
import time

import pytest

from discovery.errors import ServiceUnavailable
from discovery.llm import EndpointSettings
from discovery.objectives import load_objective
from discovery.objectives.contract import FUNCTION_NAME, PARAMETERS
from discovery.proposers.base import ProposalContext
from discovery.proposers.llm import OpenAIProposer
from discovery.proposers.parsing import MAX_CODE_CHARS, MAX_NAME_CHARS, MAX_REPLY_CHARS, MAX_THOUGHT_CHARS
from discovery.proposers.prompting import MAX_REASON_CHARS
from discovery.records import CandidateRecord, CandidateStatus
from tests.support.fake_openai import FakeOpenAI, Reply, dead_endpoint
from tests.support.proposer_contexts import GOOD, context, data_blocks, scored, static_check

BAD_IMPORT = GOOD.replace("import torch.nn.functional as F", "import os\nimport torch.nn.functional as F")
PROPOSAL = json.dumps({"thought": "Shift the margin.", "name": "Margin Logistic", "code": GOOD})


def proposer(server: FakeOpenAI, **options) -> OpenAIProposer:
    settings = {"model": "fake-model", "base_url": server.base_url, "max_retries": 2} | options
    return OpenAIProposer(EndpointSettings(**settings))


def propose_one(server: FakeOpenAI, ctx: ProposalContext | None = None, **options):
    (proposal,) = proposer(server, **options).propose(ctx or context(), 1, static_check)
    return proposal


def test_valid_json_reply_becomes_a_proposal_with_its_exchange_recorded() -> None:
    with FakeOpenAI([Reply.chat(PROPOSAL, prompt_tokens=321, completion_tokens=45)]) as server:
        proposal = propose_one(server)
    assert (proposal.name, proposal.thought, proposal.code, proposal.error) == (
        "margin_logistic",
        "Shift the margin.",
        GOOD,
        None,
    )
    (exchange,) = proposal.exchanges
    assert (exchange.prompt_tokens, exchange.completion_tokens, exchange.response) == (321, 45, PROPOSAL)
    assert exchange.cost_usd is None  # a local model has no price
    assert exchange.run_id == "run" and exchange.generation == 1 and exchange.seconds > 0
    (request,) = server.requests
    assert request.response_format == "json_schema"
    assert exchange.messages == request.messages


def test_first_prompt_carries_the_contract_figures_and_archive() -> None:
    with FakeOpenAI([Reply.chat(PROPOSAL)]) as server:
        propose_one(server)
    system, user = (message["content"] for message in server.requests[0].messages)
    assert f"def {FUNCTION_NAME}({', '.join(PARAMETERS)}):" in system
    assert "`import torch.nn.functional as F`" in system and "`import math`" in system
    assert "- fitness: win rate of the policy against the reference" in system
    archive, (parent,) = data_blocks(user)  # and the parent a reply may edit, one of the archive's
    assert parent in archive
    assert [(entry["id"], entry["origin"], entry["name"]) for entry in archive] == [
        ("seed-dpo", "shipped seed", "dpo"),
        ("seed-slic", "shipped seed", "slic"),
    ]
    assert archive[0]["result"].startswith("fitness 0.69")
    assert archive[1]["code"] == load_objective("slic").source.strip()
    assert "Results of the latest candidates" not in user


def test_feedback_prompt_reports_recent_results_and_rejections() -> None:
    rejected = CandidateRecord(
        id="g1-c0",
        run_id="run",
        generation=1,
        name="broken_idea",
        thought="t",
        code=BAD_IMPORT,
        code_hash="x",
        status=CandidateStatus.INVALID,
        stage="static",
        reason="line 3: import of `os` is not allowed",
    )
    better = scored("margin_logistic", 0.72, generation=2)
    with FakeOpenAI([Reply.chat(PROPOSAL)]) as server:
        propose_one(server, context(recent=[rejected, better]))
    user = server.requests[0].messages[1]["content"]
    assert "Results of the latest candidates" in user
    _, feedback, _ = data_blocks(user)
    assert [(entry["id"], entry["origin"], entry["name"]) for entry in feedback] == [
        ("g1-c0", "generation 1", "broken_idea"),
        ("g2-c0", "generation 2", "margin_logistic"),
    ]
    assert feedback[0]["result"] == "invalid at the static check: line 3: import of `os` is not allowed"
    assert feedback[1]["result"].startswith("fitness 0.72")


@pytest.mark.parametrize(
    "content",
    [
        f"```json\n{PROPOSAL}\n```",
        f"Here is my proposal.\n\n{PROPOSAL}\n\nI expect it to beat DPO.",
        f"<think>Maybe {{a margin}}?</think>\n```\n{PROPOSAL}\n```",
    ],
    ids=["code-fence", "prose-around", "thinking-then-fence"],
)
def test_json_wrapped_in_fences_or_prose_is_accepted_without_repair(content: str) -> None:
    with FakeOpenAI([Reply.chat(content)]) as server:
        proposal = propose_one(server)
    assert proposal.code == GOOD and proposal.error is None
    assert len(server.requests) == 1


def test_malformed_reply_gets_one_repair_turn_with_the_exact_error() -> None:
    broken = '{"thought": "x", "name": "y", "code": "def loss('  # cut off mid-string
    with FakeOpenAI([Reply.chat(broken), Reply.chat(PROPOSAL)]) as server:
        proposal = propose_one(server)
    assert proposal.code == GOOD and proposal.error is None
    assert len(proposal.exchanges) == 2
    repair = server.requests[1].messages
    assert repair[:2] == server.requests[0].messages
    assert repair[2] == {"role": "assistant", "content": broken}
    assert "invalid JSON: Unterminated string starting at: line 1 column 39" in repair[3]["content"]


def test_missing_field_is_named_in_the_repair_turn() -> None:
    missing = json.dumps({"thought": "x", "name": "y"})
    with FakeOpenAI([Reply.chat(missing), Reply.chat(PROPOSAL)]) as server:
        propose_one(server)
    assert "field `code`: Field required" in server.requests[1].messages[-1]["content"]


def test_still_malformed_after_repair_returns_an_error_proposal() -> None:
    with FakeOpenAI([Reply.chat("I cannot help with that."), Reply.chat("Still no JSON.")]) as server:
        proposal = propose_one(server)
    assert proposal.code == ""
    assert proposal.error == "still no usable reply after one repair turn: no JSON object found in the reply"
    assert len(proposal.exchanges) == 2 and len(server.requests) == 2


def test_rejected_code_gets_a_repair_turn_quoting_the_checker() -> None:
    first = json.dumps({"thought": "t", "name": "uses_os", "code": BAD_IMPORT})
    with FakeOpenAI([Reply.chat(first), Reply.chat(PROPOSAL)]) as server:
        proposal = propose_one(server)
    assert proposal.code == GOOD
    assert (
        "the candidate was rejected: line 3: import of `os` is not allowed"
        in (server.requests[1].messages[-1]["content"])
    )


def test_code_still_rejected_after_repair_is_returned_as_is_for_the_loop_to_record() -> None:
    first = json.dumps({"thought": "t", "name": "uses_os", "code": BAD_IMPORT})
    with FakeOpenAI([Reply.chat(first), Reply.chat(first)]) as server:
        proposal = propose_one(server)
    assert proposal.code == BAD_IMPORT and proposal.error is None and proposal.name == "uses_os"


@pytest.mark.parametrize(
    "failure", [Reply.status(429), Reply.status(500), Reply.status(503)], ids=["429", "500", "503"]
)
def test_rate_limits_and_server_errors_are_retried(failure: Reply) -> None:
    with FakeOpenAI([failure, Reply.chat(PROPOSAL)]) as server:
        proposal = propose_one(server)
    assert proposal.code == GOOD
    assert len(server.requests) == 2 and len(proposal.exchanges) == 1


def test_a_timeout_is_retried() -> None:
    with FakeOpenAI([Reply.delay(5.0), Reply.chat(PROPOSAL)]) as server:
        proposal = propose_one(server, timeout=0.5)
    assert proposal.code == GOOD and len(server.requests) == 2


def test_dead_endpoint_raises_proposer_unavailable() -> None:
    url = dead_endpoint()
    dead = OpenAIProposer(EndpointSettings(model="fake-model", base_url=url, max_retries=1))
    refused = f"cannot reach {url}: .*Connection refused.* \\(after 1 retry\\)"
    with pytest.raises(ServiceUnavailable, match=refused):
        dead.propose(context(), 1, static_check)


def test_endpoint_failing_after_all_retries_raises_proposer_unavailable() -> None:
    failing = pytest.raises(ServiceUnavailable, match=r"keeps failing with HTTP 500 \(after 2 retries\)")
    with FakeOpenAI([Reply.status(500)] * 3) as server, failing:
        propose_one(server)
    assert len(server.requests) == 3


def test_unknown_model_is_reported_as_unavailable() -> None:
    refused = pytest.raises(
        ServiceUnavailable, match="does not serve model 'fake-model': model 'fake-model' not"
    )
    with FakeOpenAI([Reply.status(404, "model 'fake-model' not found")]) as server, refused:
        propose_one(server)


def test_unsupported_structured_output_falls_back_and_stays_fallen_back() -> None:
    with FakeOpenAI([Reply.chat(PROPOSAL)] * 2, reject_response_format={"json_schema"}) as server:
        chosen = proposer(server)
        first, second = chosen.propose(context(), 2, static_check)
    assert [request.response_format for request in server.requests] == [
        "json_schema",
        "json_object",
        "json_object",
    ]
    assert first.exchanges[0].error == "response_format json_schema is not supported"
    assert first.code == second.code == GOOD


def test_batch_names_are_unique_and_the_second_prompt_names_the_first() -> None:
    dpo_again = json.dumps({"thought": "t", "name": "DPO", "code": GOOD})
    with FakeOpenAI([Reply.chat(dpo_again)] * 2) as server:
        first, second = proposer(server).propose(context(), 2, static_check)
    assert (first.name, second.name) == ("dpo_2", "dpo_3")
    assert (
        "Already proposed in this generation, so propose something different: dpo_2."
        in (server.requests[1].messages[1]["content"])
    )


def test_priced_model_gets_a_cost_estimate() -> None:
    with FakeOpenAI([Reply.chat(PROPOSAL, prompt_tokens=1_000_000, completion_tokens=0)]) as server:
        priced = OpenAIProposer(EndpointSettings(model="gpt-4o-2024-08-06", base_url=server.base_url))
        (proposal,) = priced.propose(context(), 1, static_check)
    assert proposal.exchanges[0].cost_usd == pytest.approx(2.50)


NOT_A_COMPLETION = json.dumps(
    {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}
)
# Bodies a broken or hostile endpoint answers with, and what the candidate's reason then says.
BAD_BODIES = {
    "non-json-200": (Reply.raw_body(b"upstream said no"), "is not a chat completion: 'upstream said no'"),
    "empty-200": (Reply.raw_body(b""), "is not a chat completion: 'an empty body'"),
    "html-200": (
        Reply.raw_body(b"<html><body>Welcome to nginx</body></html>", content_type="text/html"),
        "is not a chat completion: '<html><body>Welcome to nginx</body></html>'",
    ),
    "json-not-a-completion": (Reply.raw_body(b'{"status": "ok"}'), "is not a chat completion"),
    "json-array": (Reply.raw_body(b"[1, 2, 3]"), "is not a chat completion: '[1, 2, 3]'"),
    "nested-too-deep": (Reply.raw_body(b"[" * 100_000), "is not a chat completion: '[[["),
    "no-message-text": (Reply.raw_body(NOT_A_COMPLETION.encode()), "the completion holds no message text"),
    "truncated": (Reply.truncated(Reply.chat(PROPOSAL), keep=60), "the reply broke off after 60 bytes"),
    "corrupt-encoding": (
        Reply(raw=b"not gzip at all", headers={"Content-Encoding": "gzip"}),
        "the reply broke off after 0 bytes",
    ),
    "oversized": (Reply.chat("x" * 300_000), "the reply is longer than 200000 bytes and was cut off"),
    "stalls-after-headers": (Reply.stall(30.0), "the reply broke off after 0 bytes: timed out"),
}


@pytest.mark.parametrize(("reply", "reason"), list(BAD_BODIES.values()), ids=list(BAD_BODIES))
def test_a_body_that_is_no_completion_is_a_malformed_reply(reply: Reply, reason: str) -> None:
    """Once, it costs the repair turn; twice, the proposal carries the reason: never a traceback."""
    with FakeOpenAI([reply, Reply.chat(PROPOSAL), reply, reply]) as server:
        repaired = propose_one(server, timeout=1.0, max_reply_bytes=200_000)
        failed = propose_one(server, timeout=1.0, max_reply_bytes=200_000)
    assert repaired.code == GOOD and reason in repaired.exchanges[0].error
    assert reason in server.requests[1].messages[-1]["content"]  # the repair turn names the problem
    assert failed.code == "" and failed.error.startswith("still no usable reply after one repair turn: ")
    assert reason in failed.error and all(reason in exchange.error for exchange in failed.exchanges)
    assert len(server.requests) == 4  # bodies are not retried: only the repair turn asks again


def test_a_trickling_reply_is_cut_off_at_the_deadline() -> None:
    """One byte every 0.2 s would take a minute; the whole body gets `timeout` seconds."""
    slow = Reply.trickle(Reply.chat(PROPOSAL), every_s=0.2)
    with FakeOpenAI([slow, slow]) as server:
        started = time.monotonic()
        proposal = propose_one(server, timeout=1.0)
        elapsed = time.monotonic() - started
    assert proposal.error.endswith("the reply did not finish within 1 s and was cut off")
    assert elapsed < 2 * (1.0 + 0.2) + 1.0  # two requests, each its timeout and one more byte


def test_a_server_that_never_answers_is_given_up_within_timeout_times_attempts() -> None:
    timeout, retries = 0.5, 2
    backoff = 0.5 + 1.0  # the openai client's delays before the two retries, at most
    with FakeOpenAI([Reply.delay(60.0)] * (retries + 1)) as server:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable, match=r"did not answer within 0.5 s \(after 2 retries\)"):
            propose_one(server, timeout=timeout, max_retries=retries)
        elapsed = time.monotonic() - started
    assert len(server.requests) == retries + 1
    assert elapsed < timeout * (retries + 1) + backoff + 1.0


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        (
            "thought",
            "t" * (MAX_THOUGHT_CHARS + 1),
            f"field `thought`: String should have at most {MAX_THOUGHT_CHARS}",
        ),
        ("name", "n" * (MAX_NAME_CHARS + 1), f"field `name`: String should have at most {MAX_NAME_CHARS}"),
        ("code", GOOD + "#" * MAX_CODE_CHARS, f"field `code`: String should have at most {MAX_CODE_CHARS}"),
    ],
    ids=["thought", "name", "code"],
)
def test_an_over_long_field_is_a_malformed_reply(field: str, value: str, limit: str) -> None:
    long = json.dumps({"thought": "t", "name": "n", "code": GOOD} | {field: value})
    with FakeOpenAI([Reply.chat(long), Reply.chat(PROPOSAL), Reply.chat(long), Reply.chat(long)]) as server:
        repaired = propose_one(server)
        failed = propose_one(server)
    assert repaired.code == GOOD and limit in server.requests[1].messages[-1]["content"]
    assert failed.code == "" and limit in failed.error


def test_a_huge_reply_is_refused_before_it_is_searched_and_sent_back_clipped() -> None:
    huge = "{" * (MAX_REPLY_CHARS + 1)
    with FakeOpenAI([Reply.chat(huge), Reply.chat(PROPOSAL)]) as server:
        proposal = propose_one(server)
    assert proposal.code == GOOD
    repair = server.requests[1].messages
    assert f"a proposal fits in {MAX_REPLY_CHARS:,}" in repair[-1]["content"]
    assert len(repair[-2]["content"]) < MAX_REPLY_CHARS + 100  # the echoed reply, clipped


def test_prompts_never_resend_huge_stored_text() -> None:
    """A candidate archived with a 5 MB thought and code (before the limits) costs a bounded prompt."""
    bloated = scored("bloated", 0.7, generation=1).model_copy(
        update={"thought": "idea " * 1_000_000, "code": GOOD + "#" * 5_000_000, "reason": "r" * 100_000}
    )
    failed = bloated.model_copy(update={"id": "g2-c0", "status": CandidateStatus.FAILED, "figures": None})
    with FakeOpenAI([Reply.chat(PROPOSAL)]) as server:
        propose_one(server, context(recent=[bloated, failed]))
    user = server.requests[0].messages[1]["content"]
    assert len(user) < 4 * (MAX_THOUGHT_CHARS + MAX_CODE_CHARS) + 3 * MAX_REASON_CHARS + 10_000
    assert "more characters not shown" in user
