"""A run's limits: the candidate, training and spend limits stop proposing only, the time limit stops
anything new from starting, and the first limit reached is the run's stop, a value that says which."""

from types import SimpleNamespace

import pytest

from discovery import limits
from discovery.config import RunConfig
from discovery.limits import Limit, Limits, Stop
from discovery.records import RunRecord, RunStatus
from discovery.runner import RunOutcome


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(limits, "time", SimpleNamespace(monotonic=clock.monotonic))
    return clock


def test_the_time_limit_stops_everything_new_and_is_recognised_as_a_value(clock: Clock) -> None:
    notices: list[str] = []
    run_limits = Limits(
        RunConfig(generations=5, time_limit="2m"),
        spent=lambda: 0.0,
        trainings=lambda: 0,
        notice=notices.append,
    )
    assert not run_limits.draining() and run_limits.allow_generation(1, 1) and run_limits.stop is None
    clock.now += 120
    assert run_limits.draining()
    assert not run_limits.allow_generation(1, 1)
    assert run_limits.stop == Stop("reached --time-limit 120 s", Limit.TIME_LIMIT)
    assert notices == ["reached --time-limit 120 s: no new candidates; those in flight finish"]  # once
    run = RunRecord(id="r", config=RunConfig(), versions={}, proposer="builtin", status=RunStatus.FINISHED)
    outcome = RunOutcome(run=run, leaderboard=[], stop=run_limits.stop)
    assert outcome.stopped_reason == "reached --time-limit 120 s"  # what `discover run` prints
    assert outcome.to_json()["stopped_reason"] == "reached --time-limit 120 s"


def test_the_candidate_limit_stops_proposing_but_what_was_proposed_still_starts(clock: Clock) -> None:
    run_limits = Limits(
        RunConfig(generations=5, max_candidates=3),
        spent=lambda: 0.0,
        trainings=lambda: 0,
        notice=lambda _: None,
    )
    assert run_limits.allow_generation(1, 2)
    assert not run_limits.allow_generation(2, 3)
    assert run_limits.stop == Stop("reached --max-candidates 3", Limit.MAX_CANDIDATES)
    assert not run_limits.draining()


def test_the_training_limit_counts_what_the_run_holds_and_stops_proposing_only(clock: Clock) -> None:
    held = [9]
    config = RunConfig(generations=5, max_trainings=10)
    run_limits = Limits(config, spent=lambda: 0.0, trainings=lambda: held[0], notice=lambda _: None)
    assert run_limits.allow_generation(1, 1)
    held[0] = 12  # a candidate's racing round went past the budget
    assert not run_limits.allow_generation(2, 2)
    assert run_limits.stop == Stop("reached --max-trainings 10 (12 trained)", Limit.MAX_TRAININGS)
    assert not run_limits.draining()


def test_the_spend_limit_names_the_spend_and_is_not_asked_for_without_a_budget(clock: Clock) -> None:
    spent = Limits(
        RunConfig(generations=5, max_cost_usd=1),
        spent=lambda: 1.234,
        trainings=lambda: 0,
        notice=lambda _: None,
    )
    assert not spent.allow_generation(1, 1)
    assert spent.stop == Stop("reached --max-cost-usd 1 (spent 1.23)", Limit.MAX_COST)

    def unasked() -> float:
        raise AssertionError("the spend was read although no budget is set")

    assert Limits(
        RunConfig(generations=5), spent=unasked, trainings=lambda: 0, notice=lambda _: None
    ).allow_generation(1, 1)


def test_the_first_limit_reached_stays_the_stop_while_a_later_time_limit_still_drains(clock: Clock) -> None:
    config = RunConfig(generations=5, max_candidates=1, time_limit=10)
    run_limits = Limits(config, spent=lambda: 0.0, trainings=lambda: 0, notice=lambda _: None)
    assert not run_limits.allow_generation(1, 1)
    clock.now += 10
    assert run_limits.draining()
    assert run_limits.stop is not None and run_limits.stop.limit is Limit.MAX_CANDIDATES


def test_the_generation_target_is_no_stop(clock: Clock) -> None:
    run_limits = Limits(
        RunConfig(generations=2), spent=lambda: 0.0, trainings=lambda: 0, notice=lambda _: None
    )
    assert not run_limits.allow_generation(2, 7)
    assert run_limits.stop is None  # the run finished as asked: nothing to report
