"""The review language and the oracle: the rules a reader of the sentiment figures relies on."""

import random

import pytest

from evaluators.sentiment.language import CLASSES, ReviewWriter, is_sentence, split_sentences, vocabulary
from evaluators.sentiment.oracle import reward


def test_same_seed_writes_the_same_corpus_and_another_seed_does_not():
    first = list(ReviewWriter(7).reviews(50))
    assert first == list(ReviewWriter(7).reviews(50))
    assert first != list(ReviewWriter(8).reviews(50))


def test_every_generated_sentence_is_well_formed():
    for review in ReviewWriter(0).reviews(300):
        for sentence in split_sentences(f"{review.opening} {review.rest}".split()):
            assert is_sentence(sentence), sentence


def test_vocabulary_covers_every_word_class_once():
    words = vocabulary()
    assert len(words) == len(set(words)) >= 200
    assert all(word in words for members in CLASSES.values() for word in members)


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        (" the movie was great .", " the movie was awful ."),
        (" the movie was awful .", " the movie was terrible ."),
        (" the movie was not awful .", " the movie was awful ."),
        (" the movie was great .", " the movie was not great ."),
        (" i loved the plot .", " i never loved the plot ."),
        (" the movie was very good .", " the movie was good ."),
        (" the movie was good . i loved the cast .", " the movie was good ."),
        (" the movie was good .", " it runs about two hours ."),
    ],
)
def test_oracle_orders_sentiment_with_negation_and_intensifiers(better, worse):
    assert reward(better) > reward(worse)


def test_negation_flips_the_side_of_neutral():
    assert reward(" the movie was great .") > 0.5 > reward(" the movie was not great .")
    assert reward(" the movie was awful .") < 0.5 < reward(" the movie was not awful .")


def test_degenerate_text_scores_below_one_plain_negative_sentence():
    floor = reward(" the movie was bad .")
    assert reward(" great great great great great great") < floor  # a word loop
    assert reward(" film great cast superb plot wonderful acting") < floor  # noun salad
    assert reward(" the movie was great . the movie was great . the movie was great .") < reward(
        " the movie was great ."
    )
    assert reward(" the movie was great . the plot was") < reward(" the movie was great .")  # unfinished


def test_repeating_praise_has_diminishing_returns():
    once, twice = reward(" the plot was great ."), reward(" the plot was great . the cast was great .")
    thrice = reward(" the plot was great . the cast was great . the ending was great .")
    assert once < twice < thrice
    assert thrice - twice < twice - once


def test_rewards_stay_in_unit_range_for_reviews_and_word_soup():
    rng = random.Random(0)
    words = vocabulary()
    texts = [f" {review.rest}" for review in ReviewWriter(1).reviews(300)]
    texts += [" " + " ".join(rng.choices(words, k=rng.randint(0, 30))) for _ in range(300)]
    rewards = [reward(text) for text in texts]
    assert all(0.0 <= value <= 1.0 for value in rewards)
    assert reward("") == 0.0
    ties = sum(a == b for a, b in zip(rewards[:150], rewards[150:300], strict=True))
    assert ties < 15  # fine-grained: two generated reviews rarely tie
