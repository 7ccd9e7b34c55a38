"""Screening a run's proposals before anything trains: the sandbox's verdict once per code, and a
valid candidate that is an original written again, behaving the same, or with beta rescaled is a
duplicate whose reason names the original (and the factor). The proposers' pre-check says the same."""

import math
import re

import pytest

from discovery.records import CandidateRecord, CandidateStatus
from discovery.sandbox import Verdict
from discovery.sandbox.profiles import PROFILE_BETAS, unit_rows
from discovery.screening import Screening

MARGINS = (-20.0, -5.0, -1.0, 0.5, 2.0, 10.0, 40.0)


def profile(scale: float) -> list[float]:
    """The beta profile of -logsigmoid(scale * beta * rho): its gradient direction over a few margins at
    every beta of the grid."""
    sigmoid = lambda x: 0.5 * (1 + math.tanh(x / 2))  # noqa: E731  (without overflow)
    return unit_rows([[-sigmoid(-scale * beta * rho) for rho in MARGINS] for beta in PROFILE_BETAS])


def valid(fingerprint: list[float], scale: float = 1.0) -> Verdict:
    return Verdict(
        ok=True,
        stage=None,
        reason=None,
        fingerprint=fingerprint,
        behaviour=[0.6, 0.8],
        beta_profile=profile(scale),
        seconds=0.1,
    )


class Sandbox:
    """The sandbox's verdicts, given by code, and the codes it was asked about."""

    def __init__(self, verdicts: dict[str, Verdict]) -> None:
        self.verdicts = verdicts
        self.asked: list[str] = []

    def validate(self, code: str) -> Verdict:
        self.asked.append(code)
        return self.verdicts[code]


REJECTED = "line 2: import of 'os' is not allowed"
SANDBOX = {
    "original": valid([1.0, 2.0]),
    "same behaviour": valid([1.0, 2.0]),
    "rescaled": valid([5.0, 7.0], scale=2.0),
    "nearly the same": valid([9.0, 3.0], scale=1.01),
    "new": Verdict(ok=True, stage=None, reason=None, fingerprint=[-4.0, 1.0], behaviour=[1.0], seconds=0.1),
    "broken": Verdict(ok=False, stage="static", reason=REJECTED, fingerprint=None, seconds=0.1),
}


def proposal(candidate_id: str, code: str) -> CandidateRecord:
    return CandidateRecord(
        id=candidate_id, run_id="run", generation=1, name=code.replace(" ", "_"), thought="", code=code,
        code_hash=f"hash of {code}",
    )  # fmt: skip


@pytest.fixture
def screening() -> Screening:
    screening = Screening(Sandbox(SANDBOX))  # type: ignore[arg-type]
    original = proposal("g1-c1", "original")
    screening.screen(original)
    assert original.status is CandidateStatus.VALIDATED and original.beta_profile == profile(1.0)
    return screening


def test_a_beta_rescaled_copy_is_a_duplicate_named_with_its_factor(screening: Screening) -> None:
    copy = proposal("g2-c1", "rescaled")
    screening.screen(copy)
    assert copy.status is CandidateStatus.DUPLICATE
    found = re.fullmatch(
        r"is original \(g1-c1\) with beta multiplied by ([0-9.]+): every objective is scored at its best "
        r"beta of a grid, so rescaling beta discovers nothing",
        copy.reason or "",
    )
    assert found and float(found.group(1)) == pytest.approx(2.0, rel=0.02)


def test_a_factor_of_one_is_the_same_objective_at_every_beta(screening: Screening) -> None:
    twin = proposal("g2-c1", "nearly the same")
    screening.screen(twin)
    assert twin.status is CandidateStatus.DUPLICATE
    assert twin.reason == "behaves the same as original (g1-c1) at every beta"


def test_the_same_behaviour_or_code_is_a_duplicate_but_never_of_itself(screening: Screening) -> None:
    same = proposal("g2-c1", "same behaviour")
    screening.screen(same)
    assert same.reason == "behaves the same as original (g1-c1) on every probe input"
    again = proposal("g1-c1", "original")  # the original screened again (a resumed run): not its own copy
    screening.screen(again)
    assert again.status is CandidateStatus.VALIDATED


def test_an_invalid_candidate_keeps_the_sandbox_s_stage_and_reason_and_is_no_original(
    screening: Screening,
) -> None:
    broken = proposal("g2-c1", "broken")
    screening.screen(broken)
    assert (broken.status, broken.stage, broken.reason) == (
        CandidateStatus.INVALID,
        "static",
        "line 2: import of 'os' is not allowed",
    )
    assert (
        screening.check("broken").reason
        == "rejected at the static stage: line 2: import of 'os' is not allowed"
    )


def test_the_proposers_pre_check_says_what_the_loop_would_and_the_sandbox_runs_once_per_code(
    screening: Screening,
) -> None:
    duplicate = screening.check("same behaviour")
    assert duplicate.reason == (
        "duplicate: behaves the same as original (g1-c1) on every probe input; propose something different"
    )
    assert duplicate.behaviour == [0.6, 0.8]
    assert screening.check("new").reason is None and screening.check("new").behaviour == [1.0]
    offered = proposal("g2-c1", "new")
    screening.screen(offered)  # the draft the proposer checked arrives as a proposal
    assert offered.status is CandidateStatus.VALIDATED
    assert screening.validator.asked == ["original", "same behaviour", "new"]  # type: ignore[attr-defined]
