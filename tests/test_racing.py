"""Racing across seeds on a task whose noise is known: a lucky seed crowns nothing, and seeds go
where they can change the ranking."""

import pytest

from discovery.fitness import combined_noise, noise_share, summarise
from discovery.racing import Racing
from discovery.records import EvaluationResult, SeedResult
from tests.support.noisy_runs import proposal, run_loop


def test_a_lucky_seed_does_not_crown_a_mediocre_candidate(tmp_path):
    steady, lucky = proposal("steady_q0.75", "ipo"), proposal("lucky_q0.55", "slic")
    candidates = run_loop(tmp_path, [steady, lucky])

    def seed_zero(name: str) -> float:
        return next(t.fitness for t in candidates[name].figures.seeds if t.seed == 0)

    assert seed_zero("lucky_q0.55") > seed_zero("steady_q0.75") + 0.1  # one seed would crown it
    lucky_figures = candidates["lucky_q0.55"].figures
    assert lucky_figures.n >= 3, "a candidate that looked best must get more seeds"
    assert candidates["best of run"].name == "steady_q0.75"
    assert lucky_figures.fitness < candidates["steady_q0.75"].figures.fitness


def test_seeds_go_where_they_can_change_the_ranking_and_the_baseline_gets_them_all(tmp_path):
    candidates = run_loop(tmp_path, [proposal("strong_q0.8", "ipo"), proposal("weak_q0.3", "slic")])
    assert [t.seed for t in candidates["dpo"].figures.seeds] == [0, 1, 2, 3, 4]  # the baseline: all
    strong, weak = candidates["strong_q0.8"].figures, candidates["weak_q0.3"].figures
    assert strong.n == 5  # it leads: raced to the cap
    assert weak.n == 1  # its interval is far below the incumbent's: no seed wasted on it
    assert candidates["best of run"].name == "strong_q0.8"
    # paired with the baseline on the seeds both trained
    assert strong.paired.baseline == "dpo" and strong.paired.n == 5
    assert strong.paired.difference == pytest.approx(0.2) and strong.paired.p_value == pytest.approx(2 / 32)
    assert weak.paired.n == 1 and weak.paired.difference == pytest.approx(-0.3)


def test_without_an_incumbent_a_candidate_gets_just_enough_seeds_to_become_one():
    """Early in a run (the baseline still training) nobody is to be beaten: three seeds make a
    candidate the incumbent, and more go only to a rival that could overtake it."""
    racing = Racing(seeds=[0, 1, 2, 3, 4], betas=[0.1, 1.0], first_seeds=1, best_needs=3)

    def measured(fitness: list[float]) -> EvaluationResult:
        return summarise(
            "x", [SeedResult(seed=k, beta=1.0, fitness=f, seconds=1) for k, f in enumerate(fitness)]
        )

    assert [p.seed for p in racing.next_round(measured([0.8]), incumbent=None)] == [1, 2]
    assert racing.next_round(measured([0.8, 0.81, 0.79]), incumbent=None) == []
    rival = measured([0.8, 0.8, 0.8])
    assert [p.seed for p in racing.next_round(measured([0.82, 0.8, 0.81]), rival)] == [3, 4]
    assert racing.next_round(measured([0.2, 0.21, 0.19]), rival) == []  # hopeless: nothing more


def test_a_collapsed_training_blurs_its_own_figure_not_the_runs_noise():
    """The pooled seed noise is the floor of everyone's interval: one objective's collapse widens
    its own interval and is counted as a collapse, but leaves everyone else's noise floor alone."""

    def training(seed: int, fitness: float, collapsed: bool = False) -> SeedResult:
        return SeedResult(seed=seed, beta=0.3, fitness=fitness, collapsed=collapsed, seconds=1)

    steady = summarise("steady", [training(0, 0.80), training(1, 0.82), training(2, 0.81)])
    unstable = summarise(
        "unstable", [training(0, 0.80), training(1, 0.02, collapsed=True), training(2, 0.82)]
    )
    noise = combined_noise([noise_share(steady.seeds), noise_share(unstable.seeds)])
    assert noise == pytest.approx((0.0004 / 3) ** 0.5)  # the spread of the trainings that worked
    refigured = summarise("unstable", unstable.seeds, noise_sd=noise)
    assert refigured.collapse_rate == pytest.approx(1 / 3)
    assert refigured.fitness_high - refigured.fitness_low > 0.5  # its own spread stays in its interval


def test_one_lucky_seed_at_another_beta_does_not_take_the_headline():
    """Five steady seeds at beta 0.3 against one lucky seed at beta 1.0: the best beta is the one
    whose interval's lower end is highest, so racing does not chase the lucky one."""
    steady = [SeedResult(seed=k, beta=0.3, fitness=0.70 + 0.01 * (k % 2), seconds=1) for k in range(5)]
    lucky = [SeedResult(seed=0, beta=1.0, fitness=0.72, seconds=1)]
    result = summarise("x", steady + lucky, noise_sd=0.04)
    assert result.best_beta == 0.3 and result.n == 5
    far_better = summarise("x", [*steady, lucky[0].model_copy(update={"fitness": 0.85})], noise_sd=0.04)
    assert far_better.best_beta == 1.0  # a beta far ahead still wins on one seed


def test_an_overlapping_interval_is_not_enough_to_get_more_seeds():
    """Seeds go to a candidate only if its lower end, measured on every seed, could reach the
    incumbent's: an interval that merely overlaps the incumbent's is not enough."""
    racing = Racing(seeds=[0, 1, 2, 3, 4], betas=[0.3], first_seeds=1, best_needs=3)

    def measured(fitness: float) -> EvaluationResult:
        trainings = [SeedResult(seed=k, beta=0.3, fitness=fitness, seconds=1) for k in range(3)]
        return summarise("x", trainings, noise_sd=0.04)

    incumbent, close, behind = measured(0.72), measured(0.70), measured(0.67)
    assert behind.fitness_high > incumbent.fitness_low  # the intervals overlap...
    assert racing.next_round(behind, incumbent) == []  # ...but five seeds could not lift it past
    assert [p.seed for p in racing.next_round(close, incumbent)] == [3, 4]
