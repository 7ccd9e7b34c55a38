"""An archived objective with beta rescaled is recognised before any training, and no two different
shipped objectives are mistaken for rescalings of each other."""

import itertools

import pytest

from discovery.objectives import load_objective, shipped_names
from discovery.records import CandidateStatus
from discovery.sandbox import Validator
from discovery.sandbox.profiles import rescale_factor
from tests.support.noisy_runs import run_loop


def rescaled(name: str, factor: float) -> str:
    """The shipped objective's code with every use of beta multiplied by `factor`."""
    source = load_objective(name).source
    header, body = source.split("beta):", 1)
    return f"{header}beta):\n    beta = {factor} * beta{body}"


@pytest.fixture(scope="module")
def profiles() -> dict[str, list[float]]:
    with Validator() as validator:
        found = {
            name: validator.validate(load_objective(name).source).beta_profile for name in shipped_names()
        }
        for name, factor in (("dpo", 1.83), ("dpo", 0.25), ("ipo", 3.0), ("slic", 0.5), ("discopop", 2.2)):
            found[f"{name}*{factor}"] = validator.validate(rescaled(name, factor)).beta_profile
    return found


@pytest.mark.parametrize(
    ("name", "factor"), [("dpo", 1.83), ("dpo", 0.25), ("ipo", 3.0), ("slic", 0.5), ("discopop", 2.2)]
)
def test_a_rescaled_copy_is_found_with_its_factor(profiles, name, factor):
    # within 10%: a hinge turns its gradients in steps, which place the factor only between two kinks
    assert rescale_factor(profiles[f"{name}*{factor}"], profiles[name]) == pytest.approx(factor, rel=0.1)


def test_different_shipped_objectives_are_never_rescalings_of_each_other(profiles):
    for first, second in itertools.permutations(shipped_names(), 2):
        assert rescale_factor(profiles[first], profiles[second]) is None, (first, second)


def test_a_small_change_of_shape_is_not_a_rescaling(profiles):
    with Validator() as validator:
        source = load_objective("dpo").source.replace(
            "return -F.logsigmoid(beta * rho)", "return -F.logsigmoid(beta * rho) + 0.01 * (beta * rho) ** 2"
        )
        assert source != load_objective("dpo").source
        assert rescale_factor(validator.validate(source).beta_profile, profiles["dpo"]) is None


def test_dpo_with_beta_rescaled_is_a_duplicate_before_any_training(tmp_path):
    from discovery.proposers.base import Proposal

    copy = Proposal(name="sharper_dpo_q0.9", thought="DPO, but sharper", code=rescaled("dpo", 1.83))
    candidates = run_loop(tmp_path, [copy])
    found = candidates["sharper_dpo_q0.9"]
    assert found.status is CandidateStatus.DUPLICATE and found.figures is None and found.job is None
    assert "is dpo (seed-dpo) with beta multiplied by 1.8" in found.reason
    assert not list((tmp_path / "runs").glob("*/jobs/g1-c1"))  # nothing was ever submitted for it
