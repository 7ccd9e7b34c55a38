"""A training's deadline follows its task: candidates that pass the sandbox's probes and hang or crawl
only in training are killed at a multiple of the baseline's measured training time on the same task
and preset, not at a deadline sized for the largest task.

`tests/hostile/training_size/` holds such candidates: harmless on every batch the validator probes,
bad on the first step of a training, where the policy still is the reference.
"""

import os
import re
from pathlib import Path

import pytest

from discovery.config import RunConfig
from discovery.dry_run import plan_text
from discovery.execution.executor import JobState
from discovery.execution.job import JobSettings
from discovery.execution.local import LocalExecutor
from discovery.objectives import Objective
from discovery.records import TrainingPoint
from discovery.sandbox import Validator
from evaluators.base import BASELINE_FLOOR_S
from evaluators.registry import get_evaluator

TRAINING_SIZE = sorted((Path(__file__).parent / "hostile" / "training_size").glob("*.py"))


@pytest.fixture(scope="module")
def tiny():
    """The tiny sentiment task, prepared: built if needed, and its baseline timed."""
    evaluator = get_evaluator("sentiment", {"preset": "tiny"}, Path(os.environ["DISCOVER_CACHE"]))
    evaluator.prepare()
    return evaluator


def test_the_deadline_is_derived_from_the_baseline_and_shown_by_the_dry_run(tiny, tmp_path):
    limits = tiny.limits()
    assert limits.baseline_s is not None and limits.timeout_s == max(BASELINE_FLOOR_S, 10 * limits.baseline_s)
    assert limits.cpu_seconds(threads=2) == 3 * limits.timeout_s
    shown = plan_text(RunConfig(evaluator_options={"preset": "tiny"}), tmp_path, width=200)
    assert f"# training_deadline: {limits.timeout_s:g} s (" in shown
    assert f"x the baseline's measured {limits.baseline_s:.3g} s, at least {BASELINE_FLOOR_S:g} s)" in shown
    raised = RunConfig(evaluator_options={"preset": "tiny"}, executor={"training_timeout": "30m"})
    assert "# training_deadline: 1800 s (the run's training_timeout)" in plan_text(
        raised, tmp_path, width=200
    )


@pytest.mark.slow  # two real trainings wait out the task's deadline
def test_candidates_that_hang_or_crawl_only_in_training_time_out_within_the_tasks_deadline(tiny, tmp_path):
    with Validator() as validator:
        for path in TRAINING_SIZE:
            verdict = validator.validate(path.read_text())
            assert verdict.ok, (path.name, verdict.reason)  # harmless at every probe size
    limits = tiny.limits()
    settings = JobSettings.of(tiny)
    first = [TrainingPoint(seed=0, beta=tiny.betas()[0])]
    jobs = [
        settings.job(
            Objective(name=path.stem, source=path.read_text(), origin="test"), first, tmp_path / path.stem
        )
        for path in TRAINING_SIZE
    ]
    with LocalExecutor(slots=len(jobs)) as executor:  # side by side: one deadline's wait for both
        submitted = [(executor.submit(job), job) for job in jobs]
        while any(executor.status(*pair).state is JobState.RUNNING for pair in submitted):
            executor.wait(1.0)
        outcomes = {job.objective.name: executor.status(job_id, job).outcome for job_id, job in submitted}
    assert set(outcomes) == {"hang_at_training_size", "crawl_at_training_size"}
    for name, outcome in outcomes.items():
        assert outcome is not None and outcome.failure, (name, outcome)
        found = re.search(r"timed out after (\d+) s \(limit ([\d.]+) x the baseline's", outcome.failure)
        assert found, (name, outcome.failure)
        assert int(found[1]) <= limits.timeout_s + 1, outcome.failure  # killed at the task's deadline
        assert float(found[2]) == pytest.approx(limits.timeout_s / limits.baseline_s, rel=0.01)
