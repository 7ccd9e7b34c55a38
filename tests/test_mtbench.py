"""`mtbench` end to end on CPU: a tiny chat Llama trained on the recipe path, three two-turn
questions, and a scripted OpenAI-compatible judge on loopback."""

import json
from pathlib import Path

import pytest
from rich.console import Console

from discovery.errors import UserError
from discovery.objectives import load_objective
from discovery.ui.plans import print_sections
from evaluators.judging.recipe_run import TrainingSettings, training_subset
from evaluators.registry import get_evaluator
from tests.fixtures.tiny_chat import build_all, write_recipe
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.jobs import evaluate

QUESTIONS = Path(__file__).parent / "fixtures" / "mt_bench_tiny.jsonl"
NO_VERDICT = "The answer is mostly random words; I cannot settle on a grade."


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    model_dir, data_dir = build_all(root)
    return write_recipe(root / "tiny.yaml", model_dir, data_dir)


def evaluator(recipe: Path, cache: Path, base_url: str, **options):
    settings = {
        "recipe": str(recipe),
        "questions": str(QUESTIONS),
        "max_new_tokens": 6,
        "judge_model": "fake-judge",
        "judge_base_url": base_url,
        "judge_concurrency": 1,  # the scripted replies then meet the judgments in order
        "judge_parse_attempts": 3,
        "judge_input_price": 10.0,
        "judge_output_price": 30.0,
    }
    return get_evaluator("mtbench", {**settings, **options}, cache_dir=cache)


@pytest.mark.slow
def test_fitness_is_the_mean_grade_failures_excluded_and_a_rerun_costs_nothing(recipe, tmp_path):
    # judgments in order: (q101, turn 1), (q101, turn 2), (q102, 1), (q102, 2), (q103, 1), (q103, 2)
    script = [
        Reply.chat("Clear and complete. Rating: [[8]]"),
        *[Reply.chat(NO_VERDICT)] * 3,  # never parses: a failed judgment after 3 attempts
        Reply.chat(NO_VERDICT),
        Reply.chat("Wrong sum. Rating: [[4]]"),  # parses on the second attempt
        Reply.chat("Rating: [[6]]"),
        Reply.chat("Rating: [[2]]"),
        Reply.chat("Rating: [[10]]"),
    ]
    with FakeOpenAI(script) as judge:
        scorer = evaluator(recipe, tmp_path / "cache", judge.base_url, data_fraction=0.5)
        result = evaluate(scorer, load_objective("dpo"), [0], tmp_path / "jobs")
        requests = judge.requests
    seed = result.seeds[0]
    assert result.fitness == pytest.approx((8 + 4 + 6 + 2 + 10) / 5)  # not / 6: a failure is no zero
    assert seed.extra["failed_judgments"] == 1
    assert seed.extra["turn_1"] == pytest.approx((8 + 4 + 2) / 3)
    assert seed.extra["turn_2"] == pytest.approx((6 + 10) / 2)
    assert seed.extra["judge_requests"] == len(script) == len(requests)
    assert seed.extra["judge_prompt_tokens"] == 120 * len(script)
    assert seed.extra["judge_cost_usd"] == pytest.approx((120 * 10 + 80 * 30) * len(script) / 1e6)
    assert seed.accuracy is not None  # the recipe's test split was evaluated after training

    # the second turn is graded in context, against the reference answer where there is one
    math_turn_2 = requests[6].messages[-1]["content"]
    assert "What is two and three?" in math_turn_2 and "And two times three?" in math_turn_2
    assert "Six." in math_turn_2
    assert "Reference answer" not in requests[0].messages[-1]["content"]  # writing: no reference
    assert requests[0].body["model"] == "fake-judge"

    answers_file = next((tmp_path / "cache" / "mtbench" / "candidates").glob("*-seed0/answers.json"))
    answers = json.loads(answers_file.read_text())
    assert sorted(answers) == ["101", "102", "103"] and all(len(turns) == 2 for turns in answers.values())
    assert not (answers_file.parent / "model").exists()  # weights dropped unless keep_models

    with FakeOpenAI([]) as judge:  # an empty script: any request would be answered HTTP 500
        scorer = evaluator(recipe, tmp_path / "cache", judge.base_url, data_fraction=0.5)
        again = evaluate(scorer, load_objective("dpo"), [0], tmp_path / "jobs")
        assert judge.requests == []
    assert again.fitness == result.fitness
    assert again.seeds[0].extra["judge_requests"] == 0
    assert again.seeds[0].extra["cached_judgments"] == 6
    assert again.seeds[0].extra["failed_judgments"] == 1  # the stored failure, not paid for again


