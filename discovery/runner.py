"""Assemble a discovery run from its configuration: archive, proposer, evaluator, sandbox.

`loop.py` holds the algorithm; this module builds each part once and handles the ways a run ends
(finished, interrupted by the user, stopped because a service it needs died), so that every ending
leaves the archive consistent and says how to resume. The caller hands in the observer that shows
progress (the live display, or nothing).
"""

import contextlib
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

from discovery.archive import ARCHIVE_FILE, Archive, ArchiveError, RunLock, find_run
from discovery.config import ExecutorSettings, RunConfig
from discovery.errors import ServiceUnavailable, UserError
from discovery.execution.executor import Executor
from discovery.execution.local import LocalExecutor, default_slots
from discovery.limits import Stop
from discovery.loop import DiscoveryLoop
from discovery.observer import LoopObserver, SilentObserver
from discovery.paths import cache_root
from discovery.proposers.base import Proposer
from discovery.proposers.registry import make_proposer
from discovery.provenance import library_versions, new_run_id
from discovery.quiet import quiet_libraries
from discovery.records import CandidateRecord, RunRecord, RunStatus
from discovery.sandbox import Probe, Validator
from discovery.seed_scores import SeedScoreCache, evaluator_key
from discovery.transfer import Confirmation, TransferSummary, run_result, run_transfer
from evaluators import Evaluator
from evaluators.suite import RunTask, run_task

SEED_SCORES_FILE = "seed-scores.sqlite"
WORKER_LOG = "worker.log"  # the evaluation workers' own output: library warnings, tracebacks
SLURM_FOLDER = "slurm"  # submitit's scripts and the jobs' logs, one folder per job


class RunInterrupted(KeyboardInterrupt):
    """The user stopped the run (Ctrl-C); the archive says `interrupted` and `run_id` resumes it."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


@dataclass
class RunOutcome:
    """How a run ended, its leaderboard, and why it stopped short of its generations (if it did)."""

    run: RunRecord
    leaderboard: list[CandidateRecord]
    stop: Stop | None = None
    # None: the run confirmed nothing (no generations, no held-out variants, or transfer.top 0)
    confirmation: TransferSummary | None = None

    @property
    def result(self) -> str:
        """The run's answer in one line: what held up on the held-out variants, if anything."""
        return run_result(self.confirmation)

    @property
    def verdicts(self) -> dict[str, Confirmation]:
        """Each proposal confirmed on, by candidate id (none without a confirmation)."""
        return self.confirmation.confirmations() if self.confirmation else {}

    @property
    def stopped_reason(self) -> str | None:
        """The line that says why the run stopped, as printed and in the JSON."""
        return None if self.stop is None else str(self.stop)

    def to_json(self) -> dict:
        verdicts = self.verdicts
        return {
            "run_id": self.run.id,
            "status": self.run.status.value,
            "generations_done": self.run.generations_done,
            "stopped_reason": self.stopped_reason,
            "result": self.result,
            "confirmed": [id for id, verdict in verdicts.items() if verdict.confirmed],
            "leaderboard": [
                {
                    "rank": rank,
                    "id": c.id,
                    "name": c.name,
                    "generation": c.generation,
                    "is_seed": c.is_seed,
                    "parents": c.parents,
                    "held_out": verdicts[c.id].verdict if c.id in verdicts else None,
                    **c.figures.model_dump(exclude={"objective", "seeds"}),
                }
                for rank, c in enumerate(self.leaderboard, start=1)
            ],
        }


def build_task(config: RunConfig, runs_dir: Path) -> RunTask:
    """The run's task (its evaluator or suite, and its held-out variants), caching under the runs
    folder's cache root (`discovery.paths.cache_root`)."""
    return run_task(config.evaluator, config.evaluator_options, config.suite, cache_dir=cache_root(runs_dir))


def start_run(
    runs_dir: Path,
    config: RunConfig,
    observer: LoopObserver | None = None,
    task: RunTask | None = None,
) -> RunOutcome:
    """Create a new run and run it to the end; `task` is the config's, when the caller built it
    already (to check its options before showing anything)."""
    task = task or build_task(config, runs_dir)
    proposer, notice = make_proposer(config)
    observer = observer or SilentObserver()
    if notice:
        observer.notice(notice)
    run = RunRecord(
        id=new_run_id(),
        config=config,
        evaluator_config=task.search.config(),
        versions=library_versions(),
        proposer=proposer.name,
    )
    # refused jobs: before any run exists
    executor = make_executor(config.executor, runs_dir / run.id, task.search.limits().memory_mb)
    # Nobody else can know a run id before the run exists, so locking right after creating it is
    # as exclusive as locking first.
    with Archive.create(runs_dir, run) as archive, RunLock(archive.run_dir):
        return _run_to_end(archive, config, proposer, task, executor, runs_dir, observer)


def resume_run(
    runs_dir: Path, run_id: str, generations: int | None, observer: LoopObserver | None = None
) -> RunOutcome:
    """Continue a stopped run from its archive, optionally with a new generation target.

    The run's lock is taken first, so a second process resuming the same run is refused (`RunBusy`)
    before it does anything; the new target is stored only once the run really goes on."""
    with (
        RunLock(find_run(runs_dir, run_id)) as lock,
        Archive(lock.run_dir / ARCHIVE_FILE, writable=True) as archive,
    ):
        run = archive.run()
        config = run.config
        if generations is not None:
            config = config.model_copy(update={"generations": generations})
        proposer, _ = make_proposer(config.model_copy(update={"proposer": run.proposer}))
        task = build_task(config, runs_dir)
        executor = make_executor(config.executor, archive.run_dir, task.search.limits().memory_mb)
        observer = observer or SilentObserver()
        return _run_to_end(archive, config, proposer, task, executor, runs_dir, observer)


