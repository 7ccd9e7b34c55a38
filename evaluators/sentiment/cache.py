"""Build the task's artefacts once, atomically, and load them back.

Layout of `<cache_dir>/sentiment-<hash of TaskSettings>/`:
    tokenizer/   reference/   (save_pretrained folders, for anyone who wants to load the reference)
    train/       the preference pairs (datasets on disk) and TRL's cached reference log-probs
    heldout.json held-out prompts, one reference sample each with its oracle reward, and held-out
                 oracle-ordered pairs with their reference log-probs
    manifest.json the settings and a few figures about the build
    baselines.json the measured seconds of DPO's training per training settings (`time_baseline`)
Everything is written into a temporary sibling folder that is renamed into place at the end, so an
interrupted build leaves no half cache behind.
"""

import hashlib
import json
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from datasets import Dataset, load_from_disk
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from discovery.errors import UserError
from discovery.objectives import load_objective
from discovery.progress import Progress
from discovery.sandbox.confine import open_for_reading
from evaluators.sentiment.language import ReviewWriter
from evaluators.sentiment.oracle import reward, win_rate
from evaluators.sentiment.preferences import bradley_terry_pairs, oracle_pairs
from evaluators.sentiment.reference import build_tokenizer, train_reference
from evaluators.sentiment.sampling import completion_logps, sample
from evaluators.sentiment.settings import TaskSettings, TrainSettings
from evaluators.sentiment.train import make_trainer


@dataclass
class HeldOut:
    """What scoring needs besides the models: prompts, the reference's samples, and ranked pairs."""

    prompts: list[str]
    reference_rewards: list[list[float]]  # per prompt, the oracle rewards of `reference_samples` samples
    pair_prompts: list[str]
    chosen_ids: list[list[int]]
    rejected_ids: list[list[int]]
    reference_margins: list[float]  # log pi_ref(chosen) - log pi_ref(rejected), per pair


@dataclass
class Artefacts:
    """The loaded cache."""

    folder: Path
    tokenizer: PreTrainedTokenizerFast
    reference: LlamaForCausalLM
    heldout: HeldOut
    manifest: dict

    def policy(self) -> LlamaForCausalLM:
        """A fresh trainable copy of the reference, loaded from disk (identical weights, so TRL's
        fingerprint of the reference log-probs matches the cached one)."""
        return LlamaForCausalLM.from_pretrained(self.folder / "reference")

    def policy_bytes(self) -> int:
        """Bytes of the policy's weights (the reference's shape), for capping what a trainer wrote."""
        return sum(tensor.numel() * tensor.element_size() for tensor in self.reference.state_dict().values())

    def train_dataset(self) -> Dataset:
        """The preference pairs, loaded from disk so that TRL finds its cached files next to them."""
        return load_from_disk(str(self.folder / "train"))


def folder_for(cache_dir: Path, settings: TaskSettings) -> Path:
    """Where the artefacts of `settings` live."""
    return cache_dir / f"sentiment-{settings.digest()}"


def load_or_build(cache_dir: Path, settings: TaskSettings, progress: Progress) -> Artefacts:
    """Load the artefacts, building them first if they are missing; a cache folder that cannot be
    written (read-only media, a full disk) is one line saying where.

    The build runs on one torch thread: floating-point sums then come out the same on any machine,
    so the same settings give the same task (reference model, data, held-out set) everywhere."""
    folder = folder_for(cache_dir, settings)
    try:
        if not (folder / "manifest.json").is_file():
            _build_into(folder, settings, progress)
        open_for_reading(folder)
    except OSError as error:
        raise UserError(
            f"cannot write the task's cache in {cache_dir}: {error.strerror or error} "
            "(set DISCOVER_CACHE to a writable folder)"
        ) from error
    return _load(folder)


