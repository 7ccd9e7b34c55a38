"""How the search's population is structured: the behaviour map (`behaviour`: which cell of a grid
of interpretable gradient descriptors a candidate falls in) and the islands (`islands`: which
candidates each island holds, when they migrate, when a stalled island is reseeded), both derived
from the archive alone so that a resumed run continues as it would have."""
