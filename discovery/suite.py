"""A task suite: named variants of one evaluator's task, split into meta-train and meta-test.

On a single task, once beta is tuned, most DPO-family losses sit on one plateau within seed noise,
and a search there selects noise. A suite asks more of a loss: it trains on every *meta-train*
variant (each the evaluator's task with some options changed: noisier labels, scarcer data, ...)
and its fitness is the mean over them, so a loss must help where the choice of loss matters. The
*meta-test* variants are never seen by the search (not in the fitness, not in the proposer's
context): the run's best candidates are confirmed on them at the end, on fresh seeds.

A run names a suite the evaluator ships (`discover evaluators` lists them), `default` (the
evaluator's default suite, or its single task when it has none), `single` (the task alone, as
before suites existed), or defines one in its YAML:

    suite:
      description: noisy labels for the search, scarce data held out
      meta_train:
        noisy: {bradley_terry_temperature: 0.3}
        clean: {}
      meta_test:
        scarce: {train_pairs: 250, epochs: 12}
"""

import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from discovery.errors import UserError, validation_message
from discovery.options import load_yaml
from discovery.user_files import read_text_file

DEFAULT = "default"  # the evaluator's default suite (its single task when it ships none)
SINGLE = "single"  # the evaluator's task alone
_VARIANT_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def _variant_names(variants: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Variant names become folder names and figure names (`noisy.fitness`): short identifiers."""
    for name in variants:
        if not _VARIANT_NAME.fullmatch(name):
            raise ValueError(
                f"variant name {name!r}: lower-case letters, digits and _, starting with a letter, "
                "at most 32 characters"
            )
    return variants


Variants = Annotated[dict[str, dict[str, Any]], AfterValidator(_variant_names)]


class Suite(BaseModel):
    """Meta-train and meta-test variants, each a set of the evaluator's options (on top of the run's
    `evaluator_options`; `{}` is the run's task itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field("", description="what the suite tests, in a line")
    meta_train: Variants = Field(
        min_length=1, description="variants the search trains on; its fitness is the mean over them"
    )
    meta_test: Variants = Field(
        default_factory=dict,
        description="variants the search never sees; the run's best are confirmed on them at the end",
    )

    @model_validator(mode="after")
    def _distinct_names(self) -> "Suite":
        both = sorted(set(self.meta_train) & set(self.meta_test))
        if both:
            raise ValueError(f"{', '.join(both)} is both a meta-train and a meta-test variant")
        return self

    def roles(self) -> dict[str, str]:
        """Each variant's role, `meta-train` or `meta-test`, by name, meta-train first."""
        return {**dict.fromkeys(self.meta_train, "meta-train"), **dict.fromkeys(self.meta_test, "meta-test")}

    def changes(self, name: str) -> str:
        """`bradley_terry_temperature=0.3`: what a variant changes, as a person reads it."""
        options = {**self.meta_train, **self.meta_test}[name]
        return ", ".join(f"{key}={value}" for key, value in options.items()) or "the task as configured"

    def describe_variant(self, name: str) -> str:
        """`noisy (bradley_terry_temperature=0.3)`: a variant by name and changes."""
        return f"{name} ({self.changes(name)})"


SuiteChoice = str | Suite  # a shipped suite's name, `default`, `single`, or a definition


def read_suite_file(path: Path) -> Suite:
    """The suite a YAML file defines (what a run's config holds under `suite:`); an unreadable or
    invalid file is one `UserError` line."""
    text = read_text_file(path, "suite file")
    try:
        data = load_yaml(text)
    except yaml.YAMLError as error:
        raise UserError(f"suite file {path} is not valid YAML: {error}".splitlines()[0]) from error
    try:
        return Suite.model_validate(data)
    except ValidationError as error:
        raise UserError(f"suite file {path}: {validation_message(error)}") from None