def _run_to_end(
    archive: Archive,
    config: RunConfig,
    proposer: Proposer,
    task: RunTask,
    executor: Executor,
    runs_dir: Path,
    observer: LoopObserver,
) -> RunOutcome:
    """`_loop_to_end`; a Ctrl-C while the libraries load or the sandbox starts, before the loop
    runs, ends the run the same way: interrupted, with its resume command."""
    try:
        return _loop_to_end(archive, config, proposer, task, executor, runs_dir, observer)
    except RunInterrupted:
        raise
    except KeyboardInterrupt as interrupt:
        _stop(archive)
        raise RunInterrupted(archive.run_dir.name) from interrupt


def _loop_to_end(
    archive: Archive,
    config: RunConfig,
    proposer: Proposer,
    task: RunTask,
    executor: Executor,
    runs_dir: Path,
    observer: LoopObserver,
) -> RunOutcome:
    """Run the loop on an archive this process holds the lock of, and handle how it ends."""
    quiet_libraries()
    resume = f"continue with: discover run --resume {archive.run_dir.name}"
    evaluator = task.search
    key = evaluator_key(evaluator.name, evaluator.version, evaluator.config())
    stop, confirmation = None, None
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(sys.stderr))  # stdout is for the result alone
        validator = stack.enter_context(Validator(probe=run_probe(evaluator, archive.run_dir.name)))
        seed_scores = SeedScoreCache(cache_root(runs_dir) / SEED_SCORES_FILE, key, observer.notice)
        stack.callback(seed_scores.close)
        stack.callback(executor.close)
        loop = DiscoveryLoop(archive, config, proposer, evaluator, executor, validator, seed_scores, observer)
        try:
            run = loop.run()
            stop = loop.stop
            if config.transfer.top and config.generations and task.held_out:
                confirmation = run_transfer(
                    archive,
                    task.held_out,
                    evaluator.cache_dir,
                    executor,
                    config.transfer.top,
                    config.transfer.seeds,
                    observer.notice,
                )
                observer.notice(f"result: {run_result(confirmation)}")  # into --log-file too
        except ServiceUnavailable as error:
            loop.interrupt(cancel_jobs=executor.kind == "local")  # cluster jobs may finish meanwhile
            stop = Stop(f"{error} — the archive is intact; {resume}")
            run = _stop(archive)
        except ArchiveError as error:  # a write the archive refused: a full disk, read-only media
            stop = Stop(f"{error} — everything committed before it is kept; {resume}")
            run = _stop(archive)
        except UserError as error:
            loop.interrupt(cancel_jobs=True)
            _stop(archive)
            raise UserError(f"{error} — {resume}") from error
        except KeyboardInterrupt as interrupt:
            loop.interrupt(cancel_jobs=_cancel_on_interrupt(config, executor, loop, observer))
            _stop(archive)
            raise RunInterrupted(archive.run_dir.name) from interrupt
        return RunOutcome(run=run, leaderboard=archive.leaderboard(), stop=stop, confirmation=confirmation)


def make_executor(
    settings: ExecutorSettings, run_dir: Path, trainer_memory_mb: int | None = None
) -> Executor:
    """The run's executor; a cluster that would refuse its jobs is a user error here. Unset local
    workers are as many as the machine holds trainers of `trainer_memory_mb` (their memory limit)."""
    if settings.kind == "slurm":
        from discovery.execution.slurm import SlurmExecutor

        executor = SlurmExecutor(settings.slurm, run_dir / SLURM_FOLDER, slots=settings.workers or 1)
        executor.check()
        return executor
    return LocalExecutor(
        slots=settings.workers or default_slots(settings.gpus_per_job, trainer_memory_mb),
        log=run_dir / WORKER_LOG,
        threads_per_job=settings.threads_per_job,
        gpus_per_job=settings.gpus_per_job,
    )


def _cancel_on_interrupt(
    config: RunConfig, executor: Executor, loop: DiscoveryLoop, observer: LoopObserver
) -> bool:
    """Local jobs end with this process anyway; cluster jobs are cancelled, kept, or the user says."""
    if executor.kind == "local" or not loop.in_flight:
        return True
    if config.on_interrupt == "ask":
        count = len(loop.in_flight)
        return observer.ask(f"cancel the {count} job(s) in flight? (no: they keep running for --resume)")
    return config.on_interrupt == "cancel"


def _stop(archive: Archive) -> RunRecord:
    """The run as it stands after it stopped: a run this process marked running becomes
    interrupted, any other keeps its status (a resume that failed before it started leaves a
    finished run finished). When even that write fails (the disk is full) the record stays
    `running`, which readers show as interrupted once this process has let the run's lock go."""
    run = archive.run()
    if run.status is RunStatus.RUNNING:
        run.status = RunStatus.INTERRUPTED
        with contextlib.suppress(ArchiveError):
            archive.update_run(run)
    return run


def run_probe(evaluator: Evaluator, run: str) -> Probe:
    """What a run's fingerprints are measured on: batches of its training size, with contents drawn
    from a seed of the run's id (the same when it resumes, unknown to the candidates' author)."""
    seed = zlib.crc32(run.encode())
    batch_pairs = evaluator.batch_pairs()
    return Probe(seed=seed) if batch_pairs is None else Probe(batch_pairs=batch_pairs, seed=seed)
