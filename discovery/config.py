"""The configuration of a discovery run: command-line options and YAML files share one model.

Every field of `RunConfig` is both a `discover run` option (`--context-best`) and a key of a YAML
config file (`context_best:` or `context-best:`); `--set KEY=VALUE` is `evaluator_options:`. A run's
configuration is the defaults, then the file, then the command line, merged key by key: a mapping
(`evaluator_options`) is merged option by option, so `--set learning_rate=3e-4` over a
file's `evaluator_options: {preset: tiny, learning_rate: 1e-3}` keeps `preset: tiny`.

Everything a run needs from its configuration is checked here, before a run is created: numbers
within bounds, seed objectives that exist and are distinct, an endpoint URL that parses. A start
that fails leaves nothing behind, so no half-made run fails again on every `--resume`.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from discovery.errors import UserError, validation_message
from discovery.llm import EndpointSettings, EndpointURL
from discovery.options import load_yaml
from discovery.suite import DEFAULT, SINGLE, SuiteChoice
from discovery.user_files import read_text_file

MAX_SEEDS = 1000  # training seeds per candidate, in a run or `discover evaluate`
LOCAL_ATTEMPTS = 2  # a candidate whose training killed the process running it twice fails


def parse_seeds(value: Any) -> Any:
    """The command line's forms of a seed choice: `5` (a count), `3,7,11` or `[3]` (the seeds)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not ("," in text or text.startswith("[")):
        return text
    items = [item.strip() for item in text.removeprefix("[").removesuffix("]").split(",") if item.strip()]
    try:
        return [int(item) for item in items]
    except ValueError:
        raise ValueError(f"{value!r}: seeds are a count (5) or a list of seeds (3,7,11 or [3])") from None


def check_seeds(value: int | list[int]) -> int | list[int]:
    """A count within 1..MAX_SEEDS, or distinct seeds within 0..2**31-1, at most MAX_SEEDS of them."""
    if isinstance(value, int):
        if not 1 <= value <= MAX_SEEDS:
            raise ValueError(f"a count of seeds is between 1 and {MAX_SEEDS}, not {value}")
        return value
    if not value or len(value) > MAX_SEEDS:
        raise ValueError(f"name between 1 and {MAX_SEEDS} seeds")
    if any(not 0 <= seed < 2**31 for seed in value):
        raise ValueError("seeds are between 0 and 2147483647")
    if len(set(value)) != len(value):
        raise ValueError("a seed is named twice")
    return value


def seed_list(seeds: int | list[int]) -> list[int]:
    """The seeds themselves: a count K means 0..K-1."""
    return list(range(seeds)) if isinstance(seeds, int) else list(seeds)


SeedChoice = Annotated[int | list[int], BeforeValidator(parse_seeds), AfterValidator(check_seeds)]
SEED_FORMS = "a count (3: seeds 0-2) or the seeds (3,7 or [3])"  # how a user writes a `SeedChoice`


def read_seeds(value: Any) -> list[int]:
    """The seeds a user chose (`--seeds 5`, `--seeds 3,7`), or one line saying what is wrong."""
    try:
        return seed_list(TypeAdapter(SeedChoice).validate_python(value))
    except ValidationError as error:
        raise UserError(f"invalid --seeds {value}: {validation_message(error)}") from None


