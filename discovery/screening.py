"""Is a candidate worth a training? The sandbox's verdict, then: is it new?

Every proposal is validated in the sandbox (`discovery.sandbox`) and compared with the run's
originals (`discovery.novelty`) before anything trains: the same code or the same behaviour on every
probe input is a duplicate, and so is an original with beta rescaled, since every objective is scored
at its best beta of a grid and a rescaling can only waste a training. Proposers ask the same
questions of their drafts before offering them (`check`), so verdicts are kept by code: a draft
the proposer checked is not validated again when it arrives as a proposal.
"""

from discovery.novelty import NoveltyIndex
from discovery.objectives import Objective
from discovery.population.behaviour import cell_of
from discovery.proposers.base import Check
from discovery.records import CandidateRecord, CandidateStatus
from discovery.sandbox import Validator, Verdict

SAME_AT_EVERY_BETA = 0.03  # a rescaling factor this close to 1 is no rescaling: the same objective


class Screening:
    """Sandbox verdicts by code and the run's originals, for the loop and its proposer's pre-check."""

    def __init__(self, validator: Validator) -> None:
        self.validator = validator
        self._verdicts: dict[str, Verdict] = {}
        self._novelty = NoveltyIndex()

    def know(self, candidate: CandidateRecord) -> None:
        """Count a stored candidate among the originals, if it is one (`NoveltyIndex.add`)."""
        self._novelty.add(candidate)

    def screen(self, candidate: CandidateRecord) -> None:
        """Validate a proposed candidate and set what the sandbox measured (its behaviour map cell
        among it) and its status: invalid (with the stage and reason), duplicate (with the reason) or
        validated, and then an original."""
        verdict = self._verdict(candidate.code)
        candidate.fingerprint, candidate.beta_profile = verdict.fingerprint, verdict.beta_profile
        candidate.descriptors, candidate.cell = verdict.descriptors, cell_of(verdict.descriptors)
        if not verdict.ok:
            candidate.status, candidate.stage, candidate.reason = (
                CandidateStatus.INVALID,
                verdict.stage,
                verdict.reason,
            )
        elif reason := self._duplicate_of(candidate.code_hash, verdict, candidate.id):
            candidate.status, candidate.reason = CandidateStatus.DUPLICATE, reason
        else:
            candidate.status = CandidateStatus.VALIDATED
        self._novelty.add(candidate)

    def check(self, code: str) -> Check:
        """The proposers' pre-check: the exact reason a candidate would be rejected, and the
        sandbox's measure of how it trains."""
        verdict = self._verdict(code)
        if not verdict.ok:
            return Check(f"rejected at the {verdict.stage} stage: {verdict.reason}", None)
        code_hash = Objective(name="probe", source=code, origin="probe").code_hash
        if reason := self._duplicate_of(code_hash, verdict):
            return Check(f"duplicate: {reason}; propose something different", verdict.behaviour)
        return Check(None, verdict.behaviour)

    def _duplicate_of(self, code_hash: str, verdict: Verdict, exclude: str | None = None) -> str | None:
        """Why a valid candidate is no new objective (the same code or behaviour as an original, or
        an original with beta rescaled), or None; `exclude` is the candidate's own id."""
        if original := self._novelty.original_of(code_hash, verdict.fingerprint, exclude):
            return f"behaves the same as {original.name} ({original.id}) on every probe input"
        rescaled = self._novelty.rescaled_original_of(verdict.beta_profile, exclude)
        if rescaled is None:
            return None
        original, factor = rescaled
        if abs(factor - 1) < SAME_AT_EVERY_BETA:
            return f"behaves the same as {original.name} ({original.id}) at every beta"
        return (
            f"is {original.name} ({original.id}) with beta multiplied by {factor:.3g}: every objective "
            "is scored at its best beta of a grid, so rescaling beta discovers nothing"
        )

    def _verdict(self, code: str) -> Verdict:
        """The sandbox's verdict on `code`, validated once per run."""
        if code not in self._verdicts:
            self._verdicts[code] = self.validator.validate(code)
        return self._verdicts[code]
