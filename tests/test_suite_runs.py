"""A run on a task suite: the search sees only the meta-train variants, and the meta-test variants,
which decide what is confirmed at the end, never reach the fitness, the proposer or the archive's
search figures; a candidate that won the search by one lucky seed is not confirmed."""

import json

import tests.support.noisy_evaluator  # noqa: F401  (registers the "noisy" evaluator)
from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.llm import EndpointSettings
from discovery.proposers.llm import OpenAIProposer
from discovery.records import RunStatus
from discovery.runner import start_run
from discovery.suite import Suite
from tests.support.fake_openai import MODEL, FakeOpenAI, Reply
from tests.support.objective_sources import SMOOTH_HINGE, SQUARED_HINGE

SECRET = "zz_secret"  # the meta-test variant's name: it must appear in no prompt and no search figure
SUITE = Suite(
    description="the task twice for the search; the reversed task held out",
    meta_train={"main": {}, "again": {"betas": [0.1]}},
    meta_test={SECRET: {"reversed": True}},
)


def scripted_suite_run(tmp_path, monkeypatch, replies: list[Reply], **config: object):
    """A run of the noisy task on a suite, its proposals scripted (one generation each, in order):
    its outcome and what the proposer was sent."""
    with FakeOpenAI(replies) as server:
        monkeypatch.setattr(
            "discovery.runner.make_proposer",
            lambda *args: (OpenAIProposer(EndpointSettings(model=MODEL, base_url=server.base_url)), None),
        )
        settings = RunConfig(
            generations=len(replies),
            evaluator="noisy",
            proposer="openai",
            seed_objectives=["dpo"],
            executor={"workers": 1},
            **config,
        )
        return start_run(tmp_path, settings), server.requests


def test_meta_test_variants_never_reach_the_proposer_or_the_search_figures(tmp_path, monkeypatch):
    replies = [Reply.proposal("good_q0_8", SQUARED_HINGE), Reply.proposal("fair_q0_7", SMOOTH_HINGE)]
    outcome, requests = scripted_suite_run(
        tmp_path, monkeypatch, replies, suite=SUITE, seeds=3, transfer={"top": 2, "seeds": 4}
    )
    prompts = json.dumps([request.messages for request in requests])

    assert outcome.run.status is RunStatus.FINISHED
    assert len(requests) == 2 and SECRET not in prompts and "reversed" not in prompts
    with Archive.open(tmp_path, outcome.run.id) as archive:
        scored = [c for c in archive.candidates() if c.figures]
        transfers = archive.transfers()
        stored = archive.run()
    search_figures = json.dumps([c.figures.model_dump() for c in scored])
    assert "main.fitness" in search_figures and "again.fitness" in search_figures
    assert SECRET not in search_figures and SECRET not in json.dumps(stored.evaluator_config)
    # the meta-test is what the confirmation trained on, on seeds the search never used
    assert {record.variant for record in transfers} == {SECRET}
    assert {t.seed for record in transfers for t in record.result.seeds} == {3, 4, 5, 6}
    # reversed, the proposals lose to DPO there: nothing is confirmed, and the run says so
    assert outcome.result.startswith("nothing confirmed")
    assert outcome.to_json()["confirmed"] == []


def test_a_search_winner_by_one_lucky_seed_is_not_confirmed_and_a_real_one_is(tmp_path, monkeypatch):
    """`lucky_...` scores 0.35 more on seed 0 only: searched on that seed alone it tops the
    leaderboard, but on the held-out copy of the task, on fresh seeds, it is DPO's equal."""
    replies = [Reply.proposal("lucky_q0_6", SQUARED_HINGE), Reply.proposal("good_q0_8", SMOOTH_HINGE)]
    outcome, _ = scripted_suite_run(
        tmp_path,
        monkeypatch,
        replies,
        suite=Suite(meta_train={"main": {}}, meta_test={"fresh": {}}),
        seeds=1,
        racing={"best_needs": 1},
        transfer={"top": 2, "seeds": 8},
    )

    board = [c.name for c in outcome.leaderboard]
    assert board.index("lucky_q0_6") < board.index("good_q0_8")  # the search fell for the lucky seed
    verdicts = {c["name"]: c["held_out"] for c in outcome.to_json()["leaderboard"]}
    assert verdicts["lucky_q0_6"] == "not confirmed" and verdicts["good_q0_8"] == "confirmed"
    # 8 fresh seeds all +0.2: raw p 2/2**8, Holm over the two proposals doubles it
    confirmation = outcome.confirmation.confirmations()
    good = next(c for c in outcome.leaderboard if c.name == "good_q0_8")
    assert confirmation[good.id].adjusted_p == 2 * 2 / 2**8
    assert outcome.result.startswith("CONFIRMED 1 of 2") and "good_q0_8" in outcome.result
