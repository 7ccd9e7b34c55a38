"""`alpaca` end to end on CPU (tiny chat Llama, three instructions, scripted pairwise judge on
loopback), and the length-controlled win rate on constructed data."""

import json
import math
from pathlib import Path

import pytest

from discovery.objectives import load_objective
from evaluators.judging.length_control import length_controlled
from evaluators.registry import get_evaluator
from tests.fixtures.tiny_chat import build_all, write_recipe
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.jobs import evaluate

INSTRUCTIONS = [
    "Tell me a short story about a dog.",
    "Explain why the rain is cold.",
    "Write one good question.",
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("tiny")
    model_dir, data_dir = build_all(root)
    prompts = root / "alpaca_tiny.json"
    prompts.write_text(json.dumps([{"instruction": text, "dataset": "tiny"} for text in INSTRUCTIONS]))
    return write_recipe(root / "tiny.yaml", model_dir, data_dir), model_dir, prompts


def evaluator(recipe: Path, prompts: Path, cache: Path, base_url: str, **options):
    settings = {
        "recipe": str(recipe),
        "prompts": str(prompts),
        "max_new_tokens": 6,
        "judge_model": "fake-judge",
        "judge_base_url": base_url,
        "judge_concurrency": 1,  # the scripted verdicts then meet the judgments in order
        "judge_parse_attempts": 2,
    }
    return get_evaluator("alpaca", {**settings, **options}, cache_dir=cache)


@pytest.mark.slow
def test_trained_model_against_the_sft_model_in_both_orders(setup, tmp_path):
    recipe, _, prompts = setup
    # per prompt: model shown as A, then model shown as B
    script = [
        Reply.chat("[[A]]"),  # prompt 1: the model wins in both orders
        Reply.chat("[[B]]"),
        Reply.chat("A is better. [[A]]"),  # prompt 2: a judge that always picks the first answer ...
        Reply.chat("A is better. [[A]]"),  # ... cancels out to a tie
        Reply.chat("hard to say"),  # prompt 3: no verdict twice: a failed judgment ...
        Reply.chat("still hard to say"),
        Reply.chat("[[C]]"),  # ... and the other order is a tie
    ]
    with FakeOpenAI(script) as judge:
        result = evaluate(
            evaluator(recipe, prompts, tmp_path, judge.base_url),
            load_objective("dpo"),
            [0],
            tmp_path / "jobs",
        )
        requests = judge.requests
    extra = result.seeds[0].extra
    assert extra["win_rate"] == pytest.approx(100 * (1 + 0.5 + 0.5) / 3)
    assert (extra["wins"], extra["ties"], extra["losses"]) == (1, 2, 0)
    assert extra["failed_judgments"] == 1
    assert extra["judge_requests"] == len(script)
    assert result.fitness == extra["lc_win_rate"]
    assert 0 < result.fitness < 100
    assert result.seeds[0].train_seconds is not None

    # the same two answers appear swapped between the two requests of a prompt
    first, second = (request.messages[-1]["content"] for request in requests[:2])
    answer_a = first.split("[Start of assistant A's answer]\n")[1].split("\n[End")[0]
    assert f"[Start of assistant B's answer]\n{answer_a}\n[End" in second


@pytest.mark.slow
def test_finished_model_option_skips_training_and_reruns_are_free(setup, tmp_path):
    recipe, model_dir, prompts = setup
    # the SFT model judged against itself: equal answers, so the length control changes nothing
    script = [Reply.chat("[[A]]"), Reply.chat("[[A]]")] * 3  # a first-position bias, both orders
    options = {"trained_model": str(model_dir)}
    with FakeOpenAI(script) as judge:
        result = evaluate(
            evaluator(recipe, prompts, tmp_path, judge.base_url, **options),
            load_objective("dpo"),
            [0],
            tmp_path / "jobs",
        )
    extra = result.seeds[0].extra
    assert extra["model_chars"] == extra["baseline_chars"]
    assert extra["win_rate"] == pytest.approx(50)
    assert result.fitness == pytest.approx(50, abs=0.01)
    assert result.seeds[0].train_seconds is None

    with FakeOpenAI([]) as judge:
        again = evaluate(
            evaluator(recipe, prompts, tmp_path, judge.base_url, **options),
            load_objective("dpo"),
            [0],
            tmp_path / "jobs",
        )
        assert judge.requests == []
    assert again.fitness == result.fitness


def test_one_random_order_per_prompt_when_asked(setup, tmp_path):
    recipe, model_dir, prompts = setup
    options = {"trained_model": str(model_dir), "both_orders": False, "order_seed": 3}
    with FakeOpenAI([Reply.chat("[[A]]")] * 3) as judge:
        result = evaluate(
            evaluator(recipe, prompts, tmp_path, judge.base_url, **options),
            load_objective("dpo"),
            [0],
            tmp_path / "jobs",
        )
        assert len(judge.requests) == 3
    assert result.seeds[0].extra["judge_requests"] == 3


def test_length_control_removes_a_pure_length_preference():
    # the judge's preference depends on length alone (true intercept 0), and the model is longer on
    # three prompts in four: the raw win rate is high, the length-controlled one is one half
    differences = [120.0, 80.0, 200.0, -100.0] * 5
    scale = math.sqrt(
        sum(d * d for d in differences) / len(differences) - (sum(differences) / len(differences)) ** 2
    )
    preferences = [1 / (1 + math.exp(-2.0 * math.tanh(d / scale))) for d in differences]
    rates = length_controlled(preferences, differences)
    assert rates.win_rate > 60
    assert rates.lc_win_rate == pytest.approx(50, abs=0.1)
    assert rates.length_slope == pytest.approx(2.0, abs=0.05)


def test_length_control_without_length_differences_is_the_win_rate():
    rates = length_controlled([1, 1, 0, 0.5, 1], [0.0] * 5)
    assert rates.lc_win_rate == pytest.approx(rates.win_rate, abs=0.1) and rates.win_rate == pytest.approx(70)
    everything = length_controlled([1.0] * 8, [10.0, -5.0, 3.0, 0.0, 7.0, -2.0, 1.0, 4.0])
    assert 99 < everything.lc_win_rate <= 100  # every prompt won: finite fit, near 100
