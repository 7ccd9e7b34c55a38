"""The configuration of a discovery run: command-line options and YAML files share one model.

Every field of `RunConfig` is both a `discover run` option (`--context-best`) and a key of a YAML
config file (`context_best:` or `context-best:`); `--set KEY=VALUE` is `evaluator_options:`. A run's
configuration is the defaults, then the file, then the command line, merged key by key: a mapping
(`evaluator_options`) is merged option by option, so `--set beta=0.3` over a file's
`evaluator_options: {preset: tiny, beta: 0.5}` keeps `preset: tiny`.

Everything a run needs from its configuration is checked here, before a run is created: numbers
within bounds, seed objectives that exist and are distinct, an endpoint URL that parses. A start
that fails leaves nothing behind, so no half-made run fails again on every `--resume`.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from discovery.errors import UserError, validation_message
from discovery.llm import EndpointSettings, EndpointURL
from discovery.options import load_yaml
from discovery.user_files import read_text_file

MAX_SEEDS = 1000  # training seeds per candidate, in a run or `discover evaluate`


class RunConfig(BaseModel):
    """Everything that decides what a run does; stored in the archive so `--resume` needs nothing else."""

    model_config = ConfigDict(extra="forbid")

    generations: int = Field(10, ge=0, le=100_000, description="generations to run (0: only score the seeds)")
    population: int = Field(1, ge=1, le=1000, description="candidates proposed per generation")
    evaluator: str = Field(
        "sentiment", min_length=1, description="inner task that trains and scores candidates"
    )
    evaluator_options: dict[str, Any] = Field(
        default_factory=dict, description="the evaluator's options (see `discover evaluators`)"
    )
    seeds: int = Field(1, ge=1, le=MAX_SEEDS, description="training seeds per candidate")
    proposer: Literal["openai", "builtin"] | None = Field(
        None, description="openai or builtin (unset: openai when an endpoint is configured, else builtin)"
    )
    model: str | None = Field(
        None, min_length=1, description="model name at the proposer's OpenAI-compatible endpoint"
    )
    base_url: EndpointURL | None = Field(
        None, description="the proposer's OpenAI-compatible endpoint (vLLM, Ollama, ...)"
    )
    seed_objectives: list[str] | None = Field(
        None, description="shipped objectives seeding the archive, comma-separated (unset: all)"
    )
    context_best: int = Field(5, ge=0, le=100, description="best candidates shown to the proposer")
    context_recent: int = Field(5, ge=0, le=100, description="most recent candidates shown to the proposer")
    random_seed: int = Field(0, ge=0, le=2**63 - 1, description="seed of the built-in proposer's draws")
    request_timeout: float = Field(
        300.0, gt=0, le=86_400, description="seconds for a whole request to the proposer's endpoint"
    )
    connect_timeout: float = Field(10.0, gt=0, le=3600, description="seconds to connect to the endpoint")
    max_retries: int = Field(4, ge=0, le=100, description="retries of rate limits, 5xx and timeouts")
    max_reply_bytes: int = Field(
        200_000,
        ge=1024,
        le=100_000_000,
        description="a longer reply from the endpoint is cut off and counts as malformed",
    )

    @field_validator("seed_objectives", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """`dpo,slic` (the command line's form) is the list [dpo, slic]."""
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("seed_objectives")
    @classmethod
    def _shipped_and_distinct(cls, names: list[str] | None) -> list[str] | None:
        """Each seed a shipped objective (by its canonical name: `sigmoid` is `dpo`), each once."""
        if names is None:
            return None
        from discovery.objectives import shipped_names
        from discovery.objectives.objective import canonical_name

        if not names:
            raise ValueError("name at least one shipped objective, or leave it unset for all of them")
        canonical = [canonical_name(name) for name in names]
        unknown = [name for name, found in zip(names, canonical, strict=True) if found is None]
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)}: seeds are shipped objectives ({', '.join(shipped_names())})"
            )
        twice = sorted({name for name in canonical if canonical.count(name) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} named more than once")
        return canonical

    def endpoint(self, model: str) -> EndpointSettings:
        """The proposer's endpoint settings, for `model`."""
        return EndpointSettings(
            model=model,
            base_url=self.base_url,
            timeout=self.request_timeout,
            connect_timeout=self.connect_timeout,
            max_retries=self.max_retries,
            max_reply_bytes=self.max_reply_bytes,
        )

    @property
    def training_seeds(self) -> list[int]:
        return list(range(self.seeds))


def load_config_file(path: Path) -> dict[str, Any]:
    """The mapping in a YAML config file, keys with underscores; unreadable or malformed files and
    keys that are not options are user errors."""
    text = read_text_file(path, "config")
    try:
        data = load_yaml(text)
    except yaml.YAMLError as error:
        raise UserError(f"config {path} is not valid YAML: {error}".splitlines()[0]) from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"config {path} must be a mapping of option: value")
    values = _underscored(data)
    unknown = [key for key in values if key not in RunConfig.model_fields]
    if unknown:
        raise UserError(
            f"config {path}: {', '.join(map(str, unknown))} is not an option of discover run (options: "
            f"{', '.join(RunConfig.model_fields)}; evaluator options go under evaluator_options:)"
        )
    if isinstance(values.get("evaluator_options"), dict):
        values["evaluator_options"] = _underscored(values["evaluator_options"])
    return values


def build_config(file_values: Mapping[str, Any], overrides: Mapping[str, Any]) -> RunConfig:
    """The defaults, then the config file's values, then the command-line values that were given (not
    None), merged key by key (mappings recursively)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return RunConfig.model_validate(merge(file_values, given))
    except ValidationError as error:
        raise UserError(f"invalid {validation_message(error)}") from error


def merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `top`'s values in place; where both hold a mapping, the two are merged the same way."""
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        both_mappings = isinstance(below, Mapping) and isinstance(value, Mapping)
        merged[key] = merge(below, value) if both_mappings else value
    return merged


def _underscored(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    """Keys as options are spelled in Python (`max-steps` is `max_steps`), as on the command line."""
    return {key.replace("-", "_") if isinstance(key, str) else key: value for key, value in mapping.items()}
