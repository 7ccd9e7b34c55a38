"""The embedded `sentiment` task; importing the package registers its evaluator."""

from evaluators.sentiment.task import SentimentEvaluator

__all__ = ["SentimentEvaluator"]
