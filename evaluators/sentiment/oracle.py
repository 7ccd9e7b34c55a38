"""The oracle reward: how positive and how well-formed a completion is, in [0, 1].

It plays the part of the paper's sentiment classifier. Lexicon weights make it fine-grained;
negation flips (and softens) the next sentiment word, an intensifier strengthens it; repeated
sentiment words count for less each time (diminishing returns) and the total is squashed with
tanh. Fluency multiplies the result: only sentences that follow the language's templates count as
fluent, and exact repeats of a sentence are penalised, so degenerate text ("noun salad", loops)
scores low instead of looking neutral.
"""

import math

from evaluators.sentiment.language import (
    INTENSIFIERS,
    NEGATIONS,
    SENTIMENT_WEIGHTS,
    is_sentence,
    split_sentences,
)

NEGATION_FACTOR = -0.6  # "not great" is mildly negative, not as negative as "awful"
REPEAT_FACTOR = 0.5  # each further use of the same sentiment word counts half as much
DUPLICATE_SENTENCE_FACTOR = 0.5  # fluency factor per exact repeat of an earlier sentence
SATURATION = 1.5  # total lexicon score at which sentiment is tanh(1) of the way to its extreme


def sentiment(words: list[str]) -> float:
    """Signed lexicon score of the words, with negation, intensifiers and diminishing returns."""
    total, uses = 0.0, {}
    negated, strength = False, 1.0
    for word in words:
        if word in NEGATIONS:
            negated = True
        elif word in INTENSIFIERS:
            strength *= INTENSIFIERS[word]
        elif word in SENTIMENT_WEIGHTS:
            weight = SENTIMENT_WEIGHTS[word] * strength * (NEGATION_FACTOR if negated else 1.0)
            total += weight * REPEAT_FACTOR ** uses.get(word, 0)
            uses[word] = uses.get(word, 0) + 1
            negated, strength = False, 1.0
        elif word in {".", "!"}:
            negated, strength = False, 1.0
    return total


def fluency(sentences: list[list[str]]) -> float:
    """Share of sentences that are well-formed, discounted for each exact repeat of a sentence."""
    if not sentences:
        return 0.0
    well_formed = sum(is_sentence(sentence) for sentence in sentences) / len(sentences)
    repeats = len(sentences) - len({tuple(sentence) for sentence in sentences})
    return well_formed * DUPLICATE_SENTENCE_FACTOR**repeats


def reward(text: str) -> float:
    """Oracle reward of a completion: fluency times squashed sentiment, in [0, 1]. Empty text scores 0."""
    words = text.split()
    score = 0.5 + 0.5 * math.tanh(sentiment(words) / SATURATION)
    return fluency(split_sentences(words)) * score


def win_rate(rewards: list[float], references: list[list[float]]) -> float:
    """Share of comparisons of each reward with its prompt's reference rewards won, ties half."""
    outcomes = [
        1.0 if mine > theirs else 0.5 if mine == theirs else 0.0
        for mine, theirs_all in zip(rewards, references, strict=True)
        for theirs in theirs_all
    ]
    return sum(outcomes) / len(outcomes)
