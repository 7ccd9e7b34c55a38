"""The hostile corpus through the commands a user runs: `discover validate`, `discover evaluate`, and
a `discover run` whose LLM offers every file. Each is refused with its stage and reason; nothing
trains that the sandbox refused, and the run itself goes on to the end."""

import json
import re
from pathlib import Path

import pytest

import tests.support.probe_evaluator  # noqa: F401  (registers the "probe" evaluator)
from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.llm import EndpointSettings
from discovery.proposers.llm import OpenAIProposer
from discovery.records import CandidateStatus, RunStatus
from discovery.runner import start_run
from tests.support.commands import discover_subprocess
from tests.support.fake_openai import MODEL, FakeOpenAI, Reply

CORPUS = sorted((Path(__file__).parent / "hostile").glob("*.py"))


def header(path: Path, key: str) -> str:
    match = re.search(rf"^# {key}: (.+)$", path.read_text(), re.MULTILINE)
    assert match, f"{path.name} lacks a '# {key}:' header"
    return match.group(1).strip()


def test_discover_validate_rejects_every_file_at_its_stage() -> None:
    result = discover_subprocess(
        "validate", *map(str, CORPUS), "--json", "--timeout", "1.5", "--memory-mb", "512"
    )
    assert result.returncode == 1, result.stderr
    verdicts = {Path(r["file"]).name: r for r in json.loads(result.stdout)["results"]}
    for path in CORPUS:
        verdict = verdicts[path.name]
        assert not verdict["ok"] and verdict["stage"] == header(path, "expect"), path.name
        assert header(path, "reason").lower() in verdict["reason"].lower(), path.name


@pytest.mark.parametrize(
    "name", ["import_os.py", "match_class_pattern.py", "torch_cond.py", "module_dict_item_assignment.py"]
)
def test_discover_evaluate_refuses_them_in_one_line_before_any_training(tmp_path, name: str) -> None:
    path = Path(__file__).parent / "hostile" / name
    result = discover_subprocess("evaluate", str(path), "--set", "preset=tiny", "--runs-dir", str(tmp_path))
    assert result.returncode == 2
    assert "rejected by the static gate" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir()), "nothing was built or trained"


def test_a_run_whose_llm_offers_the_whole_corpus_records_each_refusal_and_finishes(tmp_path, monkeypatch):
    # each file is offered, then offered again in the repair turn that quotes the rejection
    script = [Reply.proposal(path.stem, path.read_text()) for path in CORPUS for _ in range(2)]
    with FakeOpenAI(script) as server:
        endpoint = EndpointSettings(model=MODEL, base_url=server.base_url, max_retries=0)
        monkeypatch.setattr("discovery.runner.make_proposer", lambda config: (OpenAIProposer(endpoint), None))
        config = RunConfig(
            generations=1,
            population=len(CORPUS),
            evaluator="probe",
            proposer="openai",
            seed_objectives=["dpo"],
            search={"islands": 1},  # one request after another, in the corpus's order
        )
        outcome = start_run(tmp_path, config)
    assert outcome.run.status == RunStatus.FINISHED
    with Archive.open(tmp_path, outcome.run.id) as archive:
        offered = archive.candidates(generation=1)
    assert len(offered) == len(CORPUS)
    stages = {header(path, "expect") for path in CORPUS}
    for candidate, path in zip(offered, CORPUS, strict=True):
        assert candidate.status == CandidateStatus.INVALID, path.name
        assert candidate.stage == header(path, "expect") and candidate.stage in stages, path.name
        assert candidate.attempts == 0, "nothing the sandbox refused was trained"
