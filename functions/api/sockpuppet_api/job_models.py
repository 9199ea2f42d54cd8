"""Pydantic models of the job routes' responses (they make the OpenAPI document; the routes serialize dicts).

Nothing validates with them at run time, so their schemas are built when the OpenAPI document is (``defer_build``):
the cold start does not pay for them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sockpuppet_api.models import ErrorInfo

__all__ = ["JobCreatedResponse", "JobListResponse", "JobProgress", "JobResponse", "JobStatus", "JobSummary"]

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JobPhase = Literal["loading", "filtering", "searching", "merging"]
_DEFERRED = ConfigDict(defer_build=True)


class JobCreatedResponse(BaseModel):
    """202 body of ``POST /v1/jobs`` (the ``Location`` header repeats ``status_url``)."""

    model_config = _DEFERRED

    job_id: str
    status: Literal["queued"]
    status_url: str = Field(description="absolute URL of GET /v1/jobs/{job_id}")
    created_at: str = Field(description="ISO 8601 UTC")


class JobProgress(BaseModel):
    """Where a job is: its phase (null while queued) and the search shards done so far."""

    model_config = _DEFERRED

    phase: JobPhase | None
    shards_done: int
    shards_total: int | None = Field(description="known once the inputs are loaded and filtered")


class JobResponse(BaseModel):
    """200 body of ``GET`` / ``DELETE /v1/jobs/{job_id}``."""

    model_config = _DEFERRED

    job_id: str
    status: JobStatus
    created_at: str
    updated_at: str
    progress: JobProgress
    result_url: str | None = Field(
        description="succeeded only: fresh presigned GET of the result, the synchronous 200 document with its pairs"
    )
    result_expires_at: str | None = Field(description="ISO 8601 UTC expiry of result_url")
    pair_count: int | None = Field(description="succeeded only")
    error: ErrorInfo | None = Field(description="failed only: the error object of the synchronous error bodies")


class JobSummary(BaseModel):
    """One job of ``GET /v1/jobs``."""

    model_config = _DEFERRED

    job_id: str
    status: JobStatus
    created_at: str
    updated_at: str
    status_url: str


class JobListResponse(BaseModel):
    """200 body of ``GET /v1/jobs``: the caller's jobs, newest first."""

    model_config = _DEFERRED

    jobs: list[JobSummary]
    next_token: str | None = Field(description="pass as next_token for the next page; null on the last page")
