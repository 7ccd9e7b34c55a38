"""A test double whose trainings take a known time and say when they ran, so that a test sees which
were in flight at once: each training sleeps `seconds` in the confined trainer and writes when it
started and ended; scoring (a trusted process) appends that to a log in the cache folder. The
fitness depends on the seed only."""

import json
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from discovery.objectives import Objective
from discovery.records import SeedResult
from discovery.sandbox.outputs import read_json
from evaluators import Evaluator, register
from evaluators.base import TrainingLimits

SPAN_FILE = "span.json"
LOG_NAME = "paced-trainings.log"


class PacedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seconds: float = Field(1.0, ge=0, le=30, description="how long each training takes")


class Span(BaseModel):
    """When a training ran, as the trainer wrote it."""

    model_config = ConfigDict(extra="forbid")

    objective: str
    seed: int
    started: float
    ended: float


@register
class PacedEvaluator(Evaluator):
    name = "paced"
    description = "test double: trainings of a known length that log when they ran"
    Options = PacedOptions

    def config(self) -> dict:
        return {"kind": "paced", **self.options.model_dump()}

    def figures(self) -> dict[str, str]:
        return {"fitness": "a number of the seed (test double)"}

    def prepare(self, progress=None) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    def limits(self) -> TrainingLimits:
        return TrainingLimits(timeout_s=60, memory_mb=2048)

    def betas(self) -> list[float]:
        return [0.1]

    def train(self, objective: Objective, seed: int, beta: float, output_dir: Path, progress) -> None:
        started = time.time()
        time.sleep(self.options.seconds)
        span = Span(objective=objective.name, seed=seed, started=started, ended=time.time())
        (output_dir / SPAN_FILE).write_text(span.model_dump_json())

    def score(self, output_dir: Path, seed: int, progress) -> SeedResult:
        span = read_json(output_dir, SPAN_FILE, Span)
        with open(self.cache_dir / LOG_NAME, "a") as log:
            log.write(span.model_dump_json() + "\n")
        return SeedResult(seed=seed, fitness=0.5 + 0.01 * (seed % 7), seconds=span.ended - span.started)


def spans(cache_dir: Path) -> list[Span]:
    """Every training scored with this cache folder: what it trained and when."""
    log = Path(cache_dir) / LOG_NAME
    return [Span.model_validate(json.loads(line)) for line in log.read_text().splitlines()]


def most_at_once(trained: list[Span]) -> int:
    """The most trainings that ran at the same moment."""
    return max(sum(other.started <= span.started < other.ended for other in trained) for span in trained)
