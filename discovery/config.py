"""The configuration of a discovery run: command-line options and YAML files share one model."""

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from discovery.errors import UserError
from discovery.llm import EndpointSettings


class RunConfig(BaseModel):
    """Everything that decides what a run does; stored in the archive so `--resume` needs nothing else."""

    model_config = ConfigDict(extra="forbid")

    generations: int = Field(10, ge=0, description="generations to run (0: only score the seeds)")
    population: int = Field(1, ge=1, description="candidates proposed per generation")
    evaluator: str = "sentiment"
    evaluator_options: dict[str, Any] = Field(default_factory=dict)
    seeds: int = Field(1, ge=1, description="training seeds per candidate")
    proposer: str | None = Field(None, description="openai | builtin; None picks openai when configured")
    model: str | None = None
    base_url: str | None = None
    seed_objectives: list[str] | None = Field(None, description="shipped objectives to seed (default: all)")
    context_best: int = Field(5, ge=0, description="best candidates shown to the proposer")
    context_recent: int = Field(5, ge=0, description="most recent candidates shown to the proposer")
    random_seed: int = Field(0, description="seed of the built-in proposer's draws")
    request_timeout: float = Field(
        300.0, gt=0, le=86_400, description="seconds for a whole request to the proposer's endpoint"
    )
    connect_timeout: float = Field(10.0, gt=0, le=3600, description="seconds to connect to the endpoint")
    max_retries: int = Field(4, ge=0, le=100, description="retries of rate limits, 5xx and timeouts")
    max_reply_bytes: int = Field(
        200_000, ge=1024, description="a longer reply from the endpoint is cut off and counts as malformed"
    )

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
    """The mapping in a YAML config file; unreadable or malformed files are user errors."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise UserError(f"cannot read config {path}: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise UserError(f"config {path} is not valid YAML: {error}".splitlines()[0]) from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"config {path} must be a mapping of option: value")
    return {key.replace("-", "_"): value for key, value in data.items()}


def build_config(file_values: dict[str, Any], overrides: dict[str, Any]) -> RunConfig:
    """Config file values, then command-line values that were given (not None)."""
    merged = {**file_values, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return RunConfig(**merged)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        raise UserError(f"invalid {where}: {first['msg']}") from error
