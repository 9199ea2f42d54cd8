"""Seeded generator of realistic handle-like screen names with planted near-duplicates.

Names are 4-15 characters of letters, digits and underscores built from common first names, surnames, words and
numbers (``anna_smith92``, ``thedailytruth``, ``news_watch_1987`` ...). A fraction of them are *planted*
near-duplicates of other names: one or two random edits (substitution, insertion, deletion, adjacent
transposition, an appended digit or underscore), the way sock-puppet handles look. All names are distinct (screen
names are unique handles). Same ``n``, ``seed`` and ``planted`` -> the same list.
"""

from __future__ import annotations

import random
import string

__all__ = ["handle", "names", "near_duplicate"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    """anna ben carla dan elena frank grace henry iris jack kate leo maria nick olga paul quinn rosa sam tina uma
    victor wendy xavier yara zoe amir bruno chloe diego emma felix gina hugo ivy jonas kira lars mila noah omar pia
    rafa sara theo ugo vera will xena yuri zack alex beth cody dora eric fay gus hana ian jill kurt lina max nina
    otto pete rita seth tara ulla vic walt yves zara adam bella carl dina eva finn gabe heidi igor jade"""
)
LAST = _words(
    """smith jones brown miller davis garcia wilson moore taylor thomas white harris martin lee clark lewis walker
    young king wright lopez hill scott green adams baker nelson carter mitchell perez roberts turner phillips
    campbell parker evans edwards collins stewart morris rogers reed cook morgan bell murphy bailey rivera cooper
    cox howard ward torres peterson gray ramirez james watson brooks kelly sanders price bennett wood barnes ross
    henderson cole jenkins perry powell long patterson hughes flores butler simmons foster bryant russell griffin"""
)
WORDS = _words(
    """health news daily truth watch report live update world local citizen patriot mom dad doc nurse science data
    facts voice freedom media journal observer insider coffee runner garden music travel photo tech crypto fitness
    vegan book film gamer artist writer teacher coach farmer pilot sailor hiker real official the my its just not
    your team fan club life love art sport city usa uk tx ny la nyc chef baker pro dev code bot alpha beta gamma
    delta echo nova star moon sun sky rain snow storm wolf bear fox hawk eagle lion tiger"""
)
EDIT_CHARS = string.ascii_lowercase + string.digits + "_"
ONSETS = _words("b c d f g h j k l m n p r s t v w z br ch cl dr fl gr kr pl sh st tr th")
VOWELS = _words("a e i o u a e i o y ai ea ou")
CODAS = ["", "", "", "n", "r", "s", "l", "m", "x", "ck", "nd", "rt", "sh"]


def _pseudo_words(count: int, seed: int) -> tuple[str, ...]:
    """``count`` distinct pronounceable pseudo-words (1-3 syllables), to give the names a realistic vocabulary."""
    rng = random.Random(seed)
    words: dict[str, None] = {}
    while len(words) < count:
        syllables = rng.choice((1, 2, 2, 2, 3))
        words.setdefault("".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(syllables)) + rng.choice(CODAS))
    return tuple(words)


FIRST += _pseudo_words(3000, 1)
LAST += _pseudo_words(8000, 2)
WORDS += _pseudo_words(2000, 3)


def _number(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return str(rng.randrange(1950, 2010))
    if roll < 0.6:
        return str(rng.randrange(100))
    return str(rng.randrange(10000))


def handle(rng: random.Random) -> str:
    """One organic handle (4-15 characters; patterns that come out longer are drawn again)."""
    while True:
        pattern = rng.randrange(8)
        first, last, word = rng.choice(FIRST), rng.choice(LAST), rng.choice(WORDS)
        if pattern == 0:
            name = f"{first}{last}{_number(rng)}"
        elif pattern == 1:
            name = f"{first}_{word}"
        elif pattern == 2:
            name = f"the{word}{rng.choice(WORDS)}"
        elif pattern == 3:
            name = f"{word}_{last}{_number(rng)}"
        elif pattern == 4:
            name = f"{first.title()}{last.title()}"
        elif pattern == 5:
            name = f"{word}{rng.choice(WORDS)}{_number(rng)}"
        elif pattern == 6:
            name = f"{first}_{last}"
        else:
            name = f"{first[0]}{last}{_number(rng)}"
        if 4 <= len(name) <= 15:
            return name


def near_duplicate(rng: random.Random, name: str) -> str:
    """``name`` after one or two random edits, kept within 4-15 characters."""
    chars = list(name)
    for _ in range(1 if rng.random() < 0.7 else 2):
        op = rng.randrange(5)
        at = rng.randrange(len(chars))
        if op == 0:
            chars[at] = rng.choice(EDIT_CHARS)
        elif op == 1 and len(chars) < 15:
            chars.insert(at, rng.choice(EDIT_CHARS))
        elif op == 2 and len(chars) > 4:
            del chars[at]
        elif op == 3 and at + 1 < len(chars):
            chars[at], chars[at + 1] = chars[at + 1], chars[at]
        elif len(chars) < 15:
            chars.append(rng.choice("0123456789_"))
        else:
            chars[-1] = rng.choice(string.digits)
    return "".join(chars)


def names(n: int, *, seed: int = 2024, planted: float = 0.05) -> list[str]:
    """``n`` distinct handle-like names, about ``planted`` of them near-duplicates of earlier ones.

    Parameters
    ----------
    n
        Number of names.
    seed
        Random seed.
    planted
        Fraction of names made as near-duplicates of an earlier name (sock-puppet clusters).

    Returns
    -------
    list of str
        Distinct names in generation order, shuffled.
    """
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        name = near_duplicate(rng, rng.choice(out)) if out and rng.random() < planted else handle(rng)
        if name not in seen:
            seen.add(name)
            out.append(name)
    rng.shuffle(out)
    return out