def _build_into(folder: Path, settings: TaskSettings, progress: Progress) -> None:
    """Build in a temporary sibling folder and rename it into place: no half cache, ever."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        _build(staging, settings, progress)
        staging.rename(folder)
    except OSError:
        if not (folder / "manifest.json").is_file():  # not a concurrent build that finished first
            raise
    finally:
        torch.set_num_threads(threads)
        shutil.rmtree(staging, ignore_errors=True)


def _load(folder: Path) -> Artefacts:
    # Built from code, not loaded: TRL's cache key hashes the tokenizer object, and a loaded one
    # remembers the folder it came from (which the atomic rename changes)
    tokenizer = build_tokenizer()
    reference = LlamaForCausalLM.from_pretrained(folder / "reference").eval()
    heldout = HeldOut(**json.loads((folder / "heldout.json").read_text()))
    return Artefacts(
        folder, tokenizer, reference, heldout, json.loads((folder / "manifest.json").read_text())
    )


def _build(staging: Path, settings: TaskSettings, progress: Progress) -> None:
    started = time.perf_counter()
    writer = ReviewWriter(settings.data_seed)
    corpus = list(writer.reviews(settings.corpus_reviews))
    train_prompts = [review.opening for review in writer.reviews(settings.train_pairs)]
    heldout_prompts = [review.opening for review in writer.reviews(settings.heldout_prompts)]

    tokenizer = build_tokenizer()
    reference = train_reference(corpus, tokenizer, settings, progress)
    tokenizer.save_pretrained(staging / "tokenizer")
    reference.save_pretrained(staging / "reference")

    seed, length = settings.data_seed, settings.max_new_tokens
    first = sample(reference, tokenizer, train_prompts, length, seed + 1, progress, "data")
    second = sample(reference, tokenizer, train_prompts, length, seed + 2, progress, "data")
    pairs = bradley_terry_pairs(
        train_prompts, first, second, settings.bradley_terry_temperature, seed + 3, settings.label_noise
    )
    pairs.save_to_disk(str(staging / "train"))

    references = [
        sample(reference, tokenizer, heldout_prompts, length, seed + 100 + k, progress, "data")
        for k in range(settings.reference_samples)
    ]
    baseline = references[0]
    pair_prompts = heldout_prompts[: settings.heldout_pairs]
    extra = sample(reference, tokenizer, pair_prompts, length, seed + 5, progress, "data")
    ranked = oracle_pairs(pair_prompts, baseline[: settings.heldout_pairs], extra)
    margins = completion_logps(
        reference, tokenizer, ranked["prompt"], ranked["chosen_ids"]
    ) - completion_logps(reference, tokenizer, ranked["prompt"], ranked["rejected_ids"])
    heldout = HeldOut(
        prompts=heldout_prompts,
        reference_rewards=[
            [reward(c.text) for c in per_prompt] for per_prompt in zip(*references, strict=True)
        ],
        pair_prompts=ranked["prompt"],
        chosen_ids=ranked["chosen_ids"],
        rejected_ids=ranked["rejected_ids"],
        reference_margins=margins.tolist(),
    )
    (staging / "heldout.json").write_text(json.dumps(asdict(heldout)))

    progress("reference log-probs", None)
    _precompute_reference_logps(staging, tokenizer)
    manifest = {
        "settings": settings.model_dump(),
        "build_seconds": round(time.perf_counter() - started, 1),
        "train_pairs": len(pairs),
        "label_ties": sum(
            c == r for c, r in zip(pairs["chosen_reward"], pairs["rejected_reward"], strict=True)
        ),
        "mean_reference_reward": statistics.fmean(
            r for rewards in heldout.reference_rewards for r in rewards
        ),
        "heldout_pairs": len(heldout.pair_prompts),
        # the fitness of a policy that did not move: a further reference sample per prompt (~0.5)
        "unchanged_policy_fitness": win_rate(
            [
                reward(c.text)
                for c in sample(reference, tokenizer, heldout_prompts, length, seed + 6, progress, "data")
            ],
            heldout.reference_rewards,
        ),
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))


def _precompute_reference_logps(staging: Path, tokenizer: PreTrainedTokenizerFast) -> None:
    """Let TRL compute the reference log-probs of the training pairs and cache them beside the data.

    Building the trainer is enough: TRL precomputes in its constructor. The objective and training
    settings do not enter TRL's fingerprint, so any candidate later reuses this file.
    """
    with torch.no_grad(), tempfile.TemporaryDirectory() as output:
        make_trainer(
            LlamaForCausalLM.from_pretrained(staging / "reference"),
            tokenizer,
            load_from_disk(str(staging / "train")),
            load_objective("dpo").compile(),
            TrainSettings(),
            seed=0,
            beta=0.1,  # the reference log-probs do not depend on it
            output_dir=Path(output),
        )


BASELINES_FILE = "baselines.json"


def recorded_baseline(folder: Path, train: TrainSettings) -> float | None:
    """The measured seconds of DPO's training with `train` on the task in `folder`, if recorded."""
    try:
        seconds = json.loads((folder / BASELINES_FILE).read_text()).get(_train_key(train))
    except (OSError, ValueError, AttributeError):
        return None
    return float(seconds) if isinstance(seconds, int | float) and seconds > 0 else None


def time_baseline(artefacts: Artefacts, train: TrainSettings) -> float:
    """Train DPO once with `train` (seed 0, the grid's first beta) and record its seconds in the
    task's folder: the measure every candidate's training deadline derives from
    (`TrainingLimits.from_baseline`). Done once per task and training settings, by the trusted
    process that prepares the task, on one torch thread like the build, so a machine with more
    cores does not shorten the deadline of trainers that get fewer. A folder that cannot be written
    keeps no record: the next preparation measures again."""
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with tempfile.TemporaryDirectory() as output:
            started = time.perf_counter()  # all a confined training does: load, set up, train
            trainer = make_trainer(
                artefacts.policy(),
                artefacts.tokenizer,
                artefacts.train_dataset(),
                load_objective("dpo").compile(),
                train,
                seed=0,
                beta=train.betas[0],
                output_dir=Path(output),
            )
            trainer.train()
            seconds = round(time.perf_counter() - started, 2)
    finally:
        torch.set_num_threads(threads)
    path = artefacts.folder / BASELINES_FILE
    try:
        recorded = json.loads(path.read_text()) if path.is_file() else {}
        staging = path.with_name(f".{BASELINES_FILE}.{os.getpid()}")
        staging.write_text(json.dumps({**recorded, _train_key(train): seconds}, indent=2))
        staging.chmod(0o644)
        staging.replace(path)
    except (OSError, ValueError):
        pass
    return seconds


def _train_key(train: TrainSettings) -> str:
    return hashlib.sha256(json.dumps(train.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]
