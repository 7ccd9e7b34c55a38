"""What the sandbox answers: a verdict on a candidate, or its loss curves, as every caller sees them."""

from typing import Literal

from pydantic import BaseModel


class Verdict(BaseModel):
    """Valid, or the stage that rejected the candidate and a short reason its author (an LLM) can act on."""

    ok: bool
    stage: Literal["static", "runtime", "functional"] | None
    reason: str | None
    fingerprint: list[float] | None  # losses and policy gradients on the fixed probe set; None unless ok
    behaviour: list[float] | None = None  # unit gradient signature on a training-like batch; None unless ok
    beta_profile: list[float] | None = None  # gradient directions across betas (`profiles`); None unless ok
    isolation: dict[str, bool] = {}  # the confinement layers that were active
    seconds: float


class Curves(BaseModel):
    """Per-pair loss and its derivative d loss / d rho on a grid of margins."""

    beta: float
    rho: list[float]
    loss: list[float]
    gradient: list[float]
