"""The shipped objectives: loadable, documented, and equal to TRL's own implementations."""

from collections import defaultdict
from types import SimpleNamespace

import pytest
import torch
from trl import DPOTrainer

from discovery.errors import UserError
from discovery.objectives import Objective, default_seed_names, load_objective, shipped_catalog, shipped_names
from discovery.objectives.compile import ObjectiveRejected

PAPER_OBJECTIVES = {"dpo", "slic", "ipo", "kto", "discopop", "padll", "cell", "aql", "aqfl", "dbaql", "pfl"}


def random_logps(n: int, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [-torch.rand(n, generator=generator, dtype=torch.float64) * 60 for _ in range(4)]


class _FakeModel(torch.nn.Module):
    """Returns the log-probs it is given, in the shape TRL's fused LM head produces."""

    def __init__(self, per_token: torch.Tensor):
        super().__init__()
        self.per_token = per_token

    def forward(self, **_):
        rows = self.per_token.size(0)
        zeros = torch.zeros(rows, 1, dtype=self.per_token.dtype)
        return SimpleNamespace(
            log_probs=self.per_token, entropy=zeros, mean_logits=zeros, is_top1=zeros.bool(), aux_loss=None
        )


def trl_per_pair_losses(loss_type: str, beta: float, label_smoothing: float, pc, pr, rc, rr) -> torch.Tensor:
    """TRL 1.16's built-in loss for each pair, by running its `_compute_loss` on one pair at a time.

    TRL exposes no per-pair loss function any more, so a stand-in trainer carries exactly the
    attributes `_compute_loss` reads, and a stand-in model returns the chosen log-probs.
    """
    identity = SimpleNamespace(device=torch.device("cpu"), gather_for_metrics=lambda x: x, gather=lambda x: x)
    losses = []
    for i in range(len(pc)):
        model = _FakeModel(torch.stack([pc[i : i + 1], pr[i : i + 1]]))
        trainer = SimpleNamespace(
            model=SimpleNamespace(training=True),
            accelerator=identity,
            aux_loss_enabled=False,
            ld_alpha=None,
            precompute_ref_logps=True,
            f_divergence_type="reverse_kl",
            loss_types=[loss_type],
            loss_weights=[1.0],
            beta=beta,
            label_smoothing=label_smoothing,
            args=SimpleNamespace(discopop_tau=0.05),
            use_weighting=False,
            _metrics={"train": defaultdict(list)},
            _total_train_tokens=0,
            _tp_size=1,
        )
        inputs = {
            "input_ids": torch.ones(2, 2, dtype=torch.long),
            "attention_mask": torch.ones(2, 2, dtype=torch.long),
            "completion_mask": torch.tensor([[0, 1], [0, 1]]),
            "ref_chosen_logps": rc[i : i + 1],
            "ref_rejected_logps": rr[i : i + 1],
        }
        losses.append(DPOTrainer._compute_loss(trainer, model, inputs, return_outputs=False))
    return torch.stack(losses)


@pytest.mark.parametrize("beta", [0.05, 0.3])
@pytest.mark.parametrize(
    ("name", "loss_type", "label_smoothing"),
    [
        ("dpo", "sigmoid", 0.0),
        ("slic", "hinge", 0.0),
        ("discopop", "discopop", 0.0),
        ("rdpo", "robust", 0.1),
        ("exo", "exo_pair", 1e-3),
        ("nca", "nca_pair", 0.0),
        ("bco", "bco_pair", 0.0),
        ("sppo", "sppo_hard", 0.0),
        ("apo_zero", "apo_zero", 0.0),
    ],
)
def test_shipped_objective_matches_trl_builtin(
    name: str, loss_type: str, label_smoothing: float, beta: float
) -> None:
    inputs = random_logps(64, seed=7)
    ours = load_objective(name).compile()(*inputs, beta)
    theirs = trl_per_pair_losses(loss_type, beta, label_smoothing, *inputs)
    assert ours.dtype == torch.float64
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)


def test_all_paper_objectives_are_shipped_and_every_shipped_one_has_a_thought() -> None:
    assert set(default_seed_names()) == PAPER_OBJECTIVES
    for name in shipped_names():
        objective = load_objective(name)
        assert len(objective.thought) > 40, name
        losses = objective.compile()(*random_logps(5, seed=1), 0.05)
        assert losses.shape == (5,) and torch.isfinite(losses).all(), name


def test_discopop_is_the_seeded_best_by_reported_alpaca_lc() -> None:
    reported = {n: e["reported"].get("alpaca_lc_vs_sft") for n, e in shipped_catalog().items()}
    best = max((v, n) for n, v in reported.items() if v is not None)
    assert best == (65.18, "discopop")


def test_kto_keeps_one_loss_per_pair() -> None:
    losses = load_objective("kto").compile()(*random_logps(3, seed=2), 0.05)
    assert losses.shape == (3,)


def test_aliases_resolve_to_canonical_names() -> None:
    assert load_objective("hinge").name == "slic"
    assert load_objective("LRML").name == "discopop"
    assert load_objective("robust").name == "rdpo" and load_objective("apo-zero").name == "apo_zero"


def test_unknown_name_is_a_user_error_listing_known_names() -> None:
    with pytest.raises(UserError, match=r"unknown objective 'nope'.*dpo"):
        load_objective("nope")


def test_missing_file_is_a_user_error(tmp_path) -> None:
    with pytest.raises(UserError, match=r"missing\.py: No such file or directory"):
        load_objective(str(tmp_path / "missing.py"))


def test_code_hash_ignores_comments_and_docstrings(tmp_path) -> None:
    source = load_objective("dpo").source
    edited = tmp_path / "dpo_copy.py"
    edited.write_text('"""Another story."""\n# a comment\n' + source.split('"""', 2)[2])
    assert load_objective(str(edited)).code_hash == load_objective("dpo").code_hash


@pytest.mark.parametrize("expression", ["-" * 3000 + "beta", "not " * 3000 + "beta", "beta" + ".real" * 900])
def test_code_hash_and_thought_of_deeply_nested_source_never_crash(expression: str) -> None:
    """Hashing a proposal happens before the sandbox sees it: deep nesting must not end the run."""
    source = load_objective("dpo").source.replace("return ", f"return {expression} + ", 1)
    deep = Objective(name="deep", source=source, origin="proposal")
    assert len(deep.code_hash) == 16 and deep.code_hash != load_objective("dpo").code_hash
    assert deep.thought == ""  # unreadable within the limits, so no docstring is read either
    with pytest.raises(ObjectiveRejected, match="nested too deeply"):
        deep.compile()


def test_gate_refuses_forbidden_import_before_running(tmp_path) -> None:
    path = tmp_path / "evil.py"
    path.write_text(
        "import os\n\ndef loss(policy_chosen_logps, policy_rejected_logps, "
        "reference_chosen_logps, reference_rejected_logps, beta):\n    return os.getcwd()\n"
    )
    with pytest.raises(ObjectiveRejected, match="line 1"):
        load_objective(str(path)).compile()


def test_an_objective_whose_stored_name_holds_a_nul_still_compiles() -> None:
    """A name is a label in tracebacks only: one that no file name can hold must not fail training."""
    dpo = load_objective("dpo")
    named = Objective(name="dpo\x00again", source=dpo.source, origin="proposal")
    assert callable(named.compile())
