"""Reading replies, naming candidates, pricing exchanges and loading prompt files."""

import json

import pytest

from discovery.llm import EndpointSettings
from discovery.proposers.naming import snake_case, unique_name
from discovery.proposers.parsing import ReplyError, parse_reply
from prompts import load_prompt, render_prompt

CODE = "def loss(a, b, c, d, beta):\n    return a\n"
REPLY = {"thought": "An idea.", "name": "idea", "code": CODE}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(REPLY),
        "```json\n" + json.dumps(REPLY, indent=2) + "\n```",
        "Here you go: " + json.dumps(REPLY) + " Let me know.",
        "<think>Should I use {braces}?</think>" + json.dumps(REPLY),
        # raw newlines inside the code string, as models often write them
        '{"thought": "An idea.", "name": "idea", "code": "def loss(a, b, c, d, beta):\n    return a"}',
        json.dumps(REPLY | {"code": "```python\n" + CODE + "```"}),
        json.dumps({"note": "not this one"}) + "\n" + json.dumps(REPLY),
    ],
    ids=["bare", "fenced", "prose", "thinking", "raw-newlines", "fenced-code-field", "second-object"],
)
def test_accepted_reply_shapes(text: str) -> None:
    assert parse_reply(text).model_dump() == REPLY


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "the reply was empty"),
        (None, "the reply was empty"),
        ("I would rather not.", "no JSON object found in the reply"),
        ('{"thought": "x", "name": "y"', "invalid JSON: Expecting ',' delimiter: line 1 column 29 (char 28)"),
        ('{"thought": "x", "name": "y"}', "the JSON object is not a proposal: field `code`: Field required"),
        ('{"thought": "x", "name": "y", "code": 3}', "field `code`: Input should be a valid string"),
        (
            '{"thought": "x", "name": "", "code": "c"}',
            "field `name`: String should have at least 1 character",
        ),
        ('{"thought": ' * 2000, "invalid JSON: it is nested too deeply"),
        ('{"thought": "x", "name": "y", "code": ' + "[" * 5000, "invalid JSON: it is nested too deeply"),
    ],
    ids=["empty", "none", "prose", "cut-off", "missing", "not-a-string", "empty-name", "deep", "deep-code"],
)
def test_unusable_replies_say_exactly_why(text: str | None, error: str) -> None:
    with pytest.raises(ReplyError) as raised:
        parse_reply(text)
    assert error in str(raised.value)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Adaptive Margin DPO", "adaptive_margin_dpo"),
        ("logRatioModulated", "log_ratio_modulated"),
        ("  --smooth-hinge!! ", "smooth_hinge"),
        ("2step loss", "objective_2step_loss"),
        ("???", "candidate"),
        ("a_very_long_name_that_keeps_going_and_going_forever", "a_very_long_name_that_keeps_going_and"),
    ],
)
def test_names_become_short_snake_case(raw: str, name: str) -> None:
    assert snake_case(raw) == name


def test_taken_names_get_a_numeric_suffix() -> None:
    assert unique_name("DPO", {"dpo", "dpo_2"}) == "dpo_3"
    assert unique_name("fresh", {"dpo"}) == "fresh"


@pytest.mark.parametrize(
    ("model", "cost"),
    [
        ("gpt-4o", 2.50 + 10.0),
        ("gpt-4o-2024-08-06", 2.50 + 10.0),
        ("gpt-4o-mini", 0.15 + 0.60),
        ("openai/gpt-4.1-mini", 0.40 + 1.60),
        ("gpt-4-0613", 30.0 + 60.0),
        ("qwen2.5-coder:7b", None),
        ("gpt-4.5-preview", None),
    ],
)
def test_cost_is_estimated_only_for_known_models(model: str, cost: float | None) -> None:
    estimate = EndpointSettings(model=model).cost(1_000_000, 1_000_000)
    assert estimate == (pytest.approx(cost) if cost is not None else None)


def test_configured_prices_win_over_the_table() -> None:
    settings = EndpointSettings(model="gpt-4o", input_price=1.0, output_price=3.0)
    assert settings.cost(2_000_000, 1_000_000) == pytest.approx(5.0)


def test_prompt_files_load_and_fill_their_placeholders() -> None:
    assert "$problem" in load_prompt("proposer_repair")
    filled = render_prompt("proposer_repair", problem="invalid JSON: oops")
    assert "Your reply could not be used: invalid JSON: oops" in filled and "$" not in filled
    with pytest.raises(KeyError):
        render_prompt("proposer_repair")
