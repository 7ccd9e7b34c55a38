"""A small synthetic language of film reviews, and a seeded generator of a corpus in it.

The language is the task's whole world: the reference model learns it, the oracle reads it. Every
sentence follows one of a few templates (word classes in fixed order), so the oracle can tell a
well-formed sentence from "noun salad" by matching the same templates the generator writes with.
A review has a hidden mood (the chance that a sentence is positive) so openings predict the rest
and the reference model produces a spread of sentiments for the same opening.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass

# Lexicon weights: the strength of each word's sentiment, used by the oracle. Distinct values per
# word give a fine-grained reward, so that two sampled completions rarely tie.
POSITIVE_ADJECTIVES = {
    "good": 0.55, "great": 0.9, "superb": 1.0, "brilliant": 0.95, "wonderful": 0.9, "lovely": 0.7,
    "charming": 0.65, "moving": 0.75, "clever": 0.6, "funny": 0.5, "gripping": 0.8, "beautiful": 0.85,
    "stunning": 0.95, "fresh": 0.45, "solid": 0.4, "fine": 0.25, "decent": 0.3, "pleasant": 0.35,
    "touching": 0.7, "smart": 0.5, "tense": 0.45, "elegant": 0.6, "vivid": 0.55, "powerful": 0.8,
    "delightful": 0.85, "excellent": 0.95, "inventive": 0.6, "sharp": 0.5, "warm": 0.45, "honest": 0.4,
    "masterful": 1.0, "engaging": 0.65, "memorable": 0.7, "fun": 0.5, "rich": 0.45, "striking": 0.6,
}  # fmt: skip
NEGATIVE_ADJECTIVES = {
    "bad": 0.6, "awful": 0.95, "terrible": 1.0, "boring": 0.75, "dull": 0.65, "weak": 0.45, "bland": 0.4,
    "clumsy": 0.5, "silly": 0.35, "tedious": 0.7, "messy": 0.45, "flat": 0.4, "lazy": 0.55, "cheap": 0.5,
    "painful": 0.85, "stale": 0.5, "forgettable": 0.55, "confusing": 0.5, "shallow": 0.45, "wooden": 0.55,
    "predictable": 0.4, "poor": 0.6, "dreadful": 0.95, "slow": 0.3, "awkward": 0.4, "hollow": 0.5,
    "mediocre": 0.35, "pointless": 0.7, "annoying": 0.6, "ugly": 0.55, "sloppy": 0.5, "tired": 0.35,
    "lifeless": 0.75, "inept": 0.8, "grating": 0.6, "overlong": 0.3,
}  # fmt: skip
NEUTRAL_ADJECTIVES = (
    "long", "short", "quiet", "loud", "dark", "bright", "old", "new", "simple", "strange", "familiar",
    "modern", "classic", "small", "big", "french", "british", "american", "local", "young",
)  # fmt: skip
POSITIVE_VERBS = {
    "loved": 0.9, "enjoyed": 0.7, "liked": 0.5, "admired": 0.6, "adored": 0.95, "relished": 0.75,
    "savored": 0.7, "praised": 0.6, "cherished": 0.85, "appreciated": 0.5,
}  # fmt: skip
NEGATIVE_VERBS = {
    "hated": 0.95, "disliked": 0.55, "regretted": 0.7, "endured": 0.5, "loathed": 1.0, "resented": 0.65,
    "despised": 0.9, "tolerated": 0.35, "dreaded": 0.6, "mocked": 0.45,
}  # fmt: skip
NEUTRAL_VERBS = ("watched", "saw", "rented", "streamed", "noticed", "remembered", "discussed", "reviewed")
NOUNS = (
    "movie", "film", "plot", "story", "acting", "cast", "script", "ending", "music", "score", "camera",
    "dialogue", "pacing", "lead", "villain", "hero", "director", "editing", "soundtrack", "premise",
    "climax", "opening", "finale", "humor", "tone", "setting", "costumes", "effects", "writing", "sequel",
    "romance", "twist", "performance", "photography", "characters", "scenes",
)  # fmt: skip
INTENSIFIERS = {"very": 1.4, "really": 1.3, "truly": 1.5, "quite": 1.15, "so": 1.35, "extremely": 1.6}
ADJECTIVE_NEGATIONS = ("not", "hardly")
VERB_NEGATIONS = ("never", "hardly")
NEGATIONS = ("not", "never", "hardly")
PEOPLE = (
    "friend",
    "sister",
    "brother",
    "family",
    "kids",
    "partner",
    "parents",
    "class",
    "neighbor",
    "cousin",
)
NUMBERS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty")
TIMES = ("yesterday", "tonight", "recently", "twice", "again", "today", "once", "finally")
COPULAS = ("was", "is", "felt", "seemed", "looked", "sounded")
PUNCTUATION = (".", "!")

ADJECTIVE_WEIGHTS = {**POSITIVE_ADJECTIVES, **{w: -v for w, v in NEGATIVE_ADJECTIVES.items()}}
VERB_WEIGHTS = {**POSITIVE_VERBS, **{w: -v for w, v in NEGATIVE_VERBS.items()}}
SENTIMENT_WEIGHTS = {**ADJECTIVE_WEIGHTS, **VERB_WEIGHTS}

# Word classes the templates are written in; literal words stand for themselves.
CLASSES: dict[str, frozenset[str]] = {
    "NOUN": frozenset(NOUNS),
    "ADJ": frozenset(ADJECTIVE_WEIGHTS) | frozenset(NEUTRAL_ADJECTIVES),
    "SADJ": frozenset(ADJECTIVE_WEIGHTS),
    "VERB": frozenset(VERB_WEIGHTS),
    "NVERB": frozenset(NEUTRAL_VERBS),
    "INT": frozenset(INTENSIFIERS),
    "ANEG": frozenset(ADJECTIVE_NEGATIONS),
    "VNEG": frozenset(VERB_NEGATIONS),
    "COP": frozenset(COPULAS),
    "PERSON": frozenset(PEOPLE),
    "NUM": frozenset(NUMBERS),
    "TIME": frozenset(TIMES),
    "END": frozenset(PUNCTUATION),
}

# A template is a sequence of slots; a trailing "?" marks an optional slot.
TEMPLATES: tuple[tuple[str, ...], ...] = (
    ("the", "NOUN", "COP", "ANEG?", "INT?", "SADJ", "END"),
    ("the", "NOUN", "COP", "INT?", "SADJ", "and", "SADJ", "END"),
    ("i", "VNEG?", "VERB", "the", "NOUN", "END"),
    ("what", "a", "INT?", "SADJ", "NOUN", "END"),
    ("i", "NVERB", "it", "with", "my", "PERSON", "TIME?", "END"),
    ("it", "runs", "about", "NUM", "hours", "END"),
    ("the", "NOUN", "COP", "ADJ", "END"),
)


def vocabulary() -> list[str]:
    """Every word of the language, in a fixed order (the tokenizer's vocabulary)."""
    words: list[str] = []
    for template in TEMPLATES:
        for slot in template:
            name = slot.rstrip("?")
            for word in sorted(CLASSES[name]) if name in CLASSES else [name]:
                if word not in words:
                    words.append(word)
    return words


def _matches(words: list[str], slots: tuple[str, ...]) -> bool:
    """Whether `words` fill `slots` exactly, trying both ways around each optional slot."""
    if not slots:
        return not words
    slot, rest = slots[0], slots[1:]
    optional = slot.endswith("?")
    name = slot.rstrip("?")
    if (
        words
        and (words[0] in CLASSES[name] if name in CLASSES else words[0] == name)
        and _matches(words[1:], rest)
    ):
        return True
    return optional and _matches(words, rest)


def is_sentence(words: list[str]) -> bool:
    """Whether a sentence (with its final punctuation) follows one of the templates."""
    return any(_matches(words, template) for template in TEMPLATES)


def split_sentences(words: list[str]) -> list[list[str]]:
    """Sentences ending at "." or "!"; a trailing fragment without punctuation is its own item."""
    sentences, current = [], []
    for word in words:
        current.append(word)
        if word in PUNCTUATION:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


@dataclass(frozen=True)
class Review:
    """A generated review: its opening (the prompt) and the rest (the completion), as text."""

    opening: str
    rest: str


class ReviewWriter:
    """Writes reviews from a seeded random source: same seed, same corpus."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def _adjective(self, polarity: int) -> str:
        pool = POSITIVE_ADJECTIVES if polarity > 0 else NEGATIVE_ADJECTIVES
        return self.rng.choice(sorted(pool))

    def _maybe(self, probability: float, word: str) -> list[str]:
        return [word] if self.rng.random() < probability else []

    def sentence(self, polarity: int) -> list[str]:
        """One sentence; polarity +1 positive, -1 negative, 0 neutral."""
        rng = self.rng
        end = "!" if rng.random() < 0.15 else "."
        if polarity == 0:
            kind = rng.randrange(3)
            if kind == 0:
                time = self._maybe(0.5, rng.choice(TIMES))
                return ["i", rng.choice(NEUTRAL_VERBS), "it", "with", "my", rng.choice(PEOPLE), *time, "."]
            if kind == 1:
                return ["it", "runs", "about", rng.choice(NUMBERS), "hours", "."]
            return ["the", rng.choice(NOUNS), rng.choice(COPULAS), rng.choice(NEUTRAL_ADJECTIVES), "."]
        intensifier = self._maybe(0.3, rng.choice(sorted(INTENSIFIERS)))
        kind = rng.choices(range(4), weights=(5, 2, 3, 1))[0]
        if kind == 0:
            negated = rng.random() < 0.2  # "not bad" says something positive
            adjective = self._adjective(-polarity if negated else polarity)
            negation = [rng.choice(ADJECTIVE_NEGATIONS)] if negated else []
            return ["the", rng.choice(NOUNS), rng.choice(COPULAS), *negation, *intensifier, adjective, end]
        if kind == 1:
            first, second = self._adjective(polarity), self._adjective(polarity)
            return ["the", rng.choice(NOUNS), rng.choice(COPULAS), *intensifier, first, "and", second, end]
        if kind == 2:
            negated = rng.random() < 0.2
            verbs = POSITIVE_VERBS if (polarity > 0) != negated else NEGATIVE_VERBS
            negation = [rng.choice(VERB_NEGATIONS)] if negated else []
            return ["i", *negation, rng.choice(sorted(verbs)), "the", rng.choice(NOUNS), end]
        return ["what", "a", *intensifier, self._adjective(polarity), rng.choice(NOUNS), "!"]

    def review(self) -> Review:
        """A review of 2-4 sentences whose hidden mood sets the odds of positive sentences."""
        rng = self.rng
        mood = rng.betavariate(0.7, 0.7)
        sentences = []
        for _ in range(rng.randint(2, 4)):
            roll = rng.random()
            polarity = 0 if roll < 0.2 else (1 if rng.random() < mood else -1)
            sentences.append(" ".join(self.sentence(polarity)))
        return Review(opening=sentences[0], rest=" ".join(sentences[1:]))

    def reviews(self, count: int) -> Iterator[Review]:
        """`count` reviews, one after another."""
        for _ in range(count):
            yield self.review()
