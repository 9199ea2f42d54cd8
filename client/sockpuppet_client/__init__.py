"""Python client for the deployed sockpuppet API: SigV4 signing, automatic S3 uploads, result URLs.

>>> from sockpuppet_client import Client, SigV4Auth
>>> url = "https://abc123.execute-api.eu-west-1.amazonaws.com"
>>> client = Client(url, auth=SigV4Auth.from_session())  # doctest: +SKIP
>>> client.similar_account_pairs(posts="posts.tsv", accounts="accounts.tsv", hashtag="diedsuddenly")  # doctest: +SKIP
"""

from sockpuppet_client.auth import SigV4Auth
from sockpuppet_client.client import Client, UploadId
from sockpuppet_client.errors import SockpuppetError
from sockpuppet_client.jobs import Job, JobCancelled, JobFailed, SyncTimeout

__all__ = ["Client", "Job", "JobCancelled", "JobFailed", "SigV4Auth", "SockpuppetError", "SyncTimeout", "UploadId"]
