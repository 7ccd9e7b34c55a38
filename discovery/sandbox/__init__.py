"""The sandbox: every candidate objective passes here before it may train.

Three stages, each with a short reason for the candidate's author: the static gate (`static`), a
confined child process with hard limits (`runtime`), and functional checks that the loss behaves
like a usable preference objective (`functional`). Valid candidates get a behavioural fingerprint
(losses and gradients on probe batches of the training size) so functional duplicates can be
spotted before training.
The confined process itself (`confine`, `process`) is the security boundary, here and wherever a
candidate trains; what such a process writes is read back by `outputs` as untrusted data.

    with Validator() as validator:
        verdict = validator.validate(source)
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from discovery.sandbox.channel import HelperUnavailable
    from discovery.sandbox.probes import same_objective
    from discovery.sandbox.validator import CurvesUnavailable, FiguresUnavailable, Validator, validate_source
    from discovery.sandbox.verdict import Curves, Probe, Verdict

# Loaded on first use: the probes import torch, and reading archives or printing --help must not.
_EXPORTS = {
    "Curves": "verdict",
    "CurvesUnavailable": "validator",
    "FiguresUnavailable": "validator",
    "HelperUnavailable": "channel",
    "Probe": "verdict",
    "Validator": "validator",
    "Verdict": "verdict",
    "same_objective": "probes",
    "validate_source": "validator",
}
__all__ = [
    "Curves",
    "CurvesUnavailable",
    "FiguresUnavailable",
    "HelperUnavailable",
    "Probe",
    "Validator",
    "Verdict",
    "same_objective",
    "validate_source",
]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
