"""Executors on this machine: several candidates at once, each with its share of the cores; jobs found
again after their process ended; and the executor section of a run's configuration."""

import time
from pathlib import Path

import pytest

import tests.support.probe_evaluator  # noqa: F401  (registers the "probe" evaluator)
from discovery.archive import Archive
from discovery.config import RunConfig, build_config
from discovery.errors import UserError
from discovery.execution.executor import JobState
from discovery.execution.job import JobSettings
from discovery.execution.local import LocalExecutor
from discovery.objectives import load_objective
from discovery.records import CandidateStatus, RunStatus, TrainingPoint
from discovery.runner import make_executor, start_run
from evaluators.registry import get_evaluator
from tests.support.commands import discover_subprocess
from tests.support.hostile_evaluator import with_payload

SEED_0 = [TrainingPoint(seed=0, beta=0.1)]  # one training, at the test evaluators' beta

SLEEPY = "import time\ntime.sleep(6)"  # a training that takes six seconds, whatever the machine


@pytest.mark.slow
def test_two_workers_train_two_candidates_at_once_each_on_its_share_of_the_cores(tmp_path):
    evaluator = get_evaluator("tests.support.hostile_evaluator:hostile", {}, cache_dir=tmp_path / "cache")
    jobs = JobSettings.of(evaluator)
    sleepy = [
        load_objective(name).model_copy(update={"source": with_payload(load_objective(name).source, SLEEPY)})
        for name in ("dpo", "slic")
    ]
    with LocalExecutor(slots=2, threads_per_job=1) as executor:
        assert executor.threads_per_job == 1
        warm = [executor.submit(jobs.job(o, SEED_0, tmp_path / f"warm-{o.name}")) for o in sleepy]
        _wait_all(executor, warm, jobs, sleepy, tmp_path, "warm")
        started = time.monotonic()
        ids = [executor.submit(jobs.job(o, SEED_0, tmp_path / o.name)) for o in sleepy]
        with pytest.raises(RuntimeError, match="every local slot is busy"):
            executor.submit(jobs.job(sleepy[0], SEED_0, tmp_path / "third"))
        statuses = _wait_all(executor, ids, jobs, sleepy, tmp_path, "")
        elapsed = time.monotonic() - started
    assert all(status.outcome.trainings is not None for status in statuses)
    # one after the other they take 12 s at least; the margin absorbs a loaded machine's start-up
    assert elapsed < 10, f"two 6-second trainings took {elapsed:.1f} s: they did not run at once"


def _wait_all(executor, ids, jobs, objectives, root, prefix):
    statuses = []
    for job_id, objective in zip(ids, objectives, strict=True):
        job = jobs.job(objective, SEED_0, root / (f"{prefix}-{objective.name}" if prefix else objective.name))
        while (status := executor.status(job_id, job)).state is JobState.RUNNING:
            executor.wait(0.2)
        statuses.append(status)
    return statuses


def test_a_job_of_an_ended_process_is_lost_unless_it_left_its_outcome(tmp_path):
    evaluator = get_evaluator("probe", {}, cache_dir=tmp_path / "cache")
    jobs = JobSettings.of(evaluator)
    job = jobs.job(load_objective("dpo"), SEED_0, tmp_path / "job")
    with LocalExecutor() as first:
        job_id = first.submit(job)
        while first.status(job_id, job).state is JobState.RUNNING:
            first.wait(0.2)
    with LocalExecutor() as later:  # a resumed run, in another process, asks about the same job
        assert later.status(job_id, job).state is JobState.FINISHED
        (job.workdir / "outcome.json").unlink()
        lost = later.status(job_id, job)
    assert lost.state is JobState.LOST and "ended before it finished" in lost.reason


