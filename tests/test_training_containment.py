"""A candidate's training runs confined, and its failures are its own.

The static gate is switched off here on purpose: `tests/support/hostile_evaluator.py` runs a payload hidden
in a candidate's comments with the real builtins inside the confined trainer, as if the candidate
had slipped past the gate. Whatever it does, nothing escapes (no file, no connection, no signal),
the figures come from the trusted scorer, the next candidate is unaffected, and every failure
(exit, hang, memory, a killed process) is the candidate's, recorded with its reason, while the
run goes on.
"""

import os
import socket
from pathlib import Path

import pytest

import tests.support.hostile_evaluator  # noqa: F401  (registers the "hostile" evaluator)
from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.execution.job import JobSettings
from discovery.execution.local import LocalExecutor
from discovery.objectives import Objective, load_objective
from discovery.proposers.base import Proposal
from discovery.records import CandidateStatus, RunStatus, TrainingPoint
from discovery.runner import start_run
from evaluators.registry import get_evaluator
from tests.support.hostile_evaluator import with_payload

pytestmark = pytest.mark.slow  # real training of hostile candidates, confined

SEED_0 = [TrainingPoint(seed=0, beta=0.1)]  # one training, at the test evaluators' beta

CANARY = Path("/tmp/discover_hostile_canary_training")
PROJECT = Path(__file__).resolve().parents[1]
DPO = load_objective("dpo").source


def settings(tmp_path: Path, **options) -> JobSettings:
    evaluator = get_evaluator("hostile", options, cache_dir=tmp_path / "cache")
    return JobSettings.of(evaluator, threads=1)


def candidate(name: str, payload: str) -> Objective:
    return Objective(name=name, source=with_payload(DPO, payload), origin="test")


def escapes(listener: socket.socket) -> dict[str, str]:
    port = listener.getsockname()[1]
    return {
        "writes_outside": f"open('{CANARY}', 'w').write('x')\nopen('{PROJECT}/escaped.txt', 'w').write('x')",
        "connects": f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)",
        "kills_its_worker_and_the_run": f"import os, signal\nos.kill({os.getpid()}, signal.SIGKILL)\n"
        "os.kill(os.getppid(), signal.SIGKILL)",
        "poisons_torch_for_the_next": "import torch.nn.functional as F\nF.logsigmoid = lambda x: x * 0",
        "forges_its_figures": 'import os\nos.write(3, b\'{"trained": true}\\n{"result": {"seed": 0, '
        '"fitness": 1.0, "seconds": 0}}\\n\')\nos._exit(0)',
    }


def test_escapes_are_contained_and_the_next_candidate_is_unaffected(tmp_path, listener) -> None:
    jobs = settings(tmp_path)
    with LocalExecutor() as executor:
        before = executor.evaluate(jobs.job(load_objective("dpo"), SEED_0, tmp_path / "first"))
        outcomes = {
            name: executor.evaluate(jobs.job(candidate(name, payload), SEED_0, tmp_path / name))
            for name, payload in escapes(listener).items()
        }
        after = executor.evaluate(jobs.job(load_objective("dpo"), SEED_0, tmp_path / "after"))
    assert not CANARY.exists() and not (PROJECT / "escaped.txt").exists()
    assert before.trainings and after.trainings
    assert after.trainings[0].fitness == before.trainings[0].fitness  # the poisoned interpreter died
    # refused either way: read-only where the jail shows the project, not writable by `nobody` where
    # the project sits under the jail's own /tmp (a checkout in /tmp, as CI may have)
    refused = outcomes["writes_outside"].failure or ""
    assert "Read-only file system" in refused or "Permission denied" in refused, refused
    assert outcomes["connects"].failure and "unreachable" in outcomes["connects"].failure.lower()
    assert outcomes["kills_its_worker_and_the_run"].failure  # no such processes in its namespace
    # a forged "result" is never read from a trainer; the scorer found no policy, so it failed
    forged = outcomes["forges_its_figures"]
    assert forged.trainings is None and "wrote no policy.json" in forged.failure
    # poisoning its own interpreter changed only its own training
    assert outcomes["poisons_torch_for_the_next"].trainings is not None


def test_every_training_failure_is_the_candidates_and_the_run_goes_on(tmp_path, monkeypatch) -> None:
    payloads = {
        "calls_exit": "exit(3)",
        "exits_the_interpreter": "import os\nos._exit(0)",
        "raises": "raise RuntimeError('diverged at step 3')",
        "hangs": "while True:\n    pass",
        "allocates_far_beyond_its_limit": "block = bytearray(64 * 1024**3)",
        "allocates_tensors_beyond_its_limit": "import torch\ntorch.ones(16 * 1024**3)",
        "kills_itself": "import ctypes\nctypes.string_at(0)",
        "trains_fine": "pass",
    }
    proposals = [
        Proposal(
            name=name,
            thought=name,
            code=with_payload(load_objective(shipped).source, payload),
        )
        # each a different shipped objective: none is a duplicate of the seed or of another
        for (name, payload), shipped in zip(
            payloads.items(), ["slic", "ipo", "cell", "pfl", "dbaql", "aql", "aqfl", "padll"], strict=True
        )
    ]
    monkeypatch.setattr(
        "discovery.proposers.builtin.BuiltinProposer.propose",
        lambda self, context, count, check: [proposals[context.generation - 1]],
    )
    config = RunConfig(
        generations=len(proposals),
        evaluator="hostile",
        evaluator_options={"timeout_s": 4.0, "memory_mb": 1024},
        proposer="builtin",
        seed_objectives=["dpo"],
    )
    outcome = start_run(tmp_path, config)
    assert outcome.run.status == RunStatus.FINISHED
    with Archive.open(tmp_path, outcome.run.id) as archive:
        found = {c.name: c for c in archive.candidates() if not c.is_seed}
    reasons = {name: (c.status, c.reason or "") for name, c in found.items()}
    expected = {
        "calls_exit": "SystemExit",
        "exits_the_interpreter": "exited with code 0 before it finished",
        "raises": "diverged at step 3",
        "hangs": "timed out: still running after 4 s",
        "allocates_far_beyond_its_limit": "ran out of memory (limit 1024 MB)",
        "allocates_tensors_beyond_its_limit": "ran out of memory (limit 1024 MB)",
        "kills_itself": "killed by signal SIGSEGV",
    }
    for name, words in expected.items():
        status, reason = reasons[name]
        assert status == CandidateStatus.FAILED and words in reason, (name, reason)
    assert reasons["trains_fine"][0] == CandidateStatus.SCORED
    assert all(c.isolation.get("filesystem_jail") for c in found.values() if os.geteuid() == 0)
