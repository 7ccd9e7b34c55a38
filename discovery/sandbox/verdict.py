"""What the sandbox answers: a verdict on a candidate, or its loss curves, as every caller sees them;
and the probe a caller asks the fingerprint to be measured on."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_BATCH_PAIRS = 32  # the sentiment evaluator's pairs per step, for callers that do not train


class Probe(BaseModel):
    """What the fingerprint and the beta profile are measured on (`probes.probe_batches`): `batches`
    batches of `batch_pairs` pairs (the run's training batch size, so that what decides a duplicate
    is what the candidate trains with) with realistic contents drawn from `seed`. A run uses one
    probe for all its candidates, so that their fingerprints compare."""

    model_config = ConfigDict(frozen=True)

    batch_pairs: int = Field(DEFAULT_BATCH_PAIRS, gt=0, le=4096)
    seed: int = Field(0, ge=0, lt=2**32)
    batches: int = Field(2, gt=0, le=8)


class Verdict(BaseModel):
    """Valid, or the stage that rejected the candidate and a short reason its author (an LLM) can act on."""

    ok: bool
    stage: Literal["static", "runtime", "functional"] | None
    reason: str | None
    fingerprint: list[float] | None  # losses and policy gradients on the fixed probe set; None unless ok
    behaviour: list[float] | None = None  # unit gradient signature on a training-like batch; None unless ok
    beta_profile: list[float] | None = None  # gradient directions across betas (`profiles`); None unless ok
    descriptors: list[float] | None = None  # its place in the behaviour map (`checks.descriptors`)
    batch_coupled: bool | None = None  # a pair's loss depends on the rest of its batch; None unless ok
    isolation: dict[str, bool] = {}  # the confinement layers that were active
    seconds: float


class Curves(BaseModel):
    """Per-pair loss and its derivative d loss / d rho on a grid of margins."""

    beta: float
    rho: list[float]
    loss: list[float]
    gradient: list[float]
