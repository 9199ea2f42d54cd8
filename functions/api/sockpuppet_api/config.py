"""Function configuration: the environment variables of ``docs/design.md``, read once at import.

Every setting is required. A missing or malformed variable is a deployment bug, so :func:`load_settings` raises
:class:`ConfigError` naming *all* of them instead of falling back to a silent default.
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
    """The function's limits and storage settings (one attribute per environment variable, lower-cased)."""

    payload_bucket: str
    max_inline_body_bytes: int
    max_decoded_body_bytes: int
    max_inline_result_bytes: int
    max_upload_bytes: int
    upload_url_ttl_seconds: int
    result_url_ttl_seconds: int
    max_records: int
    max_screen_name_length: int
    max_pairs: int
    deadline_margin_ms: int
    jobs_table: str
    jobs_state_machine_arn: str
    job_ttl_days: int


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
        Naming every variable that is missing, empty, not an integer or not positive.
    """
    env = os.environ if environ is None else environ
    values: dict[str, str | int] = {}
    problems: list[str] = []
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
        if number <= 0:
            problems.append(f"{name} must be positive, got {number}")
            continue
        values[field.name] = number
    if problems:
        raise ConfigError("invalid function configuration: " + "; ".join(problems))
    return Settings(**values)  # type: ignore[arg-type]


settings: Settings = load_settings()
"""The function's settings, read once when the module is imported."""
