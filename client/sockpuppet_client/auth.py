"""AWS Signature Version 4 for ``requests``: the API's routes use IAM auth (API Gateway service ``execute-api``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from requests import PreparedRequest
from requests.auth import AuthBase

__all__ = ["CredentialsLike", "SigV4Auth", "region_from_url"]

CredentialsLike = Credentials | ReadOnlyCredentials | Sequence[str]
"""botocore credentials, or ``(access_key, secret_key)`` / ``(access_key, secret_key, session_token)``."""

_SIGNED_HEADERS = frozenset({"content-type", "content-encoding"})
_EXECUTE_API_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


def region_from_url(url: str) -> str | None:
    """The AWS region of an ``https://<id>.execute-api.<region>.amazonaws.com/...`` URL, else ``None``.

    Parameters
    ----------
    url
        An API base URL.

    Returns
    -------
    str or None
        E.g. ``"eu-west-1"``; ``None`` for other hosts (custom domains, the local stack).
    """
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    match = _EXECUTE_API_HOST.search(host)
    return match.group(1) if match else None


def _frozen(credentials: CredentialsLike) -> ReadOnlyCredentials:
    if isinstance(credentials, ReadOnlyCredentials):
        return credentials
    if isinstance(credentials, Credentials):
        return credentials.get_frozen_credentials()  # refreshes temporary credentials when they are about to expire
    values = tuple(credentials)
    if len(values) not in (2, 3) or not all(isinstance(value, str) for value in values):
        raise TypeError("credentials must be botocore Credentials or (access_key, secret_key[, session_token])")
    return ReadOnlyCredentials(values[0], values[1], values[2] if len(values) == 3 else None)


class SigV4Auth(AuthBase):
    """Sign ``requests`` requests with AWS Signature Version 4 (botocore's signer).

    Signs the method, URL, body and the ``Host``, ``Content-Type``, ``Content-Encoding`` and ``X-Amz-*``
    headers; hop-by-hop and client headers (``Connection``, ``User-Agent``, ``Accept*``) are left unsigned so that
    proxies may change them. Sets ``Authorization``, ``X-Amz-Date`` and, for temporary credentials,
    ``X-Amz-Security-Token``.

    Parameters
    ----------
    credentials
        botocore ``Credentials`` (refreshable ones are refreshed as botocore does) or
        ``(access_key, secret_key[, session_token])``.
    region
        AWS region of the API, e.g. ``"eu-west-1"``.
    service
        Signing name; API Gateway is ``"execute-api"``.
    """

    def __init__(self, credentials: CredentialsLike, region: str, *, service: str = "execute-api") -> None:
        _frozen(credentials)  # fail now on a malformed credentials argument, not at the first request
        if not region:
            raise ValueError("SigV4 signing needs a region")
        self.credentials = credentials
        self.region = region
        self.service = service

    @classmethod
    def from_session(cls, *, profile: str | None = None, region: str | None = None) -> SigV4Auth:
        """Signer with the credentials and region of a botocore session (env vars, profiles, SSO, roles...).

        Parameters
        ----------
        profile
            Named profile (``~/.aws/config``); default: the default chain.
        region
            Region; default: the session's configured region.

        Returns
        -------
        SigV4Auth
            A signer for ``execute-api``.

        Raises
        ------
        ValueError
            If no credentials or no region can be found.
        """
        session = botocore.session.Session(profile=profile)
        credentials = session.get_credentials()
        if credentials is None:
            raise ValueError("no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)")
        region = region or session.get_config_variable("region")
        if not region:
            raise ValueError("no AWS region found (pass a region or set AWS_DEFAULT_REGION / a profile region)")
        return cls(credentials, region)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        if not isinstance(body, bytes):
            raise TypeError("SigV4Auth signs bytes bodies only (API Gateway needs the payload hash)")
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in _SIGNED_HEADERS or name.lower().startswith("x-amz-")
        }
        aws_request = AWSRequest(method=request.method, url=request.url, data=body, headers=headers)
        botocore.auth.SigV4Auth(_frozen(self.credentials), self.service, self.region).add_auth(aws_request)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in aws_request.headers:
                request.headers[name] = aws_request.headers[name]
        return request
