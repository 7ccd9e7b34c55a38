"""The discovery loop with the offline proposer and a millisecond test evaluator."""

import pytest

import tests.support.probe_evaluator  # noqa: F401  (registers the "probe" evaluator)
from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.records import CandidateStatus, RunStatus
from discovery.runner import resume_run, start_run
from tests.support.commands import discover_subprocess
from tests.support.probe_evaluator import evaluated, evaluations

SEEDS = ["dpo", "slic", "discopop"]


def probe_config(**fields) -> RunConfig:
    return RunConfig(evaluator="probe", proposer="builtin", seed_objectives=SEEDS, **fields)


def test_builtin_run_scores_seeds_and_new_candidates(tmp_path) -> None:
    outcome = start_run(tmp_path, probe_config(generations=4, population=2))

    assert outcome.run.status == RunStatus.FINISHED and outcome.run.generations_done == 4
    with Archive.open(tmp_path, outcome.run.id) as archive:
        candidates = archive.candidates()
        seeds = [c for c in candidates if c.is_seed]
        proposals = [c for c in candidates if not c.is_seed]
        assert {s.name for s in seeds} == set(SEEDS)
        assert all(s.status == CandidateStatus.SCORED and s.reported is not None for s in seeds)
        assert len(proposals) == 8
        assert all(
            c.status != CandidateStatus.PROPOSED and c.status != CandidateStatus.VALIDATED for c in candidates
        )
        scored_new = [c for c in proposals if c.status == CandidateStatus.SCORED]
        assert scored_new, "at least one new candidate must be scored"
        assert all(c.parents for c in proposals), "built-in proposals name their parents"
        rankings = [c.figures.ranking for c in outcome.leaderboard]  # the intervals' low ends
        assert rankings == sorted(rankings, reverse=True)


def test_a_run_seeded_with_dpo_alone_proposes_from_dpo_while_it_trains(tmp_path, monkeypatch) -> None:
    """With a free slot the first generation is proposed before DPO is scored: the built-in proposer
    starts from the run's seed then, never from a shipped objective the run did not seed."""
    monkeypatch.setenv("DISCOVER_CACHE", str(tmp_path / "cache"))  # DPO's scores cached nowhere yet
    config = probe_config(generations=3, executor={"workers": 2}).model_copy(
        update={"seed_objectives": ["dpo"]}
    )
    outcome = start_run(tmp_path, config)
    with Archive.open(tmp_path, outcome.run.id) as archive:
        candidates = archive.candidates()
    ids = {c.id for c in candidates}
    proposals = [c for c in candidates if not c.is_seed]
    assert proposals[0].context["best"] == []  # proposed while DPO trained
    assert proposals[0].parents == ["seed-dpo"]
    assert all(c.parents and set(c.parents) <= ids for c in proposals)


def test_a_training_budget_ends_the_run_with_what_its_candidates_hold(tmp_path) -> None:
    outcome = start_run(tmp_path, probe_config(generations=100, max_trainings=8))
    with Archive.open(tmp_path, outcome.run.id) as archive:
        held = sum(len(c.figures.seeds) for c in archive.candidates() if c.figures)
    assert outcome.run.status == RunStatus.FINISHED and outcome.run.generations_done < 100
    assert outcome.stopped_reason is not None and outcome.stopped_reason.startswith(
        "reached --max-trainings 8"
    )
    assert held >= 8


@pytest.mark.slow
def test_seed_scores_are_reused_by_later_runs_with_the_same_evaluator(tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("DISCOVER_CACHE", str(cache))  # a cache no other test has filled
    start_run(tmp_path, probe_config(generations=0))
    first = evaluations(cache)
    assert evaluated(cache) == {f"seed-{name}" for name in SEEDS} and len(set(first)) == len(first)
    start_run(tmp_path, probe_config(generations=0))
    assert evaluations(cache) == first
    start_run(tmp_path, probe_config(generations=0, evaluator_options={"variant": 2}))
    assert sorted(evaluations(cache)) == sorted(first * 2)


def test_failed_training_is_recorded_with_its_error_and_the_run_goes_on(tmp_path, monkeypatch) -> None:
    from discovery.proposers.base import Proposal

    crash = (
        "def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, "
        "reference_rejected_logps, beta):\n"
        "    # CRASH\n"
        "    return -(policy_chosen_logps - policy_rejected_logps)\n"
    )
    monkeypatch.setattr(
        "discovery.proposers.builtin.BuiltinProposer.propose",
        lambda self, context, count, check: [Proposal(name="crasher", thought="t", code=crash)],
    )
    outcome = start_run(tmp_path, probe_config(generations=1))
    with Archive.open(tmp_path, outcome.run.id) as archive:
        (candidate,) = archive.candidates(generation=1)
    assert candidate.status == CandidateStatus.FAILED
    assert "RuntimeError: loss became NaN at step 3" in candidate.reason
    assert outcome.run.status == RunStatus.FINISHED


def test_resume_extends_a_finished_run_without_rescoring(tmp_path) -> None:
    outcome = start_run(tmp_path, probe_config(generations=1))

    def trainings(archive: Archive) -> dict:
        """Each candidate's verdict and trainings (intervals may narrow as the run's noise estimate grows)."""
        return {
            c.id: (c.status, c.reason, c.figures.seeds if c.figures else None) for c in archive.candidates()
        }

    with Archive.open(tmp_path, outcome.run.id) as archive:
        before = trainings(archive)
    resumed = resume_run(tmp_path, outcome.run.id, generations=3)
    assert resumed.run.generations_done == 3
    with Archive.open(tmp_path, outcome.run.id) as archive:
        after = trainings(archive)
    assert {k: after[k] for k in before} == before
    assert len(after) > len(before)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--evaluator", "nope"], "unknown evaluator 'nope'"),
        (["--generations", "-1"], "generations"),
        (["--config", "missing.yaml"], "cannot read config"),
        (["--resume", "20990101-000000-dead"], "20990101-000000-dead"),
        (["--set", "bogus=1"], "the sentiment evaluator has no option bogus"),
        (
            ["--set", "learning_rate=abc"],
            "the sentiment evaluator's option learning_rate: Input should be a valid number",
        ),
        (["--context-best", "-1"], "invalid context_best: Input should be greater than or equal to 0"),
        (["--resume", "x", "--evaluator", "probe"], "only --generations may change"),
    ],
)
def test_bad_input_gets_one_line_and_exit_code_2(tmp_path, args, message) -> None:
    result = discover_subprocess("run", "--runs-dir", str(tmp_path), *args, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if "--resume" not in args:  # caught before the live display starts: nothing but the error
        assert result.stderr.count("\n") == 1, result.stderr


def test_malformed_config_file_is_a_user_error(tmp_path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("generations: [1, 2\n")
    result = discover_subprocess(
        "run", "--config", str(config), "--runs-dir", str(tmp_path), cwd=tmp_path, timeout=120
    )
    assert result.returncode == 2 and "not valid YAML" in result.stderr


def test_mtbench_dry_run_prints_the_paper_scale_plan_offline(tmp_path) -> None:
    import json

    result = discover_subprocess(
        "run", "--evaluator", "mtbench", "--dry-run", "--json", cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    training, judge = plan["evaluator_plan"]["training"], plan["evaluator_plan"]["judge"]
    assert training["hyperparameters"]["beta"] == 0.05 and training["total_batch"] == 128
    assert judge["calls_per_candidate"] == 160  # 80 questions x 2 turns
    assert plan["candidates_at_most"] == {"seeds": 11, "proposed": 10}
    assert not any(tmp_path.iterdir()), "a dry run writes nothing"
