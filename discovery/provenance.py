"""What makes a run identifiable and reproducible: its id and the library versions it ran with."""

import secrets
from datetime import datetime
from importlib import metadata

_PACKAGES = ("discover", "torch", "trl", "transformers", "datasets", "accelerate", "deepspeed")


def new_run_id(prefix: str = "") -> str:
    """Sortable by start time, unique without coordination."""
    return f"{prefix}{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def library_versions() -> dict[str, str]:
    """Versions that decide whether figures are comparable across runs ("missing" when absent)."""
    versions = {}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "missing"
    return versions
