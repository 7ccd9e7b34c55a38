"""Valid objectives: every shipped one passes, verdicts carry a fingerprint, and the fingerprint tells
re-spellings of one objective apart from different objectives."""

import json
from pathlib import Path

import pytest

from discovery.objectives import PARAMETERS, load_objective, shipped_names
from discovery.sandbox import Validator, same_objective, validate_source

RHO = (
    "    rho = (policy_chosen_logps - reference_chosen_logps)\n"
    "    rho = rho - (policy_rejected_logps - reference_rejected_logps)\n"
)
SIGNATURE = f"def loss({', '.join(PARAMETERS)}):\n"
RESPELLED_DPO = (
    "import torch.nn.functional as F\n\n" + SIGNATURE + RHO + "    return F.softplus(-beta * rho)\n"
)
RESPELLED_SLIC = "import torch\n\n" + SIGNATURE + RHO + "    return torch.clamp(1 - beta * rho, min=0)\n"


@pytest.fixture(scope="module")
def validator():
    with Validator() as validator:
        yield validator


@pytest.fixture(scope="module")
def shipped(validator):
    return {name: validator.validate(load_objective(name).source) for name in shipped_names()}


def test_every_shipped_objective_is_valid(shipped):
    assert len(shipped) == 17
    for name, verdict in shipped.items():
        assert (name, verdict.ok, verdict.stage, verdict.reason) == (name, True, None, None)
        assert verdict.fingerprint and all(isinstance(v, float) for v in verdict.fingerprint)


def test_shipped_objectives_are_all_different(shipped):
    names = list(shipped)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not same_objective(shipped[a].fingerprint, shipped[b].fingerprint), (a, b)


def test_respelled_objectives_fingerprint_as_the_original(validator, shipped):
    dpo, slic = validator.validate(RESPELLED_DPO), validator.validate(RESPELLED_SLIC)
    assert same_objective(dpo.fingerprint, shipped["dpo"].fingerprint)
    assert same_objective(slic.fingerprint, shipped["slic"].fingerprint)
    assert not same_objective(dpo.fingerprint, shipped["slic"].fingerprint)


def test_fingerprint_is_reproducible(validator, shipped):
    assert (
        validator.validate(load_objective("discopop").source).fingerprint == shipped["discopop"].fingerprint
    )


def test_same_objective_tolerates_rounding_only():
    base = [0.5, -1.25, 3e-3, 0.0]
    assert same_objective(base, [v * (1 + 1e-6) for v in base])
    assert not same_objective(base, [0.5, -1.25, 3.1e-3, 0.0])
    assert not same_objective(base, base[:3])


def test_verdict_serialises_to_json(shipped):
    document = json.loads(shipped["dpo"].model_dump_json())
    assert set(document) == {
        "ok",
        "stage",
        "reason",
        "fingerprint",
        "behaviour",
        "descriptors",
        "batch_coupled",
        "beta_profile",
        "isolation",
        "seconds",
    }


def test_one_shot_validation():
    verdict = validate_source(RESPELLED_DPO)
    assert verdict.ok and verdict.seconds > 0


def test_an_objective_with_a_target_margin_is_not_taken_for_anti_aligned(validator):
    """SPPO-hard (and IPO) pull back once the margin passes their target; near the reference, where
    training starts, they push the right way, and that is where the direction is judged."""
    sppo = validator.validate(load_objective("sppo").source)
    assert sppo.ok, sppo.reason
    flipped = validator.validate((Path(__file__).parent / "objectives" / "flipped_dpo.py").read_text())
    assert flipped.stage == "functional" and "anti-aligned" in flipped.reason
