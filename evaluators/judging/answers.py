"""A model answers a question set, turn after turn, with its own chat template.

Each turn is one batched generation over every question that has it; the conversation so far
(earlier questions and the model's own earlier answers) is the prompt, as MT-Bench prescribes.
vLLM generates when it is installed and a GPU is present; transformers' `generate` otherwise. Greedy
decoding by default, so a rerun of the same model gives the same answers (and only cached judgments).
"""

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from discovery.errors import UserError
from discovery.progress import Progress, no_progress
from discovery.sandbox.outputs import UntrustedOutput
from evaluators.judging.questions import Question

Messages = list[dict[str, str]]
Generate = Callable[[list[Messages]], list[str]]


class GenerationSettings(BaseModel):
    """How the model answers; every field changes the answers, so all are part of `config()`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_new_tokens: int = Field(1024, gt=0, description="answer length limit per turn (FastChat's default)")
    temperature: float = Field(0.0, ge=0, description="0: greedy decoding, repeatable answers")
    answer_batch_size: int = Field(16, gt=0, description="conversations per transformers generate call")
    backend: Literal["auto", "transformers", "vllm"] = Field(
        "auto", description="auto: vLLM when installed and a GPU is present, else transformers"
    )


def answer_questions(
    model_path: str,
    questions: list[Question],
    settings: GenerationSettings,
    seed: int = 0,
    progress: Progress = no_progress,
    tokenizer: str | None = None,
) -> dict[str, list[str]]:
    """Answers per question id, one per turn, from the model saved at `model_path` (weights from
    safetensors only, no remote code) with the tokenizer and chat template at `tokenizer` (default:
    the model's own)."""
    backend = _pick_backend(settings.backend)
    runner = _vllm if backend == "vllm" else _transformers
    generate, release = runner(model_path, tokenizer or model_path, settings, seed)
    try:
        return converse(questions, generate, progress)
    finally:
        release()


def converse(
    questions: list[Question], generate: Generate, progress: Progress = no_progress
) -> dict[str, list[str]]:
    """Answer turn 1 of every question, then turn 2 with the first exchange as context, and so on."""
    answers: dict[str, list[str]] = {question.id: [] for question in questions}
    conversations: dict[str, Messages] = {question.id: [] for question in questions}
    turns = max(len(question.turns) for question in questions)
    for turn in range(turns):
        active = [question for question in questions if turn < len(question.turns)]
        for question in active:
            conversations[question.id].append({"role": "user", "content": question.turns[turn]})
        replies = generate([conversations[question.id] for question in active])
        for question, reply in zip(active, replies, strict=True):
            answers[question.id].append(reply)
            conversations[question.id].append({"role": "assistant", "content": reply})
        progress("answer", (turn + 1) / turns)
    return answers


def _pick_backend(choice: str) -> str:
    if choice != "auto":
        return choice
    import importlib.util

    import torch

    return "vllm" if importlib.util.find_spec("vllm") and torch.cuda.is_available() else "transformers"


def _transformers(
    model_path: str, tokenizer_path: str, settings: GenerationSettings, seed: int
) -> tuple[Generate, Callable[[], None]]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_path, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(
            model_path, dtype=dtype, use_safetensors=True, trust_remote_code=False
        )
        model = model.to(device).eval()
    except OSError as error:
        raise UserError(f"cannot load the model to answer with from {model_path}: {error}") from error
    if tokenizer.chat_template is None:
        raise UserError(f"the tokenizer of {tokenizer_path} has no chat template; answers need one")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    set_seed(seed)

    @torch.inference_mode()
    def generate(conversations: list[Messages]) -> list[str]:
        prompts = [
            tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
            for c in conversations
        ]
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # similar lengths pad less
        replies: list[str] = [""] * len(prompts)
        for start in range(0, len(order), settings.answer_batch_size):
            batch = order[start : start + settings.answer_batch_size]
            encoded = tokenizer(
                [prompts[i] for i in batch], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(device)
            sampling = (
                {"do_sample": True, "temperature": settings.temperature}
                if settings.temperature
                else {"do_sample": False}
            )
            output = model.generate(
                **encoded,
                max_new_tokens=settings.max_new_tokens,
                pad_token_id=pad_id,
                **sampling,
            )
            new_tokens = output[:, encoded["input_ids"].shape[1] :]
            for index, text in zip(
                batch, tokenizer.batch_decode(new_tokens, skip_special_tokens=True), strict=True
            ):
                replies[index] = text.strip()
        return replies

    def release() -> None:
        nonlocal model
        del model
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()

    return generate, release


def _vllm(
    model_path: str, tokenizer_path: str, settings: GenerationSettings, seed: int
) -> tuple[Generate, Callable[[], None]]:
    import torch
    from vllm import LLM, SamplingParams

    llm = LLM(
        model=model_path,
        tokenizer=tokenizer_path,
        dtype="bfloat16",
        seed=seed,
        load_format="safetensors",
        trust_remote_code=False,
    )
    params = SamplingParams(temperature=settings.temperature, max_tokens=settings.max_new_tokens, seed=seed)

    def generate(conversations: list[Messages]) -> list[str]:
        outputs = llm.chat(conversations, params, use_tqdm=False)
        return [output.outputs[0].text.strip() for output in outputs]

    def release() -> None:
        nonlocal llm
        del llm
        gc.collect()
        torch.cuda.empty_cache()

    return generate, release


_SHAPE_FIELDS = ("model_type", "architectures", "hidden_size", "num_hidden_layers", "vocab_size")


def trained_model_folder(folder: Path, base_model: str) -> Path:
    """`folder` if a confined trainer left a model there that the scorer may load: weights in
    safetensors (the only format the answering code loads, so nothing is unpickled; the trainer's
    own `training_args.bin` is never read), no links, and the architecture of `base_model`."""
    from transformers import AutoConfig

    if not folder.is_dir() or folder.is_symlink():
        raise UntrustedOutput("the trainer wrote no model folder")
    entries = list(folder.rglob("*"))
    if any(entry.is_symlink() for entry in entries):
        raise UntrustedOutput("the model folder holds links")
    if not any(entry.suffix == ".safetensors" for entry in entries):
        raise UntrustedOutput("the model folder holds no safetensors weights")
    trained = AutoConfig.from_pretrained(str(folder), trust_remote_code=False).to_dict()
    base = AutoConfig.from_pretrained(base_model, trust_remote_code=False).to_dict()
    changed = [field for field in _SHAPE_FIELDS if trained.get(field) != base.get(field)]
    if changed:
        raise UntrustedOutput(f"the trained model's {', '.join(changed)} differ from {base_model}'s")
    return folder
