"""The sandbox: every candidate objective passes here before it may train.

Three stages, each with a short reason for the candidate's author: the static gate (`static`), a
confined child process with hard limits (`runtime`), and functional checks that the loss behaves
like a usable preference objective (`functional`). Valid candidates get a behavioural fingerprint
(losses and gradients on a fixed probe set) so functional duplicates can be spotted before training.

    with Validator() as validator:
        verdict = validator.validate(source)
"""

# The objectives package compiles through the static gate, and the gate reads the objective contract:
# importing objectives first settles that cycle whichever sandbox module a caller imports first.
import discovery.objectives  # noqa: F401
from discovery.sandbox.probes import same_objective
from discovery.sandbox.validator import Validator, WorkerUnavailable, validate_source
from discovery.sandbox.verdict import Verdict

__all__ = ["Validator", "Verdict", "WorkerUnavailable", "same_objective", "validate_source"]
