"""Experiment tracking of the outer loop: each candidate's figures, the best so far and the LLM spend,
sent to the trackers TRL reports to (`wandb`, `trackio`, `tensorboard`, as `report_to` names them),
so that a discovery run shows up beside the retrains of its winners.

The x-axis is the candidates' generation (the seeds are generation 0): it means the same in a resumed
run and for candidates that finish out of order on several workers. Trackers are optional packages,
checked when a run starts; once running, tracking never stops a run: a tracker that fails is one
warning and is left out from then on.
"""

import contextlib
import importlib.util
import io
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Protocol

from discovery.errors import UserError
from discovery.progress import progress_log
from discovery.records import CandidateRecord, RunRecord
from discovery.ui.tally import RunTally
from discovery.ui.views import COUNTED

TRACKERS = ("wandb", "trackio", "tensorboard")
DEFAULT_PROJECT = "huggingface"  # the project TRL's trainers report to unless told otherwise
TENSORBOARD_FOLDER = "tensorboard"  # inside the run's folder


def check_installed(trackers: list[str]) -> None:
    """Refuse, before a run starts, a tracker whose package (of the same name) is not installed."""
    for tracker in trackers:
        if importlib.util.find_spec(tracker) is None:
            raise UserError(f"--report-to {tracker} needs `pip install {tracker}`")


class _Backend(Protocol):
    def log(self, metrics: dict[str, float], generation: int) -> None: ...
    def close(self) -> None: ...


class _TensorBoard:
    """Event files in `<run>/tensorboard/`: `tensorboard --logdir runs` shows runs and retrains."""

    def __init__(self, run: RunRecord, run_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / TENSORBOARD_FOLDER))

    def log(self, metrics: dict[str, float], generation: int) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, global_step=generation)
        self.writer.flush()  # a run is watched while it goes: a candidate's point shows at once

    def close(self) -> None:
        self.writer.close()


class _Wandb:
    """A W&B run named and identified by the run id (a resumed run continues it), in the project
    `$WANDB_PROJECT` or TRL's default; `WANDB_MODE=offline` keeps it under `<run>/wandb/`."""

    def __init__(self, run: RunRecord, run_dir: Path) -> None:
        import wandb

        self.wandb = wandb
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", DEFAULT_PROJECT),
            name=run.id,
            id=run.id,
            resume="allow",
            dir=str(run_dir),
            config=run.config.model_dump(mode="json"),
            job_type="discover-run",
            settings=wandb.Settings(console="off", silent=True),  # it must not write over our display
        )
        self.run.define_metric("generation")
        self.run.define_metric("*", step_metric="generation")

    def log(self, metrics: dict[str, float], generation: int) -> None:
        self.run.log({**metrics, "generation": generation})

    def close(self) -> None:
        self.run.finish()


class _Trackio:
    """A trackio run named by the run id, in TRL's default project (`trackio show` lists it)."""

    def __init__(self, run: RunRecord, run_dir: Path) -> None:
        import trackio

        self.trackio = trackio
        self.run = trackio.init(
            project=DEFAULT_PROJECT, name=run.id, config=run.config.model_dump(mode="json"), resume="allow"
        )

    def log(self, metrics: dict[str, float], generation: int) -> None:
        self.run.log({**metrics, "generation": generation})

    def close(self) -> None:
        self.trackio.finish()  # the module's finish: its own exit hook then has nothing left to do


_BACKENDS = {"tensorboard": _TensorBoard, "wandb": _Wandb, "trackio": _Trackio}


class Tracker:
    """A `LoopObserver` that reports the run to the trackers its configuration names (`report_to`);
    with none named it does nothing."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self.tally = RunTally()
        self.backends: dict[str, _Backend] = {}

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc_info: object) -> None:
        for name, backend in list(self.backends.items()):
            self._guarded(name, backend.close)
        self.backends.clear()

    def run_started(self, run: RunRecord, proposer: str) -> None:
        self.tally.started(run)
        for name in run.config.report_to:
            self._guarded(name, partial(self._open, name, run))

    def llm_spend(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.tally.tokens = (prompt_tokens, completion_tokens)

    def task_progress(self, phase: str, fraction: float | None) -> None:
        pass

    def generation_started(self, generation: int, total: int) -> None:
        self.tally.generation_started(generation, total)

    def candidate_known(self, candidate: CandidateRecord) -> None:
        self.tally.known(candidate)

    def candidate_phase(self, candidate: CandidateRecord, phase: str, fraction: float | None) -> None:
        pass

    def candidate_finished(self, candidate: CandidateRecord, best: CandidateRecord | None) -> None:
        self.tally.finished(candidate, best)
        if not self.backends:
            return
        metrics = _figures(candidate, "candidate")
        if best is not None:  # the run's best by the archive's rule, the interval's low end first
            metrics |= _figures(best, "best")
        prompt_tokens, completion_tokens = self.tally.tokens
        metrics["llm/prompt_tokens"] = float(prompt_tokens)
        metrics["llm/completion_tokens"] = float(completion_tokens)
        for status in COUNTED:
            metrics[f"candidates/{status.value}"] = float(self.tally.counts[status])
        for name, backend in list(self.backends.items()):
            self._guarded(name, partial(backend.log, metrics, candidate.generation))

    def notice(self, message: str) -> None:
        pass

    def ask(self, question: str) -> bool:
        return True

    def _open(self, name: str, run: RunRecord) -> None:
        self.backends[name] = _BACKENDS[name](run, self.runs_dir / run.id)

    def _guarded(self, name: str, call: Callable[[], None]) -> None:
        """Call a tracker; one that fails (a missing login, a full disk, an old package) is one
        warning and is left out from then on: tracking never stops a run."""
        try:
            with _quiet():
                call()
        except Exception as error:
            self.backends.pop(name, None)
            reason = " ".join(str(error).split()) or type(error).__name__
            progress_log.warning(f"warning: --report-to {name} failed ({reason}); the run goes on without it")


def _figures(candidate: CandidateRecord, prefix: str) -> dict[str, float]:
    """The candidate's measured figures at its best beta, as `<prefix>/<figure>`; none without a score."""
    metrics = candidate.figures
    if metrics is None:
        return {}
    figures = {
        "fitness": metrics.fitness,
        "fitness_low": metrics.fitness_low,
        "fitness_high": metrics.fitness_high,
    }
    figures |= {"n": metrics.n, "beta": metrics.best_beta, "collapse_rate": metrics.collapse_rate}
    figures |= {"reward": metrics.reward, "kl": metrics.kl, "accuracy": metrics.accuracy}
    return {f"{prefix}/{key}": float(value) for key, value in figures.items() if value is not None}


@contextlib.contextmanager
def _quiet():
    """Trackers print banners, tips and links; the run's own display and lines say what matters."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield
