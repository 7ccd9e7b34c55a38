"""The verdict on one candidate, as the discovery loop, the archive and `discover validate` see it."""

from typing import Literal

from pydantic import BaseModel


class Verdict(BaseModel):
    """Valid, or the stage that rejected the candidate and a short reason its author (an LLM) can act on."""

    ok: bool
    stage: Literal["static", "runtime", "functional"] | None
    reason: str | None
    fingerprint: list[float] | None  # losses and policy gradients on the fixed probe set; None unless ok
    seconds: float
