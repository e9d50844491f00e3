"""Did-you-mean suggestions (Damerau–Levenshtein with a length-scaled cutoff)."""

from __future__ import annotations

from collections.abc import Iterable


def distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance between ``a`` and ``b``.

    Returns ``limit + 1`` as soon as the distance is known to exceed ``limit``.
    """
    if a == b:
        return 0
    la, lb = len(a), len(b)
    if abs(la - lb) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        best = i
        ai = a[i - 1]
        for j in range(1, lb + 1):
            cost = 0 if ai == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ai == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
            best = min(best, v)
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[lb]


def _limit(word: str) -> int:
    n = len(word)
    if n <= 2:
        return 0
    if n <= 4:
        return 1
    if n <= 8:
        return 2
    return 3


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word`` within the cutoff (ties: first given)."""
    limit = _limit(word)
    best: str | None = None
    best_d = limit + 1
    lowered = word.lower()
    for cand in candidates:
        if cand == word:
            continue
        if cand.lower() == lowered:
            return cand
        d = distance(lowered, cand.lower(), min(limit, best_d - 1) if best is not None else limit)
        if d < best_d:
            best, best_d = cand, d
    return best if best_d <= limit else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """``did you mean `x`?`` text, or None when nothing is close."""
    found = closest(word, candidates)
    return None if found is None else f"did you mean `{found}`?"
