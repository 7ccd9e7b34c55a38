"""Where a run's candidates stand: the incumbent a candidate races against is someone else with
enough seeds, figures use the run's pooled noise and are paired with the baseline once it has figures,
and a failed candidate no longer counts."""

import pytest

from discovery.records import CandidateRecord, CandidateStatus, SeedResult
from discovery.standings import Standings


def standings() -> Standings:
    return Standings(baseline="dpo", confidence=0.9, best_needs=3)


def measured(standings: Standings, candidate_id: str, fitness: list[float]) -> CandidateRecord:
    """A scored candidate with one training per seed at beta 0.1, held by `standings`."""
    candidate = CandidateRecord(
        id=candidate_id,
        run_id="run",
        generation=0 if candidate_id.startswith("seed-") else 1,
        name=candidate_id.removeprefix("seed-"),
        thought="",
        code="",
        code_hash=candidate_id,
        status=CandidateStatus.SCORED,
    )
    trainings = [SeedResult(seed=k, beta=0.1, fitness=f, seconds=1.0) for k, f in enumerate(fitness)]
    candidate.figures = standings.with_trainings(candidate, trainings)
    standings.keep(candidate)
    return candidate


def test_the_incumbent_is_the_best_other_than_the_candidate_itself() -> None:
    held = standings()
    leader = measured(held, "g1-c1", [0.80, 0.81, 0.79])
    runner_up = measured(held, "g1-c2", [0.70, 0.71, 0.69])
    assert held.best() is leader
    assert held.incumbent(excluding=leader.id) == runner_up.figures  # the leader races the runner-up
    assert held.incumbent(excluding=runner_up.id) == leader.figures


def test_the_incumbent_needs_best_needs_seeds() -> None:
    held = standings()
    lucky = measured(held, "g1-c1", [0.95])
    assert held.best() is None and held.incumbent(excluding="g1-c9") is None  # one seed crowns nothing
    steady = measured(held, "g1-c2", [0.70, 0.71, 0.69])
    assert held.best() is steady and held.incumbent(excluding=steady.id) is None
    assert held.incumbent(excluding=lucky.id) == steady.figures


def test_figures_use_the_run_s_noise_and_are_paired_with_the_baseline_once_it_has_figures() -> None:
    held = standings()
    single = measured(held, "g1-c1", [0.75])
    assert single.figures is not None and single.figures.paired is None
    baseline = measured(held, "seed-dpo", [0.70, 0.60, 0.80])
    assert held.noise() == pytest.approx(0.1)  # pooled over every candidate's seeds so far
    later = measured(held, "g1-c2", [0.72])
    assert later.figures is not None and later.figures.paired is not None  # paired at once
    changed = held.resummarised()
    assert [c.id for c in changed] == ["g1-c1"]  # measured before the baseline: to be committed again
    assert single.figures.paired is not None and single.figures.paired.baseline == "dpo"
    assert single.figures.fitness_se == pytest.approx(0.1)  # one seed: the run's noise, not zero
    assert baseline.figures is not None and baseline.figures.paired is None  # never paired with itself
    assert held.resummarised() == []  # nothing new: nothing to commit


def test_a_failed_candidate_counts_neither_for_the_best_nor_for_the_noise() -> None:
    held = standings()
    measured(held, "g1-c1", [0.70, 0.71, 0.69])
    erratic = measured(held, "g1-c2", [0.9, 0.1, 0.95])
    noisy = held.noise()
    held.drop(erratic.id)
    assert held.best() is not None and held.best().id == "g1-c1"
    assert held.noise() is not None and noisy is not None and held.noise() < noisy / 10
