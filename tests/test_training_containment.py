"""A candidate's training runs confined, and its failures are its own.

The static gate is switched off here on purpose: `tests/support/hostile_evaluator.py` runs a payload hidden
in a candidate's comments with the real builtins inside the confined trainer, as if the candidate
had slipped past the gate. Whatever it does, nothing escapes (no file, no connection, no signal),
the figures come from the trusted scorer, the next candidate is unaffected, and every failure
(exit, hang, memory, a killed process) is the candidate's, recorded with its reason, while the
run goes on.
"""

import os
import secrets
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
from discovery.sandbox.process import OutputLog
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
        "hangs": "timed out after 4 s (limit 4 s)",
        "allocates_far_beyond_its_limit": "ran out of memory (limit 1024 MB)",
        "allocates_tensors_beyond_its_limit": "ran out of memory (limit 1024 MB)",
        "kills_itself": "killed by signal SIGSEGV",
    }
    for name, words in expected.items():
        status, reason = reasons[name]
        assert status == CandidateStatus.FAILED and words in reason, (name, reason)
    assert reasons["trains_fine"][0] == CandidateStatus.SCORED
    assert all(c.isolation.get("filesystem_jail") for c in found.values() if os.geteuid() == 0)


# Searches the trainer's memory (anonymous mappings: heap, stack with the initial environment block,
# the interpreter's arenas) and os.environ for the key, which it knows only reversed, so that its own
# needle is the one copy it must skip (and its read buffer, which holds what it just read).
KEY_SEARCH = """
import ctypes, os
needle = bytes(reversed({reversed_key!r}))
places = ["os.environ"] if any(needle in value for value in os.environb.values()) else []
buffer = bytearray(1 << 20)
start_of_buffer = ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))
skipped = [(start_of_buffer, start_of_buffer + len(buffer)), (id(needle), id(needle) + 64 + len(needle))]
for line in open("/proc/self/maps").read().splitlines():
    fields = line.split()
    anonymous = len(fields) < 6 or fields[5] in ("[heap]", "[stack]")
    if fields[1][0] != "r" or not anonymous:
        continue
    start, end = (int(part, 16) for part in fields[0].split("-"))
    for offset in range(start, end, len(buffer) - 256):
        size = min(len(buffer), end - offset)
        ctypes.memmove(start_of_buffer, offset, size)
        hit = buffer.find(needle, 0, size)
        while hit >= 0:
            if not any(low <= offset + hit < high for low, high in skipped):
                places.append(fields[5] if len(fields) > 5 else "anonymous memory")
            hit = buffer.find(needle, hit + 1, size)
if places:
    raise RuntimeError("the key is in " + ", ".join(sorted(set(places))))
"""


def workers_environments() -> list[bytes]:
    """The initial environment of each evaluation worker this process started."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if b"discovery.execution.worker" in (entry / "cmdline").read_bytes():
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                    found.append((entry / "environ").read_bytes())
        except (OSError, ValueError, IndexError):
            continue
    return found


@pytest.mark.parametrize("evaluator", ["hostile", "hostile-judged"])
def test_only_a_worker_whose_evaluator_calls_an_endpoint_holds_its_key(tmp_path, monkeypatch, evaluator):
    """A training worker of an evaluator that never calls an endpoint never receives the key, so
    neither its environment nor the confined trainer it forks (a copy of its memory) holds it."""
    key = f"sk-canary-{secrets.token_hex(12)}"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    search = KEY_SEARCH.format(reversed_key=key.encode()[::-1])
    jobs = JobSettings.of(get_evaluator(evaluator, {}, cache_dir=tmp_path / "cache"), threads=1)
    with LocalExecutor() as executor:
        outcome = executor.evaluate(jobs.job(candidate("searches", search), SEED_0, tmp_path / "job"))
        environments = workers_environments()
    assert len(environments) == 1
    if evaluator == "hostile":
        assert key.encode() not in environments[0]
        assert outcome.trainings is not None, outcome.failure  # the search found nothing
    else:  # a judged evaluator's scorer needs the key: its worker has it (so the search can find it)
        assert key.encode() in environments[0]
        assert outcome.failure and "the key is in" in outcome.failure


# A warning on every call, and lines that differ every time: 40 MB of output from one training.
FLOOD = """
import sys, warnings
warnings.simplefilter("always")
for step in range(20000):
    warnings.warn("the same warning on every call")
for step in range(300000):
    print(f"step {step}: a warning that differs every time " + "x" * 90, file=sys.stderr)
"""


def test_a_flood_of_output_reaches_the_host_log_capped_deduplicated_and_recorded(tmp_path) -> None:
    """A candidate cannot fill the host's disk through the worker's log: a repeated line is copied
    once, the rest stops at the candidate's cap, the log says what was dropped, and it still scores."""
    log = tmp_path / "workers.log"
    jobs = settings(tmp_path, timeout_s=60.0)
    with LocalExecutor(log=log) as executor:
        flooded = executor.evaluate(jobs.job(candidate("floods", FLOOD), SEED_0, tmp_path / "floods"))
    text = log.read_text()
    assert flooded.trainings is not None, flooded.failure
    assert log.stat().st_size < 5 * 2**20  # 40 MB written, 4 MiB a candidate copied
    assert text.count("the same warning on every call") == 1
    assert "[discover] output of candidate 'floods': 19999 repeated lines not copied" in text
    assert "bytes dropped over the caps (its 4 MiB, the log's 256 MiB)" in text


def test_no_output_is_copied_once_the_log_holds_the_runs_cap(capfd) -> None:
    """Every worker of a run writes into one log: once it holds the cap, no candidate adds to it
    beyond the one line that says what was dropped."""
    first = OutputLog("candidate 'a'", max_log_bytes=2000)
    first.write(b"".join(f"line {number}\n".encode() for number in range(1000)))
    first.close()
    second = OutputLog("candidate 'b'", max_log_bytes=2000)
    second.write(b"the next candidate's line\n")
    second.close()
    copied = capfd.readouterr().err
    assert "line 0\n" in copied and "line 999" not in copied and "the next candidate's line" not in copied
    assert len(copied.encode()) < 2000 + 2 * 200
    assert "[discover] output of candidate 'b': 0 repeated lines not copied, and 26 bytes dropped" in copied
