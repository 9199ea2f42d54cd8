"""Worker configuration: environment variables set by ``template.yaml``, read once at import.

A missing or malformed variable is a deployment bug: :func:`load_settings` raises :class:`ConfigError` naming all
of them instead of falling back to a silent default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

__all__ = ["ConfigError", "Settings", "load_settings", "settings"]


class ConfigError(RuntimeError):
    """One or more required environment variables are missing or malformed."""


@dataclass(frozen=True, slots=True)
class Settings:
    """One attribute per environment variable, lower-cased.

    Attributes
    ----------
    payload_bucket
        The bucket holding uploads and the jobs' objects (``jobs/{owner}/{job_id}/...``).
    jobs_table
        The DynamoDB table of job records (``owner``, ``job_id``).
    job_shard_max_names
        The most matched accounts one search worker takes; more matched accounts fan out over several shards.
    max_pairs
        The default of ``max_pairs`` (the synchronous route's ``MAX_PAIRS``: the result must be the same document).
    """

    payload_bucket: str
    jobs_table: str
    job_shard_max_names: int
    max_pairs: int


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read :class:`Settings` from the environment.

    Parameters
    ----------
    environ
        The variables to read (default: ``os.environ``).

    Returns
    -------
    Settings
        The parsed settings.

    Raises
    ------
    ConfigError
        Naming every variable that is missing, empty, not an integer or below its minimum.
    """
    env = os.environ if environ is None else environ
    values: dict[str, str | int] = {}
    problems: list[str] = []
    minimum = {"job_shard_max_names": 2, "max_pairs": 1}
    for field in fields(Settings):
        name = field.name.upper()
        raw = env.get(name, "").strip()
        if not raw:
            problems.append(f"{name} is not set")
            continue
        if field.type == "str":
            values[field.name] = raw
            continue
        try:
            number = int(raw)
        except ValueError:
            problems.append(f"{name} must be an integer, got {raw!r}")
            continue
        if number < minimum[field.name]:
            problems.append(f"{name} must be at least {minimum[field.name]}, got {number}")
            continue
        values[field.name] = number
    if problems:
        raise ConfigError("invalid worker configuration: " + "; ".join(problems))
    return Settings(**values)  # type: ignore[arg-type]


settings: Settings = load_settings()
"""The workers' settings, read once when the module is imported."""
