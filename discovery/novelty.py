"""Is a candidate new? The archive's objectives indexed by code and by behaviour.

Two objectives are one when their code is the same once comments and layout are normalised (the
code hash), or when their fingerprints (losses and gradients on the sandbox's probe batches) agree
within `same_objective`'s tolerance. The probe batches have the run's training size and realistic
contents (`sandbox.probes.probe_batches`), so an objective that computes an original only at that
size, and something else on small batches, is that original: it trains to the same figures.

A run asks this for every proposal and every draft the built-in proposer screens, so a scan of the
whole archive per question would grow with the run: the index answers a code question with one
lookup, and a behaviour question by comparing only the objectives whose first fingerprint value
lies within tolerance of the candidate's (a sorted list and two binary searches), which on real runs
is a handful.

A third question, asked only of candidates that are new by the first two: is it an original with
beta rescaled (`sandbox.profiles`)? That compares beta profiles with every original that has one.
"""

import bisect
import math
from collections.abc import Iterable

from discovery.records import CandidateRecord, CandidateStatus
from discovery.sandbox.probes import FINGERPRINT_ATOL, FINGERPRINT_RTOL, same_objective
from discovery.sandbox.profiles import rescale_factor

# Candidates that do not stand for an objective of their own in the archive.
_NOT_ORIGINALS = (CandidateStatus.INVALID, CandidateStatus.DUPLICATE, CandidateStatus.PROPOSED)


class NoveltyIndex:
    """Originals by code hash, and by the first value of their fingerprint, kept sorted."""

    def __init__(self, candidates: Iterable[CandidateRecord] = ()) -> None:
        self._by_code: dict[str, CandidateRecord] = {}
        self._keys: list[float] = []  # first fingerprint value of each entry, sorted
        self._entries: list[CandidateRecord] = []  # aligned with `_keys`
        self._profiled: list[CandidateRecord] = []  # originals with a beta profile
        for candidate in candidates:
            self.add(candidate)

    def add(self, candidate: CandidateRecord) -> None:
        """Count `candidate` as an original (no-op for invalid, duplicate or unchecked ones)."""
        if candidate.status in _NOT_ORIGINALS:
            return
        self._by_code.setdefault(candidate.code_hash, candidate)
        if candidate.beta_profile:
            self._profiled.append(candidate)
        if candidate.fingerprint:
            key = candidate.fingerprint[0]
            position = bisect.bisect_right(self._keys, key)
            self._keys.insert(position, key)
            self._entries.insert(position, candidate)

    def original_of(
        self, code_hash: str, fingerprint: list[float] | None, exclude: str | None = None
    ) -> CandidateRecord | None:
        """An indexed candidate (other than `exclude`) with the same code or the same behaviour."""
        same_code = self._by_code.get(code_hash)
        if same_code is not None and same_code.id != exclude:
            return same_code
        if not fingerprint:
            return None
        key = fingerprint[0]
        if not math.isfinite(key):
            return None
        width = FINGERPRINT_RTOL * abs(key) * 1.01 + FINGERPRINT_ATOL
        low = bisect.bisect_left(self._keys, key - width)
        high = bisect.bisect_right(self._keys, key + width)
        for other in self._entries[low:high]:
            if other.id != exclude and same_objective(other.fingerprint or [], fingerprint):
                return other
        return None

    def rescaled_original_of(
        self, profile: list[float] | None, exclude: str | None = None
    ) -> tuple[CandidateRecord, float] | None:
        """An indexed original (other than `exclude`) that the candidate equals once beta is
        multiplied by some factor, with that factor (candidate at beta = original at factor * beta)."""
        if not profile:
            return None
        for other in self._profiled:
            if other.id != exclude and (factor := rescale_factor(profile, other.beta_profile or [])):
                return other, factor
        return None
