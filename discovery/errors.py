"""The two kinds of failure that are nobody's bug, and how a pydantic complaint becomes one line.

The CLI prints either as one plain line: a `UserError` exits with code 2, a `ServiceUnavailable`
with code 1 (after the run that met it was stopped with its archive intact).
"""

from pydantic import ValidationError


class UserError(Exception):
    """Bad input from the user (unknown name, missing file, invalid option): never a traceback."""


class ServiceUnavailable(RuntimeError):
    """A service the run depends on (the proposer's LLM endpoint, a judge) stays unreachable.

    It says nothing about the candidate being scored, so the loop stops the run, resumable, instead
    of recording a failed candidate.
    """


def validation_message(error: ValidationError, prefix: str = "") -> str:
    """The first problem pydantic found, as `where: what` (where = `prefix` + the field's dotted path)."""
    first = error.errors()[0]
    path = ".".join(str(part) for part in first["loc"])
    where = prefix + path if path else ""
    message = " ".join(first["msg"].removeprefix("Value error, ").split())  # one line, whatever it says
    return f"{where}: {message}" if where else message