def test_a_data_fraction_trains_on_a_fixed_subset_built_once(recipe, tmp_path):
    import datasets

    settings = TrainingSettings(recipe=str(recipe), data_fraction=0.5)
    folder = training_subset(settings, tmp_path)
    subset = datasets.load_from_disk(folder)
    assert (len(subset["train"]), len(subset["test"])) == (4, 4)  # 8 train rows halved, test whole
    assert training_subset(settings, tmp_path) == folder
    assert training_subset(settings.model_copy(update={"data_fraction": None}), tmp_path) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"judge_modle": "gpt-4"},
            "the mtbench evaluator has no option judge_modle (its options: questions,",
        ),
        (
            {"data_fraction": 1.5},
            "the mtbench evaluator's option data_fraction: Input should be less than or",
        ),
        (
            {"judge_max_retries": "x"},
            "the mtbench evaluator's option judge_max_retries: Input should be a valid",
        ),
        ({"cache_dir": "/tmp"}, "the mtbench evaluator has no option cache_dir"),  # the caller picks it
    ],
)
def test_options_are_checked_in_one_line(tmp_path, options, message):
    with pytest.raises(UserError) as raised:
        get_evaluator("mtbench", options, cache_dir=tmp_path)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_openai_judge_without_a_key_is_a_user_error(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        get_evaluator("mtbench", {"questions": str(QUESTIONS)}, cache_dir=tmp_path).prepare()


def test_dry_run_plan_of_the_paper_scale_run(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    plan = get_evaluator("mtbench", {}, cache_dir=tmp_path).plan(candidates=10, seeds=2)
    training, judge = plan["training"], plan["judge"]
    assert training["model"] == "HuggingFaceH4/zephyr-7b-gemma-sft-v0.1"
    assert training["dataset"] == "argilla/dpo-mix-7k"
    assert training["hyperparameters"]["beta"] == 0.05
    assert training["hyperparameters"]["learning_rate"] == 5e-7
    assert training["total_batch"] == 128
    assert training["optimizer_steps"] == 106  # 6750 rows, batch 128 (last step partial), 2 epochs
    assert "accelerate" in training["launch"]
    assert judge["model"] == "gpt-4"
    assert judge["calls_per_candidate_seed"] == 80 * 2  # MT-Bench: 80 questions x 2 turns
    assert judge["calls_for_run"] == 160 * 2 * 10
    json.dumps(plan)  # the --json form

    console = Console(record=True, width=160)
    print_sections(plan, console)
    text = console.export_text()
    assert "calls_per_candidate_seed" in text and "zephyr-7b-gemma-sft-v0.1" in text
    assert "[[rating]]" in text


def test_dry_run_shows_the_shortened_inner_training(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    plan = get_evaluator("mtbench", {"data_fraction": 0.25, "limit": 10}, cache_dir=tmp_path).plan()
    assert plan["training"]["train_rows"] == 1687
    assert plan["training"]["optimizer_steps"] == 2 * 14  # ceil(ceil(ceil(1687 / 2) / 8) / 8) per epoch
    assert plan["judge"]["calls_per_candidate_seed"] == 20
    shorter = get_evaluator("mtbench", {"max_steps": 20}, cache_dir=tmp_path).plan()
    assert shorter["training"]["optimizer_steps"] == 20


def test_config_changes_with_what_changes_the_figures(recipe, tmp_path):
    def config(**options):
        base = {"recipe": str(recipe), "questions": str(QUESTIONS), "judge_base_url": "http://127.0.0.1:9/v1"}
        return get_evaluator("mtbench", {**base, **options}, cache_dir=tmp_path).config()

    assert config() == config(
        judge_concurrency=2, answer_batch_size=1, keep_models=True
    )  # speed and storage change nothing
    assert json.loads(json.dumps(config())) == config()
    for change in ({"judge_model": "other"}, {"max_steps": 1}, {"limit": 2}, {"recipe_set": {"beta": 0.1}}):
        assert config(**change) != config(), change
