# ruff: noqa: UP006, UP035
"""The two reference functions of the original exercise, copied verbatim (they define correct results)."""

from itertools import combinations
from typing import Dict, List, Tuple

from rapidfuzz.distance.DamerauLevenshtein import normalized_similarity


# fmt: off
def get_hashtag_accounts(
        posts: List[Dict],
        hashtag: str
    ) -> List[str]:
    """
    From a set of posts, returns the IDs of all accounts that posted a
    particular hashtag (excluding reposts)

    Parameters
    ----------
    posts:
        A list of dictionary records, where each record corresponds to one post.
        Keys are metadata fields for a post, and values are the metadata itself
    hashtag:
        The hashtag by which to filter

    Returns
    -------
    accounts:
        The IDs of all accounts that posted the `hashtag` (excluding reposts)
    """
    account_ids = set()
    for post in posts:
        if not post['is_repost'] and post['hashtags'] and hashtag in post['hashtags']:
            account_ids.add(post['author_id'])
    return list(account_ids)


def get_similar_screen_names(
      accounts: List[Dict],
      min_similarity: float
    ) -> List[Tuple[str, str, float]]:
    """
    From a set of accounts, returns pairs of accounts that have similar screen
    names according to the normalized Damerau-Levenshtein similarity

    Parameters
    ----------
    accounts:
        A list of account records, where each record corresponds to one account.
        Keys are metadata fields for an account, and values are the metadata
        itself
    min_similarity:
        A value between 0 and 1, indicating the minimum similarity needed to
        determine two accounts have similar screen names

    Returns
    -------
    similar_account_pairs:
        A list of tuples of the format (account_id1, account_id2) indicating
        which accounts have similar screen names
    """
    similar_account_pairs = []
    for account_1, account_2 in combinations(accounts, 2):
        screen_name1 = account_1['screen_name']
        screen_name2 = account_2['screen_name']
        similarity = normalized_similarity(screen_name1, screen_name2)
        if similarity > min_similarity:
            similar_account_pairs.append((account_1['id'], account_2['id'], similarity))
    return similar_account_pairs
# fmt: on