class SlurmSettings(BaseModel):
    """What every candidate's Slurm job asks for; the YAML keys under `executor: slurm:`."""

    model_config = ConfigDict(extra="forbid")

    partition: str | None = Field(None, description="partition to submit to; None: the cluster's default")
    account: str | None = Field(None, description="account to charge")
    qos: str | None = Field(None, description="quality of service")
    time_limit_min: int = Field(120, gt=0, description="wall-clock limit of one candidate's job, minutes")
    gpus_per_job: int = Field(0, ge=0, description="GPUs per job (on one node)")
    cpus_per_job: int = Field(2, gt=0, description="CPU cores per job; its torch threads")
    mem_gb: float | None = Field(None, gt=0, description="memory per job, GB; None: the partition's default")
    extra_sbatch: dict[str, str] = Field(
        default_factory=dict, description='further sbatch options, e.g. {"constraint": "a100"}'
    )
    setup: list[str] = Field(
        default_factory=list, description="shell lines run before the job, e.g. `source venv/bin/activate`"
    )
    max_resubmits: int = Field(2, ge=0, description="resubmissions of a job the cluster lost, then it fails")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def duration(value: Any) -> Any:
    """`90m`, `2h`, `45s` or plain seconds, as seconds; anything else is left to the field's type."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    number, unit = (text[:-1], _UNITS[text[-1]]) if text[-1:] in _UNITS else (text, 1)
    try:
        return float(number) * unit
    except ValueError:
        raise ValueError(f"{value!r} is no duration: write seconds, or e.g. 45s, 90m, 2h, 1d") from None


class RacingSettings(BaseModel):
    """How a run spends its seeds (see `discovery.racing`); the YAML keys under `racing:`."""

    model_config = ConfigDict(extra="forbid")

    first_seeds: int = Field(
        1, ge=1, le=MAX_SEEDS, description="seeds every objective gets at each beta of the grid first"
    )
    best_needs: int = Field(
        3, ge=1, le=MAX_SEEDS, description="seeds at its best beta the run's best needs (at most --seeds)"
    )
    confidence: float = Field(
        0.9, gt=0, lt=1, description="coverage of the intervals that racing and the leaderboard use"
    )
    baseline: str = Field(
        "dpo", min_length=1, description="shipped objective every candidate is compared with, seed by seed"
    )

    @field_validator("baseline")
    @classmethod
    def _shipped(cls, name: str) -> str:
        from discovery.objectives import shipped_names
        from discovery.objectives.objective import canonical_name

        canonical = canonical_name(name)
        if canonical is None:
            raise ValueError(f"{name}: the baseline is a shipped objective ({', '.join(shipped_names())})")
        return canonical


class TransferSettings(BaseModel):
    """The held-out check at the end of a run (`discovery.transfer`); the YAML keys under `transfer:`."""

    model_config = ConfigDict(extra="forbid")

    top: int = Field(
        2, ge=0, le=100, description="best proposals confirmed on the held-out variants (0: none)"
    )
    seeds: int | None = Field(
        None,
        ge=1,
        le=MAX_SEEDS,
        description="fresh seeds of each confirmation, on every held-out variant; unset: the fewest "
        "with which a confirmation can succeed at all (with n trainings in all no p-value is below "
        "2/2**n, and Holm multiplies it by top): 8 on one variant, 3 on three",
    )


def parse_model(value: Any) -> Any:
    """The command line's form of an ensemble member: `MODEL` or `MODEL@BASE_URL` (a model name has
    no `@`; a URL's user part may)."""
    if not isinstance(value, str):
        return value
    model, _, base_url = value.strip().partition("@")
    return {"model": model, "base_url": base_url or None}


