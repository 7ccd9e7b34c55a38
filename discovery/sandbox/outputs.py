"""Reading what a confined process wrote: every file is untrusted data, checked before it is opened.

A confined trainer may have replaced its outputs with links, pipes or huge files; by the time these
functions run, every one of its processes is dead, so what is checked here is what gets read.
Nothing is ever executed or unpickled: weights are safetensors, logs are JSON parsed with pydantic.
"""

import json
import os
import stat
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from discovery.errors import validation_message

Model = TypeVar("Model", bound=BaseModel)


class UntrustedOutput(ValueError):
    """A confined process's output is missing or unusable; the message says which file and why."""


def checked_file(folder: Path, name: str, max_bytes: int) -> Path:
    """`folder/name` if it is a regular file (not a link) of at most `max_bytes`."""
    path = Path(folder) / name
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise UntrustedOutput(f"the trainer wrote no {name}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UntrustedOutput(f"{name} is not a regular file")
    if info.st_size > max_bytes:
        raise UntrustedOutput(f"{name} has {info.st_size} bytes, more than the {max_bytes} allowed")
    return path


def checked_folder(folder: Path, name: str) -> Path:
    """`folder/name` if it is a directory (not a link to one elsewhere)."""
    path = Path(folder) / name
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise UntrustedOutput(f"the trainer wrote no {name} folder") from None
    if not stat.S_ISDIR(info.st_mode):
        raise UntrustedOutput(f"{name} is not a folder")
    return path


def read_json(folder: Path, name: str, model: type[Model], max_bytes: int = 1024 * 1024) -> Model:
    """A small JSON file parsed into `model` (which should forbid extra fields)."""
    path = checked_file(folder, name, max_bytes)
    try:
        return model.model_validate(json.loads(path.read_bytes()))
    except ValidationError as error:
        raise UntrustedOutput(f"{name} is not valid: {validation_message(error)}") from error
    except ValueError as error:  # invalid JSON or text
        raise UntrustedOutput(f"{name} is not JSON: {' '.join(str(error).split())[:200]}") from error
