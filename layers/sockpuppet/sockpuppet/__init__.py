"""sockpuppet: find likely sock-puppet accounts by near-identical screen names among a hashtag's posters.

The two functions of the original exercise keep their signatures and results (:func:`get_hashtag_accounts`,
:func:`get_similar_screen_names`); :func:`find_similar_accounts` runs the whole job with counts, truncation and
groups and, on request, the coordination signals (:func:`co_hashtag_pairs`, :func:`creation_bursts`, clusters with
evidence); the loaders read the exercise's TSV files, JSON arrays and JSON Lines (optionally gzip), as records or as
columns (:func:`read_post_columns`, :func:`read_account_columns`: what the job and the CLI use).
"""

from sockpuppet.columns import AccountColumns, PostColumns
from sockpuppet.engine import get_similar_screen_names
from sockpuppet.errors import DeadlineExceeded, InputError, RecordLimitExceeded
from sockpuppet.hashtags import get_hashtag_accounts, normalize_hashtag
from sockpuppet.job import SimilarAccountsResult, find_similar_accounts
from sockpuppet.loaders import (
    detect_format,
    iter_records,
    read_account_columns,
    read_accounts,
    read_post_columns,
    read_posts,
)
from sockpuppet.shards import merge_shards, pairs_from_bytes, pairs_to_bytes, plan_shards, search_shard
from sockpuppet.signals import Signals, co_hashtag_pairs, creation_bursts
from sockpuppet.times import parse_time

__version__ = "0.1.0"

__all__ = [
    "AccountColumns",
    "DeadlineExceeded",
    "InputError",
    "PostColumns",
    "RecordLimitExceeded",
    "Signals",
    "SimilarAccountsResult",
    "__version__",
    "co_hashtag_pairs",
    "creation_bursts",
    "detect_format",
    "find_similar_accounts",
    "get_hashtag_accounts",
    "get_similar_screen_names",
    "iter_records",
    "merge_shards",
    "normalize_hashtag",
    "pairs_from_bytes",
    "pairs_to_bytes",
    "parse_time",
    "plan_shards",
    "read_account_columns",
    "read_accounts",
    "read_post_columns",
    "read_posts",
    "search_shard",
]
