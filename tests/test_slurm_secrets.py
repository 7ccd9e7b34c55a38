"""A Slurm job whose evaluator calls no endpoint never holds the endpoint's key: its script unsets it
after the user's setup lines (the job inherits the submitting shell's environment)."""

from pathlib import Path

import pytest

from discovery.config import SlurmSettings
from discovery.execution.job import JobSettings
from discovery.execution.slurm import SlurmExecutor
from discovery.objectives import load_objective
from discovery.records import TrainingPoint


@pytest.mark.parametrize(("calls_endpoint", "unset"), [(False, True), (True, False)])
def test_the_job_script_unsets_the_key_unless_its_evaluator_calls_an_endpoint(
    tmp_path: Path, monkeypatch, calls_endpoint: bool, unset: bool
) -> None:
    executor = SlurmExecutor(SlurmSettings(setup=["source venv/bin/activate"]), tmp_path / "slurm", slots=1)
    submitted: list[dict] = []

    class Submitted:
        job_id = "7"

    def submit(function, *arguments):
        submitted.append(dict(executor._executor.parameters))
        return Submitted()

    monkeypatch.setattr(executor._executor, "submit", submit)
    settings = JobSettings(evaluator="sentiment", cache_dir=tmp_path, calls_endpoint=calls_endpoint)
    job = settings.job(load_objective("dpo"), [TrainingPoint(seed=0, beta=0.1)], tmp_path / "job")
    assert executor.submit(job) == "7"
    setup = submitted[0]["setup"]
    assert setup[0] == "source venv/bin/activate"
    assert ("unset OPENAI_API_KEY OPENAI_BASE_URL" in setup) is unset
    if unset:
        assert setup[-1] == "unset OPENAI_API_KEY OPENAI_BASE_URL"  # after anything that could export it
