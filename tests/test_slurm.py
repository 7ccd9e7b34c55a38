"""Runs on a real Slurm cluster: the single-node one `.ci/slurm-cluster start` sets up on this machine.

The tests are skipped where no cluster answers, except under `DISCOVER_REQUIRE_SLURM=1` (CI sets it),
where a missing cluster fails them.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from discovery.archive import Archive
from discovery.records import CandidateStatus
from tests.support.commands import discover_subprocess
from tests.support.live_runs import rows

pytestmark = pytest.mark.slow  # real training through a Slurm cluster


def _cluster_answers() -> bool:
    if shutil.which("sinfo") is None:
        return False
    try:
        found = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0 and any(s in found.stdout for s in ("idle", "mix", "alloc"))


if not _cluster_answers():
    if os.environ.get("DISCOVER_REQUIRE_SLURM") == "1":
        pytest.fail("no Slurm cluster answers; start one with `.ci/slurm-cluster start`", pytrace=False)
    pytest.skip("no Slurm cluster answers (`.ci/slurm-cluster start` sets one up)", allow_module_level=True)


def config(tmp_path: Path, **slurm) -> Path:
    """A tiny sentiment run on Slurm: 2 shipped objectives and 2 proposals, each job wanting every
    core, so one runs while the other waits in the queue. One seed at one beta and no transfer: each
    candidate is one job of one training, so what a test does to a job is what its candidate shows."""
    path = tmp_path / "run.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "generations": 1,
                "population": 2,
                "proposer": "builtin",
                "seed_objectives": ["dpo", "slic"],
                "seeds": 1,
                "transfer": {"top": 0},
                "evaluator_options": {"preset": "tiny", "betas": [0.1]},
                "executor": {
                    "kind": "slurm",
                    "workers": 2,
                    "slurm": {"cpus_per_job": os.cpu_count(), "time_limit_min": 10, **slurm},
                },
            }
        )
    )
    return path


def start(tmp_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "discovery.cli", "run", *args, "--runs-dir", str(tmp_path / "runs"), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def states(runs: Path) -> dict[str, tuple[str, str | None]]:
    """Candidate id -> (status, Slurm job id), read as a user would, while the run writes."""
    found = rows(runs, "SELECT id, status, job FROM candidates")
    return {cid: (status, json.loads(job)["id"] if job else None) for cid, status, job in found}


def queued_jobs(job_ids: set[str]) -> dict[str, str]:
    listed = subprocess.run(["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True, check=True)
    jobs = dict(line.split() for line in listed.stdout.splitlines() if line.strip())
    return {job: state for job, state in jobs.items() if job in job_ids}


def wait_for(condition, seconds: float = 300, what: str = "the run") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} did not get there in {seconds} s")


def run_id(tmp_path: Path) -> str:
    (folder,) = [p for p in (tmp_path / "runs").iterdir() if p.name != "cache"]
    return folder.name


def test_a_run_killed_while_jobs_wait_in_the_queue_resumes_and_trains_each_candidate_once(tmp_path):
    process = start(tmp_path, "--config", str(config(tmp_path)))
    runs = tmp_path / "runs"

    def one_running_one_queued() -> bool:
        assert process.poll() is None, process.communicate()
        jobs = {job for _, job in states(runs).values() if job}
        return sorted(queued_jobs(jobs).values()) == ["PENDING", "RUNNING"]

    try:
        wait_for(one_running_one_queued, what="one job running and one queued")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    in_flight = {cid: job for cid, (status, job) in states(runs).items() if status == "running"}
    assert len(in_flight) == 2

    resumed = discover_subprocess(
        "run", "--resume", run_id(tmp_path), "--runs-dir", str(runs), "--json", timeout=900
    )
    assert resumed.returncode == 0, resumed.stderr
    with Archive.open(runs, run_id(tmp_path)) as archive:
        candidates = archive.candidates()
    evaluated = [c for c in candidates if c.job is not None]
    assert all(c.status in (CandidateStatus.SCORED, CandidateStatus.FAILED) for c in evaluated)
    # nothing trained twice: the jobs in flight at the kill were waited for, not submitted again
    assert all(c.attempts == 1 for c in evaluated)
    assert {cid: c.job.id for cid, c in ((c.id, c) for c in evaluated) if cid in in_flight} == in_flight
    submitted = [p for p in (runs / run_id(tmp_path) / "slurm").iterdir() if p.is_dir()]
    assert len(submitted) == len(evaluated)
    assert queued_jobs({c.job.id for c in evaluated}) == {}


def test_jobs_the_cluster_cancels_or_kills_are_submitted_again(tmp_path):
    """A queued job cancelled, and a running one whose processes all die at once (a node failure,
    the OOM killer): each leaves the queue without a result and is submitted again, once. (A plain
    `scancel` of a running job sends SIGTERM first, which submitit's job process ignores, so a short
    job may still finish in Slurm's grace time; its result then counts, rightly.)"""
    process = start(tmp_path, "--config", str(config(tmp_path)), "--seed-objectives", "dpo")
    runs = tmp_path / "runs"
    ended: dict[str, str] = {}

    def end_one_queued_and_one_running_job() -> bool:
        assert process.poll() is None, process.communicate()
        jobs = queued_jobs({job for _, job in states(runs).values() if job})
        by_state = {state: job for job, state in jobs.items()}
        pids = processes_of(by_state["RUNNING"]) if {"PENDING", "RUNNING"} <= set(by_state) else []
        if pids:
            subprocess.run(["scancel", by_state["PENDING"]], check=True)
            kill(pids)
            ended.update(by_state)
        return bool(ended)

    wait_for(end_one_queued_and_one_running_job, what="one job running and one queued")
    _, err = process.communicate(timeout=900)
    assert process.returncode == 0, err
    with Archive.open(runs, run_id(tmp_path)) as archive:
        again = {c.id: c for c in archive.candidates() if c.attempts == 2}
    assert len(again) == 2, "each ended job was submitted once more"
    assert all(c.status is CandidateStatus.SCORED for c in again.values())
    assert not {c.job.id for c in again.values()} & {ended["PENDING"], ended["RUNNING"]}


def processes_of(job: str) -> list[int]:
    """The pids of a running job on this node (the cluster's only one); none while its step starts."""
    listed = subprocess.run(["scontrol", "listpids", job], capture_output=True, text=True)
    if listed.returncode != 0:
        return []
    return [int(line.split()[0]) for line in listed.stdout.splitlines()[1:] if line.split()]


def kill(pids: list[int]) -> None:
    """SIGKILL every listed process at once."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_requeued_job_runs_again_under_its_id(tmp_path):
    """Preemption with requeue: the running job is requeued and its processes die at once; Slurm runs
    it again under its id, and the candidate is scored once, on its first attempt."""
    process = start(tmp_path, "--config", str(config(tmp_path)), "--seed-objectives", "dpo")
    runs = tmp_path / "runs"
    requeued: list[str] = []

    def requeue_a_running_job() -> bool:
        assert process.poll() is None, process.communicate()
        jobs = {job for _, job in states(runs).values() if job}
        running = [job for job, state in queued_jobs(jobs).items() if state == "RUNNING"]
        pids = processes_of(running[0]) if running and not requeued else []
        if pids:  # listed before the requeue: once requeued, the job has no processes to list
            subprocess.run(["scontrol", "requeue", running[0]], check=True)
            kill(pids)
            requeued.append(running[0])
        return bool(requeued)

    def back_in_the_queue() -> bool:
        """Slurm holds a requeued job for two minutes before it may start again; not here."""
        if queued_jobs(set(requeued)).get(requeued[0]) != "PENDING":
            return False
        subprocess.run(["scontrol", "update", f"jobid={requeued[0]}", "StartTime=now"], check=True)
        return True

    wait_for(requeue_a_running_job, what="a running job")
    wait_for(back_in_the_queue, seconds=60, what="the requeued job")
    _, err = process.communicate(timeout=900)
    assert process.returncode == 0, err
    with Archive.open(runs, run_id(tmp_path)) as archive:
        (candidate,) = [c for c in archive.candidates() if c.job and c.job.id == requeued[0]]
    assert candidate.status is CandidateStatus.SCORED and candidate.attempts == 1


def test_a_partition_the_cluster_refuses_is_one_line_and_loses_nothing(tmp_path):
    result = discover_subprocess(
        "run", "--config", str(config(tmp_path, partition="no-such-partition")),
        "--runs-dir", str(tmp_path / "runs"), "--json", timeout=600,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Slurm refused the job: allocation failure: Invalid partition name" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    runs = tmp_path / "runs"
    assert not runs.exists() or not any(p.name != "cache" for p in runs.iterdir()), "no half-made run"
