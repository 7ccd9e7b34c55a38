"""The judging parts on their own: verdict parsing, question sets, the cache key, an unreachable judge."""

import json
import re

import pytest

from discovery.errors import ServiceUnavailable, UserError
from evaluators.judging.cache import JudgmentCache
from evaluators.judging.client import JudgeSettings
from evaluators.judging.grading import judge_all, single_grades
from evaluators.judging.prompts import parse_rating, parse_verdict
from evaluators.judging.questions import Question, load_instructions, load_questions
from tests.support.fake_openai import FakeOpenAI, Reply, dead_endpoint

QUESTION = Question(
    id="q1", category="math", turns=("What is two and three?", "And times?"), references=("5", "6")
)


@pytest.mark.parametrize(
    ("reply", "rating"),
    [
        ("Solid. Rating: [[7]]", 7.0),
        ("Rating: [[7.5]]", 7.5),
        ("Rating: [8]", 8.0),  # one bracket pair dropped
        ("First I thought [[3]], on reflection [[6]]", 6.0),  # the final verdict counts
        ("Rating: [[11]]", None),  # off the 1-10 scale
        ("Rating: [[0]]", None),
        ("A fine answer overall.", None),
    ],
)
def test_ratings_are_read_from_the_reply(reply, rating):
    assert parse_rating(reply) == rating


def test_pairwise_verdicts_are_preferences_for_a():
    assert [parse_verdict(f"x [[{v}]]") for v in "ABC"] == [1.0, 0.0, 0.5]
    assert parse_verdict("A is better") is None


def test_question_files_in_fastchat_and_hub_layouts(tmp_path):
    fastchat = tmp_path / "question.jsonl"
    row = {"question_id": 81, "category": "writing", "turns": ["Write.", "Shorter."]}
    fastchat.write_text(json.dumps(row) + "\n")
    (question,) = load_questions(str(fastchat))
    assert (question.id, question.turns, question.reference(1)) == ("81", ("Write.", "Shorter."), "")

    listed = tmp_path / "list.json"
    listed.write_text(
        json.dumps([{"prompt": ["A?", "B?"], "prompt_id": 1, "category": "math", "reference": ["a", "b"]}])
    )
    assert load_questions(str(listed))[0].reference(1) == "b"

    from datasets import Dataset

    download = tmp_path / "mt_bench_prompts"  # what `hf download ... --local-dir` leaves
    (download / "data").mkdir(parents=True)
    rows = [{"prompt": ["A?", "B?"], "prompt_id": 7, "category": "stem", "reference": []}]
    Dataset.from_list(rows).to_parquet(download / "data" / "train-00000-of-00001.parquet")
    assert load_questions(str(download))[0].turns == ("A?", "B?")

    alpaca = tmp_path / "alpaca.json"
    alpaca.write_text(json.dumps([{"instruction": "Say hi.", "dataset": "helpful_base"}] * 2))
    with pytest.raises(UserError, match="appears twice"):
        load_instructions(str(alpaca))


def test_bad_question_sets_are_one_line_errors(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="does not exist"):
        load_questions(str(tmp_path / "missing.jsonl"))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": ["a"]\n')
    with pytest.raises(UserError, match="not valid JSON: line 1"):
        load_questions(str(broken))
    no_turns = tmp_path / "no_turns.jsonl"
    no_turns.write_text('{"category": "math"}\n')
    with pytest.raises(UserError, match="row 1 needs 'prompt'"):
        load_questions(str(no_turns))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="hf download nobody/no_such_set --repo-type dataset"):
        load_questions("nobody/no_such_set")
    with pytest.raises(
        UserError, match=re.escape("alpaca_eval.json --repo-type dataset --local-dir ./alpaca_eval")
    ):
        load_instructions("hf://datasets/tatsu-lab/alpaca_eval/alpaca_eval.json")


def test_a_changed_answer_is_judged_again_an_unchanged_one_is_not(tmp_path):
    cache = JudgmentCache(tmp_path / "judgments.sqlite")
    with FakeOpenAI([Reply.chat("[[5]]"), Reply.chat("[[6]]"), Reply.chat("[[9]]")]) as judge:
        settings = JudgeSettings(model="fake-judge", base_url=judge.base_url, concurrency=1)
        first = judge_all(single_grades([QUESTION], {"q1": ["5", "30"]}, "fake-judge"), settings, cache)
        second = judge_all(single_grades([QUESTION], {"q1": ["5", "6"]}, "fake-judge"), settings, cache)
        assert len(judge.requests) == 3
    assert first.values == [5.0, 6.0]
    assert (second.values, second.from_cache, second.usage.requests) == ([5.0, 9.0], 1, 1)


def test_an_unreachable_judge_stops_the_evaluation_instead_of_scoring(tmp_path):
    settings = JudgeSettings(model="fake-judge", base_url=dead_endpoint(), max_retries=0, timeout=5)
    requests = single_grades([QUESTION], {"q1": ["5", "6"]}, "fake-judge")
    with pytest.raises(ServiceUnavailable, match="fake-judge"):
        judge_all(requests, settings, JudgmentCache(tmp_path / "judgments.sqlite"))


@pytest.mark.parametrize(
    "broken",
    [
        Reply.raw_body(b"<html>502 Bad Gateway</html>", content_type="text/html"),
        Reply.raw_body(b""),
        Reply.raw_body(b"not json"),
        Reply.raw_body(b'{"choices": "none"}'),
        Reply.raw_body(b"[" * 100_000),
        Reply.truncated(Reply.chat("[[5]]"), keep=30),
        Reply.stall(30.0),
        Reply.chat("[[5]]" + "x" * 5000),
    ],
    ids=["html", "empty", "non-json", "not-a-completion", "nested", "truncated", "stalled", "oversized"],
)
def test_a_malformed_judge_body_is_a_failed_attempt_never_a_crash(tmp_path, broken: Reply) -> None:
    cache = JudgmentCache(tmp_path / "judgments.sqlite")
    with FakeOpenAI([broken, Reply.chat("[[7]]"), broken, broken]) as judge:
        settings = JudgeSettings(
            model="fake-judge",
            base_url=judge.base_url,
            concurrency=1,
            parse_attempts=2,
            timeout=1.0,
            max_reply_bytes=4096,
        )
        judged = judge_all(single_grades([QUESTION], {"q1": ["5", "6"]}, "fake-judge"), settings, cache)
    assert judged.values == [7.0, None]  # a retry rescued the first; the second failed both attempts
    assert judged.failed == 1 and judged.usage.requests == 4


def test_a_judge_that_refuses_the_request_stops_the_evaluation(tmp_path) -> None:
    refused = Reply.status(400, "max_tokens is too large for this model", retry_after_ms=None)
    with FakeOpenAI([refused]) as judge:
        settings = JudgeSettings(model="fake-judge", base_url=judge.base_url, concurrency=1)
        with pytest.raises(ServiceUnavailable, match="refused the request: max_tokens is too large"):
            judge_all(
                single_grades([QUESTION], {"q1": ["5"]}, "fake-judge"),
                settings,
                JudgmentCache(tmp_path / "j"),
            )