def test_a_run_with_two_workers_evaluates_everything_and_records_what_each_proposal_saw(tmp_path):
    config = RunConfig(
        generations=3, population=2, evaluator="probe", proposer="builtin",
        seed_objectives=["dpo", "slic", "discopop"], executor={"workers": 2},
    )  # fmt: skip
    outcome = start_run(tmp_path, config)
    assert outcome.run.status is RunStatus.FINISHED and outcome.run.generations_done == 3
    with Archive.open(tmp_path, outcome.run.id) as archive:
        candidates = archive.candidates()
    assert not [c for c in candidates if c.status in (CandidateStatus.VALIDATED, CandidateStatus.RUNNING)]
    proposals = [c for c in candidates if not c.is_seed]
    assert len(proposals) == 6 and all(c.context is not None for c in proposals)
    assert all({"best", "recent", "in_flight"} <= set(c.context) for c in proposals)
    evaluated = [c for c in candidates if c.job is not None]
    assert evaluated and all(c.job.executor == "local" and c.attempts == 1 for c in evaluated)


def test_limits_stop_proposing_and_let_what_runs_finish(tmp_path):
    config = RunConfig(
        generations=50, population=2, evaluator="probe", proposer="builtin",
        seed_objectives=["dpo"], max_candidates=3,
    )  # fmt: skip
    outcome = start_run(tmp_path, config)
    assert outcome.stopped_reason == "reached --max-candidates 3"
    with Archive.open(tmp_path, outcome.run.id) as archive:
        proposals = [c for c in archive.candidates() if not c.is_seed]
    assert len(proposals) == 4  # the request that crossed the limit is evaluated whole
    assert all(c.status is not CandidateStatus.RUNNING for c in proposals)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"executor": {"kind": "kubernetes"}}, "executor.kind: Input should be 'local' or 'slurm'"),
        ({"executor": {"workers": 0}}, "executor.workers: Input should be greater than or equal to 1"),
        ({"executor": {"kind": "slurm", "slurm": {"partitions": "gpu"}}}, "executor.slurm.partitions"),
        ({"time_limit": "soon"}, "time_limit"),
    ],
)
def test_bad_executor_settings_are_one_line(values, message):
    with pytest.raises(UserError) as raised:
        build_config(values, {})
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_workers_zero_on_the_command_line_is_refused_in_one_line(tmp_path):
    result = discover_subprocess(
        "run", "--workers", "0", "--runs-dir", str(tmp_path), cwd=tmp_path, timeout=120
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "workers" in result.stderr and "Traceback" not in result.stderr


def test_on_a_gpu_machine_each_worker_sees_only_its_own_gpus():
    assert LocalExecutor(slots=2, gpus_per_job=2, gpus=4).devices == [[0, 1], [2, 3]]
    assert LocalExecutor(slots=2, gpus=0).devices == [[], []]
    with pytest.raises(UserError, match="need 4 GPUs; this machine has 2"):
        LocalExecutor(slots=4, gpus_per_job=1, gpus=2)


def test_time_limits_read_as_durations():
    assert RunConfig(time_limit="90m").time_limit == 5400 and RunConfig(time_limit=30).time_limit == 30


@pytest.mark.parametrize(
    ("cores", "memory_gib", "gpus", "gpus_per_job", "trainer_mb", "slots"),
    [
        (2, 24, 0, 1, 4096, 2),  # this machine: one single-threaded job per core
        (64, 24, 0, 1, None, 12),  # many cores, little memory: as many as memory holds
        # sized by the trainers' limit, not by what an honest one takes: a worker and a 4 GiB trainer
        (64, 24, 0, 1, 4096, 4),
        (16, 16, 0, 1, 4096, 3),
        (1, 0.5, 0, 1, 4096, 1),  # never none
        (16, 512, 8, 2, None, 4),  # a GPU machine: one job per GPU group, whatever the cores
    ],
)
def test_unset_workers_fill_the_machine(
    monkeypatch, cores, memory_gib, gpus, gpus_per_job, trainer_mb, slots
):
    """A user who does not say --workers gets every core (or GPU group) of the machine working, as
    far as memory holds each worker with a trainer at its memory limit."""
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr("os.sysconf", {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": memory_gib * 2**30 / 4096}.get)
    monkeypatch.setattr("discovery.execution.local._visible_gpus", lambda: gpus)
    settings = RunConfig(executor={"gpus_per_job": gpus_per_job}).executor
    executor = make_executor(settings, Path("unused"), trainer_mb)
    assert executor.slots == slots
    assert executor.threads_per_job == max(1, cores // slots)  # the cores shared out
    assert make_executor(RunConfig(executor={"workers": 3}).executor, Path("unused")).slots == 3