class ModelSettings(BaseModel):
    """One model of the proposer's ensemble; the YAML items under `models:`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1, description="model name at its endpoint")
    base_url: EndpointURL | None = Field(
        None, description="its OpenAI-compatible endpoint; unset: the run's base_url, else api.openai.com"
    )
    prompt_price: float | None = Field(None, ge=0, description="USD per million prompt tokens")
    completion_price: float | None = Field(None, ge=0, description="USD per million completion tokens")


EnsembleMember = Annotated[ModelSettings, BeforeValidator(parse_model)]


class SearchSettings(BaseModel):
    """How the population is structured and varied (`discovery.population`, the built-in proposer's
    operators); the YAML keys under `search:`. `islands: 1, behaviour_map: false, operators: classic`
    is the search before islands, the map and program mutations (one list, tournament, blends)."""

    model_config = ConfigDict(extra="forbid")

    islands: int = Field(2, ge=1, le=64, description="islands the population is split into")
    migration_interval: int = Field(
        3, ge=1, le=10_000, description="generations between migrations (each island's best to the next)"
    )
    migration_size: int = Field(1, ge=0, le=100, description="candidates each island sends at a migration")
    stall_generations: int = Field(
        4,
        ge=1,
        le=10_000,
        description="generations an island may go without improving its best before it is reseeded",
    )
    behaviour_map: bool = Field(
        True, description="draw parents and examples from the elites of the behaviour map's cells too"
    )
    operators: Literal["all", "classic"] = Field(
        "all",
        description="the built-in proposer's operators: all (program mutations and the classic moves) "
        "or classic (blends, modulations, margins, tails, retuning only)",
    )


class ExecutorSettings(BaseModel):
    """Where candidates train; the YAML section `executor:` (flags for the common fields)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "slurm"] = Field(
        "local", description="where candidates train: local (this machine) or slurm (a cluster)"
    )
    workers: int | None = Field(
        None,
        ge=1,
        le=10_000,
        description="candidate evaluations in flight at once; unset: local, one per core on CPU (as "
        "memory allows) or per gpus_per_job GPUs; slurm, 1",
    )
    threads_per_job: int | None = Field(
        None, ge=1, description="local: torch threads per job; None: the cores shared out between workers"
    )
    gpus_per_job: int = Field(1, ge=1, description="local, on a GPU machine: GPUs each job sees")
    training_timeout: float | None = Field(
        None,
        gt=0,
        description="seconds (or 30m, 2h) one training may run, in place of the evaluator's deadline "
        "(sentiment: 10 x its baseline's measured training time, at least 30 s)",
    )
    slurm: SlurmSettings = Field(default_factory=SlurmSettings)

    @field_validator("training_timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return duration(value)

    @property
    def attempts(self) -> int:
        """How many times a candidate's evaluation may be lost before the candidate fails: locally
        `LOCAL_ATTEMPTS`; on a cluster, the first job and its `max_resubmits`."""
        return 1 + self.slurm.max_resubmits if self.kind == "slurm" else LOCAL_ATTEMPTS


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
    suite: SuiteChoice = Field(
        DEFAULT,
        description=f"task suite (`discovery.suite`): a suite the evaluator ships (`discover evaluators` "
        f"lists them), {DEFAULT} (the evaluator's default suite), {SINGLE} (its task alone), or in a "
        "config file a definition (meta_train: and meta_test: variants)",
    )
    seeds: SeedChoice = Field(3, description=f"training seeds an objective may get: {SEED_FORMS}")
    racing: RacingSettings = Field(
        default_factory=RacingSettings, description="how seeds are spent: first estimate, racing, baseline"
    )
    proposer: Literal["openai", "builtin"] | None = Field(
        None, description="openai or builtin (unset: openai when an endpoint is configured, else builtin)"
    )
    model: str | None = Field(
        None, min_length=1, description="model name at the proposer's OpenAI-compatible endpoint"
    )
    base_url: EndpointURL | None = Field(
        None, description="the proposer's OpenAI-compatible endpoint (vLLM, Ollama, ...)"
    )
    models: list[EnsembleMember] = Field(
        default_factory=list,
        description="the proposer's ensemble, a model per request chosen by a bandit on improvement per "
        "cost: MODEL or MODEL@BASE_URL, repeated (prices in a config file); unset: --model alone",
    )
    summary_interval: int = Field(
        3,
        ge=0,
        le=10_000,
        description="generations between the LLM's meta-summaries of what worked, shown to later "
        "requests (0: none)",
    )
    seed_objectives: list[str] | None = Field(
        None,
        description="shipped objectives seeding the archive, comma-separated (unset: the paper's "
        "seeds and discoveries)",
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
    executor: ExecutorSettings = Field(
        default_factory=ExecutorSettings, description="where candidates train: local workers or Slurm"
    )
    search: SearchSettings = Field(
        default_factory=SearchSettings, description="population structure, the built-in proposer's operators"
    )
    transfer: TransferSettings = Field(
        default_factory=TransferSettings, description="held-out variants the best are re-evaluated on"
    )
    max_candidates: int | None = Field(None, ge=0, description="stop proposing after this many candidates")
    max_trainings: int | None = Field(
        None,
        ge=0,
        description="stop proposing once the run's candidates hold this many trainings (seeds' included; "
        "those racing finish their rounds)",
    )
    max_cost_usd: float | None = Field(None, ge=0, description="stop proposing once the LLM spend reaches it")
    time_limit: float | None = Field(
        None, gt=0, description="seconds (or 90m, 2h) this invocation may run; then nothing new starts"
    )
    on_interrupt: Literal["ask", "cancel", "detach"] = Field(
        "ask", description="on Ctrl-C, jobs in flight on a cluster: ask, cancel them, or leave them running"
    )
    report_to: list[Literal["wandb", "trackio", "tensorboard"]] = Field(
        default_factory=list,
        description="experiment trackers that log each candidate's figures, the best so far and the LLM "
        "spend: wandb, trackio, tensorboard (repeat it or separate with commas)",
    )

    @field_validator("time_limit", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return duration(value)

    @field_validator("seed_objectives", "report_to", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """`dpo,slic` (the command line's form) is the list [dpo, slic], given once or repeated."""
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return [name.strip() for item in value for name in item.split(",") if name.strip()]
        return value

    @field_validator("report_to")
    @classmethod
    def _each_once(cls, trackers: list[str]) -> list[str]:
        """`--report-to wandb,wandb` is one W&B run."""
        return list(dict.fromkeys(trackers))

    @field_validator("seed_objectives")
    @classmethod
    def _shipped_and_distinct(cls, names: list[str] | None) -> list[str] | None:
        """Each seed a shipped objective (by its canonical name: `sigmoid` is `dpo`), each once."""
        if names is None:
            return None
        from discovery.objectives import shipped_names
        from discovery.objectives.objective import canonical_name

        if not names:
            raise ValueError(
                "name at least one shipped objective, or leave it unset for the paper's seeds and discoveries"
            )
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

    @model_validator(mode="after")
    def _one_way_to_name_models(self) -> "RunConfig":
        """One of `model` and `models`, and each ensemble member once by name: the bandit keeps a
        model's record by its name, so two endpoints of one name would share it."""
        if self.models and self.model is not None:
            raise ValueError("name the proposer's model with model or with models, not both")
        names = [member.model for member in self.models]
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(
                f"models: {', '.join(twice)} named more than once (the bandit tells models by name)"
            )
        return self

    def endpoint(self, model: str, base_url: str | None = None) -> EndpointSettings:
        """The proposer's endpoint settings, for `model` (at `base_url`, else the run's)."""
        return EndpointSettings(
            model=model,
            base_url=base_url or self.base_url,
            timeout=self.request_timeout,
            connect_timeout=self.connect_timeout,
            max_retries=self.max_retries,
            max_reply_bytes=self.max_reply_bytes,
        )

    def ensemble(self) -> list[EndpointSettings]:
        """The endpoint settings of each model in `models`, with its prices."""
        return [
            self.endpoint(member.model, member.base_url).model_copy(
                update={"input_price": member.prompt_price, "output_price": member.completion_price}
            )
            for member in self.models
        ]

    @property
    def seed_list(self) -> list[int]:
        """The seeds, in the order racing hands them out."""
        return seed_list(self.seeds)

    @property
    def seed_objective_names(self) -> list[str]:
        """The shipped objectives the run is seeded with, in the order it adds them: the baseline first
        (every candidate is compared with it, named or not), then those named in `seed_objectives`,
        or by default the DiscoPOP paper's seeds and discoveries (not TRL's loss types: each seed costs
        trainings in every run)."""
        from discovery.objectives import default_seed_names

        named = self.seed_objectives or default_seed_names()
        baseline = self.racing.baseline
        return [baseline, *(name for name in named if name != baseline)]

    @property
    def best_needs(self) -> int:
        """The seeds at its best beta a candidate needs to be the run's best: `racing.best_needs`,
        at most the seeds a candidate may get."""
        return min(self.racing.best_needs, len(self.seed_list))


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
