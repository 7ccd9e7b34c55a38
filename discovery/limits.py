"""The limits that end a run before its generation target, and why a run stopped, as a value.

Candidates, trainings, LLM spend and generations only stop proposing: what was proposed is still evaluated.
The time limit stops everything new: no candidate starts, only those in flight finish. Which of
the two a stop is decides what the loop does next, so a stop carries the limit it reached, not
just the line that tells the user.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from discovery.config import RunConfig


class Limit(Enum):
    """A limit of the run's configuration, named by its option."""

    MAX_CANDIDATES = "--max-candidates"
    MAX_TRAININGS = "--max-trainings"
    MAX_COST = "--max-cost-usd"
    TIME_LIMIT = "--time-limit"


@dataclass(frozen=True)
class Stop:
    """Why a run stopped short of its generation target: the limit it reached (None: a service it
    needs or its archive failed) and the line that says so (the run's outcome prints it, and its
    JSON holds it as `stopped_reason`)."""

    message: str
    limit: Limit | None = None

    @classmethod
    def reached(cls, limit: Limit, value: str) -> "Stop":
        return cls(f"reached {limit.value} {value}", limit)

    def __str__(self) -> str:
        return self.message


class Limits:
    """The run's limits, counted from when it (re)started; the first one reached is its `stop`,
    told once through `notice`."""

    def __init__(
        self,
        config: RunConfig,
        spent: Callable[[], float],
        trainings: Callable[[], int],
        notice: Callable[[str], None],
    ) -> None:
        self.stop: Stop | None = None
        self._config = config
        self._spent = spent  # the LLM spend so far, in US dollars
        self._trainings = trainings  # the trainings the run's candidates hold so far
        self._notice = notice
        self._started = time.monotonic()

    def allow_generation(self, generation: int, proposed: int) -> bool:
        """Whether a generation may follow `generation`, `proposed` candidates having been proposed:
        generations, candidates, trainings, spend and time."""
        if generation >= self._config.generations or self.draining():
            return False
        most = self._config.max_candidates
        if most is not None and proposed >= most:
            self._reach(Stop.reached(Limit.MAX_CANDIDATES, f"{most}"))
            return False
        trainings = self._config.max_trainings
        if trainings is not None and (held := self._trainings()) >= trainings:
            self._reach(Stop.reached(Limit.MAX_TRAININGS, f"{trainings} ({held} trained)"))
            return False
        budget = self._config.max_cost_usd
        if budget is not None and (spent := self._spent()) >= budget:
            self._reach(Stop.reached(Limit.MAX_COST, f"{budget:g} (spent {spent:.2f})"))
            return False
        return True

    def draining(self) -> bool:
        """Past the time limit: nothing new starts; what runs finishes."""
        limit = self._config.time_limit
        if limit is None or time.monotonic() - self._started < limit:
            return False
        self._reach(Stop.reached(Limit.TIME_LIMIT, f"{limit:g} s"))
        return True

    def _reach(self, stop: Stop) -> None:
        if self.stop is None:
            self.stop = stop
            self._notice(f"{stop}: no new candidates; those in flight finish")
