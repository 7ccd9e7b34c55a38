"""`discover show` names the TRL loss_type an objective equals, decided on TRL's own loss code."""

import importlib
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from discovery.objectives import load_objective, shipped_catalog
from discovery.objectives.objective import canonical_name
from discovery.sandbox import Validator
from discovery.training.trainer import TRL_PRIVATE_NAMES, dpo_config, trl_builtin_loss
from discovery.training.trl_losses import compute_table, load_table, match
from tests.support.commands import discover_cli_runner

SCALED_HINGE = '''"""Twice SLiC's hinge."""

import torch


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return 2 * torch.relu(1 - beta * rho)
'''


@pytest.fixture(scope="module")
def validator():
    with Validator() as started:
        yield started


def test_the_committed_table_is_what_the_installed_trl_computes():
    committed, computed = load_table(), compute_table()
    stale = "discovery/training/trl_losses.json is stale: run `python -m discovery.training.trl_losses`"
    assert committed.model_dump(exclude={"losses"}) == computed.model_dump(exclude={"losses"}), stale
    for old, new in zip(committed.losses, computed.losses, strict=True):
        assert old.config == new.config and (old.one_token is None) == (new.one_token is None), stale
        for field in ("realistic", "one_token"):
            values = [v for row in getattr(old, field) or [] for v in row]
            fresh = [v for row in getattr(new, field) or [] for v in row]
            assert all(
                math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) for a, b in zip(values, fresh, strict=True)
            )


def test_trls_loss_code_runs_on_given_log_probs_and_completion_lengths():
    """Checked against the published formulas: sigmoid and hinge on the margin, IPO on per-token means."""
    chosen, rejected = torch.tensor([-10.0, -20.0, -5.0]), torch.tensor([-12.0, -18.0, -9.0])
    reference_chosen, reference_rejected = (
        torch.tensor([-11.0, -19.0, -6.0]),
        torch.tensor([-13.0, -17.0, -7.0]),
    )
    lengths = (torch.tensor([3, 5, 1]), torch.tensor([2, 4, 7]))
    inputs = (chosen, rejected, reference_chosen, reference_rejected)
    rho = (chosen - reference_chosen) - (rejected - reference_rejected)

    def trl(loss_type: str) -> float:
        return trl_builtin_loss(dpo_config(loss_type=loss_type, beta=0.1), tuple(inputs), lengths).item()

    assert trl("sigmoid") == pytest.approx(-F.logsigmoid(0.1 * rho).mean().item())
    assert trl("hinge") == pytest.approx(torch.relu(1 - 0.1 * rho).mean().item())
    per_token = (chosen - reference_chosen) / lengths[0] - (rejected - reference_rejected) / lengths[1]
    assert trl("ipo") == pytest.approx(((per_token - 1 / (2 * 0.1)) ** 2).mean().item())


def test_shipped_seeds_match_their_trl_loss_types_and_others_match_none(validator):
    def found(source: str):
        return match(validator.comparison(source))

    dpo, slic, discopop = (found(load_objective(name).source) for name in ("dpo", "slic", "discopop"))
    assert (dpo.loss_type, dpo.factor, dpo.per_token_only) == ("sigmoid", 1.0, False)
    assert (slic.loss_type, slic.factor) == ("hinge", 1.0)
    assert (discopop.loss_type, discopop.factor) == ("discopop", 1.0)
    assert "DPOConfig(loss_type='hinge') trains it in plain TRL" in slic.sentence()
    # TRL's IPO averages over tokens, ours sums: the same formula, not the same training
    ipo = found(load_objective("ipo").source)
    assert (ipo.loss_type, ipo.per_token_only) == ("ipo", True) and "train differently" in ipo.sentence()
    scaled = found(SCALED_HINGE)
    assert (scaled.loss_type, scaled.factor) == ("hinge", pytest.approx(2.0))
    # CELL matches nothing; KTO's batch KL makes it half of apo_zero only where both averages are negative
    assert found(load_objective("cell").source) is None and found(load_objective("kto").source) is None


def test_trls_loss_types_shipped_for_comparison_are_trls_own(validator):
    """Each objective of role `trl` is its TRL configuration exactly (the same training, not a multiple
    of it), and answers to TRL's name for it."""
    configurations = {
        "rdpo": "DPOConfig(loss_type='robust', label_smoothing=0.1)",
        "exo": "DPOConfig(loss_type='exo_pair', label_smoothing=0.001)",
        "nca": "DPOConfig(loss_type='nca_pair')",
        "bco": "DPOConfig(loss_type='bco_pair')",
        "sppo": "DPOConfig(loss_type='sppo_hard')",
        "apo_zero": "DPOConfig(loss_type='apo_zero')",
    }
    assert [name for name, entry in shipped_catalog().items() if entry["role"] == "trl"] == list(
        configurations
    )
    for name, call in configurations.items():
        found = match(validator.comparison(load_objective(name).source))
        assert found is not None, name
        assert (found.call, found.factor, found.per_token_only) == (call, 1.0, False), name
        assert canonical_name(found.loss_type) == name


def test_show_prints_the_trl_line_and_json_carries_it(tmp_path: Path):
    runs = str(tmp_path / "runs")
    shown = discover_cli_runner("show", "slic", "--runs-dir", runs)
    assert shown.exit_code == 0, shown.output
    line = " ".join(shown.stdout.split())
    assert "TRL: equals loss_type='hinge' of TRL 1.16.0: DPOConfig(loss_type='hinge')" in line
    # what the claim was decided on: small probes and batches of the sizes training uses
    checked = "checked on 7 batches of 8 to 64 pairs (16, 32 and 64 pairs like training) at beta 0.05, 0.2, 1"
    assert checked in line
    as_json = discover_cli_runner("show", "cell", "--runs-dir", runs, "--json")
    assert json.loads(as_json.stdout)["trl"] is None
    as_json = discover_cli_runner("show", "dpo", "--runs-dir", runs, "--json")
    assert json.loads(as_json.stdout)["trl"]["call"] == "DPOConfig(loss_type='sigmoid')"


def test_every_private_trl_name_the_trainer_uses_exists():
    def owner_object(path: str) -> object:
        try:
            return importlib.import_module(path)
        except ModuleNotFoundError:  # a class: "trl.DPOTrainer"
            module, _, name = path.rpartition(".")
            return getattr(importlib.import_module(module), name)

    for owner, name in TRL_PRIVATE_NAMES:
        if owner.endswith(" instance"):
            continue  # set by DPOTrainer.__init__; every test that trains builds one
        assert hasattr(owner_object(owner), name), f"{owner}.{name} is gone from the installed TRL"
