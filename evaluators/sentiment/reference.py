"""The SFT reference: a word-level tokenizer and a tiny Llama trained on the review corpus.

The model is a real `LlamaForCausalLM`, so the same TRL code path that trains it here trains a 7B
model on GPUs. A plain PyTorch loop does the supervised pre-training: it is a one-off build step,
and a loop a reader can hold in their head is easier to trust than a trainer's defaults.
"""

import math
from collections.abc import Sequence

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from discovery.progress import Progress
from evaluators.sentiment.language import Review, vocabulary
from evaluators.sentiment.settings import TaskSettings

PAD, EOS, UNK = "<pad>", "<eos>", "<unk>"


def build_tokenizer() -> PreTrainedTokenizerFast:
    """Word-level tokenizer over the language's vocabulary; words are separated by spaces."""
    words = [PAD, EOS, UNK, *vocabulary()]
    core = Tokenizer(models.WordLevel({word: index for index, word in enumerate(words)}, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token=PAD, eos_token=EOS, unk_token=UNK)
    tokenizer.padding_side = "left"  # batched generation continues every prompt from its last word
    return tokenizer


def build_model(settings: TaskSettings, vocab_size: int, seed: int) -> LlamaForCausalLM:
    """A freshly initialised tiny Llama with the preset's shape."""
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=settings.hidden_size,
        intermediate_size=settings.ffn_size,
        num_hidden_layers=settings.layers,
        num_attention_heads=settings.heads,
        num_key_value_heads=settings.heads,
        max_position_embeddings=128,
        tie_word_embeddings=True,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=None,
    )
    return LlamaForCausalLM(config)


def train_reference(
    reviews: Sequence[Review],
    tokenizer: PreTrainedTokenizerFast,
    settings: TaskSettings,
    progress: Progress,
) -> LlamaForCausalLM:
    """Next-word training on whole reviews (opening, rest, end-of-review) with a cosine schedule."""
    texts = [f"{review.opening} {review.rest} {EOS}".replace("  ", " ") for review in reviews]
    ids = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    model = build_model(settings, len(tokenizer), settings.data_seed)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.sft_lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(settings.data_seed)
    warmup = max(1, settings.sft_steps // 20)
    for step in range(settings.sft_steps):
        if step < warmup:
            scale = (step + 1) / warmup
        else:
            scale = 0.5 * (1 + math.cos(math.pi * (step - warmup) / (settings.sft_steps - warmup)))
        for group in optimizer.param_groups:
            group["lr"] = settings.sft_lr * scale
        rows = torch.randint(len(ids), (settings.sft_batch,), generator=generator).tolist()
        batch = _right_padded([ids[row] for row in rows], tokenizer.pad_token_id)
        labels = batch.masked_fill(batch == tokenizer.pad_token_id, -100)
        loss = model(input_ids=batch, attention_mask=(labels != -100).long(), labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        progress("reference", (step + 1) / settings.sft_steps)
    model.eval()
    return model


def _right_padded(rows: list[list[int]], pad: int) -> torch.Tensor:
    width = max(len(row) for row in rows)
    return torch.tensor([row + [pad] * (width - len(row)) for row in rows])
