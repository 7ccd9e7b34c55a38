"""The public API (`from discovery import load_objective, ObjectiveDPOTrainer`) in a user's own TRL
script: the README's example runs as printed, on a tiny model and dataset built here."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import discovery
from tests.fixtures.tiny_chat import build_dataset, build_model, build_tokenizer
from tests.support.commands import discover_cli_runner

ROOT = Path(__file__).resolve().parents[1]
README_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
README_DATASET = "trl-lib/ultrafeedback_binarized"


def readme_example() -> str:
    """The README's Python block that uses the public API, exactly as printed."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)
    (example,) = [block for block in blocks if "from discovery import ObjectiveDPOTrainer" in block]
    return example


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny random Llama with its tokenizer, and 16 preference pairs: 6 steps at TRL's defaults."""
    root = tmp_path_factory.mktemp("tiny")
    model_dir, data_dir = root / "model", root / "data"
    build_model(model_dir, vocab_size=len(build_tokenizer(model_dir)))
    build_dataset(data_dir, train_rows=16, test_rows=2)
    return model_dir, data_dir


@pytest.mark.slow
def test_the_readme_example_trains_with_an_exported_objective(tiny, tmp_path):
    from transformers import AutoModelForCausalLM

    model_dir, data_dir = tiny
    example = readme_example()
    code = [line for line in example.splitlines() if line and not line.startswith(("import", "from"))]
    assert len(code) <= 10 and README_MODEL in example and README_DATASET in example
    exported = discover_cli_runner("export", "cell", "-o", str(tmp_path / "cell_scaled_tuned.py"))
    assert exported.exit_code == 0, exported.output
    script = example.replace(README_MODEL, str(model_dir)).replace(README_DATASET, str(data_dir))
    finished = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"},
    )
    assert finished.returncode == 0, finished.stderr[-3000:]

    out = tmp_path / "qwen-objective"
    trained, original = (AutoModelForCausalLM.from_pretrained(d) for d in (out, model_dir))
    assert not torch.equal(trained.model.embed_tokens.weight, original.model.embed_tokens.weight)
    state = (out / "checkpoint-6" / "trainer_state.json").read_text()
    assert '"global_step": 6' in state  # TRL's defaults: 16 pairs, batch 8, 3 epochs


def test_the_trainer_takes_an_objective_or_its_loss_function_and_uses_it(tiny, tmp_path):
    """The public trainer with a loaded objective computes that objective's loss, with beta from the
    DPOConfig, exactly as with the compiled function; DPO's loss on the same batch differs."""
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from discovery.training import dpo_config

    model_dir, data_dir = tiny
    dataset = load_dataset(str(data_dir), split="train")

    def first_batch_loss(objective, beta: float) -> torch.Tensor:
        policy = AutoModelForCausalLM.from_pretrained(model_dir)
        noise = torch.Generator().manual_seed(0)
        with torch.no_grad():  # a policy away from the reference, so that the margins are not 0
            for weight in policy.parameters():
                weight.add_(0.05 * torch.randn(weight.shape, generator=noise))
        trainer = discovery.ObjectiveDPOTrainer(
            model=policy,
            ref_model=AutoModelForCausalLM.from_pretrained(model_dir),
            args=dpo_config(output_dir=str(tmp_path), beta=beta, max_length=64),
            train_dataset=dataset,
            processing_class=AutoTokenizer.from_pretrained(model_dir),
            objective=objective,
        )
        batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
        return trainer.compute_loss(trainer.model, batch).detach()

    cell = discovery.load_objective("cell")
    loaded = first_batch_loss(cell, beta=0.5)
    torch.testing.assert_close(loaded, first_batch_loss(cell.compile(), beta=0.5))
    assert not torch.allclose(loaded, first_batch_loss(cell, beta=0.05))  # beta is the config's
    assert not torch.allclose(loaded, first_batch_loss(discovery.load_objective("dpo"), beta=0.5))


def test_importing_the_package_loads_neither_torch_nor_trl():
    probe = "import sys, discovery; print('torch' in sys.modules, 'trl' in sys.modules)"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=environment)
    assert shown.stdout.split() == ["False", "False"]
