"""`discover run` with the openai proposer against a scripted local endpoint: every kind of reply
and failure ends up in the archive with the right status and reason, and the run completes."""

import json

import tests.probe_evaluator  # noqa: F401  (registers the "probe" evaluator)
from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.llm import EndpointSettings
from discovery.objectives import PARAMETERS
from discovery.proposers.llm import OpenAIProposer
from discovery.records import CandidateStatus, RunStatus
from discovery.runner import start_run
from tests.fake_openai import MODEL, FakeOpenAI, Reply, dead_endpoint

SIGNATURE = f"def loss({', '.join(PARAMETERS)}):"
PROLOGUE = (
    "import torch\nimport torch.nn.functional as F\n\n\n" + SIGNATURE + "\n"
    "    z = beta * ((policy_chosen_logps - reference_chosen_logps)"
    " - (policy_rejected_logps - reference_rejected_logps))\n"
)


def objective(body: str) -> str:
    return PROLOGUE + f"    return {body}\n"


def as_json(name: str, code: str) -> str:
    return json.dumps({"thought": f"try {name}", "name": name, "code": code})


SHARP = objective("-F.logsigmoid(2 * z)")
EXPONENTIAL = objective("torch.exp(-z)")
SMOOTH_HINGE = objective("F.softplus(1 - z)")
SOFT = objective("-F.logsigmoid(z / 2)")
MIXED = objective("0.5 * torch.exp(-z) + torch.relu(1 - z)")
SKEWED = objective("-F.logsigmoid(z) + 0.3 * torch.relu(-z)")
DPO_RESPELLED = objective("F.softplus(-z)")
FORBIDDEN = "import os\n\n\n" + SIGNATURE + "\n    return os.getcwd()\n"
CRASHING = objective("torch.relu(0.5 - z)  # CRASH")

SCRIPT = [
    Reply.chat(as_json("sharp_logistic", SHARP)),  # g1: bare JSON
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
    Reply.chat(as_json("soft_logistic", SOFT)),
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
        config = RunConfig(
            generations=10, evaluator="probe", proposer="openai", seed_objectives=["dpo", "slic"]
        )
        outcome = start_run(tmp_path, config)

    assert outcome.run.status == RunStatus.FINISHED and outcome.stopped_reason is None
    with Archive.open(tmp_path, outcome.run.id) as archive:
        by_generation = {c.generation: c for c in archive.candidates() if not c.is_seed}
        exchanges = archive.exchanges()
        tokens = archive.tokens_spent()

    statuses = {g: (c.status, c.name) for g, c in by_generation.items()}
    assert statuses[1] == (CandidateStatus.SCORED, "sharp_logistic")
    assert statuses[2] == (CandidateStatus.SCORED, "exponential")
    assert statuses[3] == (CandidateStatus.SCORED, "smooth_hinge")
    assert by_generation[4].status == CandidateStatus.INVALID and by_generation[4].stage == "reply"
    assert by_generation[5].status == CandidateStatus.INVALID and by_generation[5].stage == "static"
    assert "os" in by_generation[5].reason
    assert by_generation[6].status == CandidateStatus.DUPLICATE and "dpo" in by_generation[6].reason
    assert statuses[7] == (CandidateStatus.SCORED, "soft_logistic")
    assert statuses[8] == (CandidateStatus.SCORED, "mixed_tails")
    assert statuses[9] == (CandidateStatus.SCORED, "skewed_logistic")
    assert by_generation[10].status == CandidateStatus.FAILED and "NaN" in by_generation[10].reason

    # the repair turns quote the exact error back to the model
    repair_prompts = [r.messages[-1]["content"] for r in server.requests if len(r.messages) > 2]
    assert any("os" in text for text in repair_prompts)
    assert any("dpo" in text.lower() for text in repair_prompts)
    assert tokens[0] > 0 and tokens[1] > 0 and len(exchanges) >= 10


def test_dead_endpoint_stops_the_run_with_a_message_and_keeps_the_archive(tmp_path) -> None:
    from tests.cli import discover

    result = discover(
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
