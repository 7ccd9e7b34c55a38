"""Choosing a proposer: explicit kinds, the offline fallback and its notice, and user errors."""

import pytest

from discovery.config import RunConfig
from discovery.errors import UserError
from discovery.proposers.builtin import BuiltinProposer
from discovery.proposers.llm import OpenAIProposer
from discovery.proposers.mutations import MOVES
from discovery.proposers.registry import DEFAULT_OPENAI_MODEL, make_proposer


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def with_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


def test_without_an_endpoint_the_builtin_proposer_is_used_and_said_so(no_key: None) -> None:
    proposer, notice = make_proposer(RunConfig(proposer=None, model=None, base_url=None, random_seed=7))
    assert isinstance(proposer, BuiltinProposer) and proposer.seed == 7
    assert notice == "no LLM endpoint configured (OPENAI_API_KEY or --base-url): using the built-in proposer"


def test_an_api_key_selects_the_openai_proposer_with_the_default_model(
    with_key: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    proposer, notice = make_proposer(RunConfig(proposer=None, model=None, base_url=None, random_seed=0))
    assert isinstance(proposer, OpenAIProposer) and notice is None
    assert proposer.endpoints == {DEFAULT_OPENAI_MODEL: "https://api.openai.com/v1"}


def test_a_local_base_url_needs_no_key(no_key: None) -> None:
    proposer, notice = make_proposer(
        RunConfig(proposer=None, model="qwen2.5-coder", base_url="http://127.0.0.1:8080/v1", random_seed=0)
    )
    assert isinstance(proposer, OpenAIProposer) and notice is None
    assert proposer.endpoints == {"qwen2.5-coder": "http://127.0.0.1:8080/v1"}


def test_builtin_on_request_even_with_a_key(with_key: None) -> None:
    proposer, notice = make_proposer(RunConfig(proposer="builtin", model=None, base_url=None, random_seed=0))
    assert isinstance(proposer, BuiltinProposer) and notice is None


def test_builtin_says_that_llm_options_are_ignored(no_key: None) -> None:
    _, notice = make_proposer(RunConfig(proposer="builtin", model="gpt-4o", base_url=None, random_seed=0))
    assert notice == "the built-in proposer uses no LLM: --model, --models and --base-url are ignored"


@pytest.mark.parametrize(
    ("kind", "model", "base_url", "message"),
    [
        ("openai", None, None, "the openai proposer needs OPENAI_API_KEY, or --base-url for a local server"),
        ("openai", None, "http://localhost:11434/v1", "--model is required with --base-url"),
    ],
)
def test_bad_choices_are_user_errors(
    no_key: None, kind: str | None, model: str | None, base_url: str | None, message: str
) -> None:
    with pytest.raises(UserError) as raised:
        make_proposer(RunConfig(proposer=kind, model=model, base_url=base_url, random_seed=0))
    assert str(raised.value).startswith(message)


def test_the_builtin_proposer_gets_the_run_s_operator_set(no_key: None) -> None:
    classic = RunConfig(proposer="builtin", random_seed=0, search={"operators": "classic"})
    assert make_proposer(classic)[0].moves == MOVES
    every = make_proposer(RunConfig(proposer="builtin", random_seed=0))[0].moves  # the default: all
    assert {move.name for move in MOVES} < {move.name for move in every}
