"""FAQ search for Chinese text without database extensions (SD-4).

Text is cut into tokens: every CJK character (unigram), every pair of neighbouring CJK characters
(bigram) and every Latin/digit word (lower-cased). Articles keep title and body tokens in
PostgreSQL `text[]` columns; candidates are found with the built-in array overlap operator (`&&`,
served by a GIN index) and ranked in SQL: a matching bigram weighs 2, a unigram 1, and a match in
the title counts three times a match in the body."""
from __future__ import annotations

import re

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")

TITLE_WEIGHT = 3
BIGRAM_WEIGHT = 2


def tokenize(text: str) -> list[str]:
    """Distinct unigrams, bigrams and words of `text`, in first-seen order."""
    text = (text or "").lower()
    seen: dict[str, None] = {}
    for run in _CJK_RUN.findall(text):
        for i, ch in enumerate(run):
            seen.setdefault(ch, None)
            if i + 1 < len(run):
                seen.setdefault(run[i:i + 2], None)
    for word in _WORD.findall(text):
        seen.setdefault(word[:8], None)
    return list(seen)


def is_bigram(token: str) -> bool:
    return len(token) == 2 and bool(_CJK_RUN.fullmatch(token))


_SCORE_SQL = f"""
  {TITLE_WEIGHT} * (SELECT COALESCE(SUM(CASE WHEN char_length(t) = 2 AND t !~ '^[a-z0-9]+$' THEN {BIGRAM_WEIGHT} ELSE 1 END), 0)
            FROM unnest("service_desk_faqarticle"."title_tokens") t WHERE t = ANY(%s::varchar[]))
  + (SELECT COALESCE(SUM(CASE WHEN char_length(t) = 2 AND t !~ '^[a-z0-9]+$' THEN {BIGRAM_WEIGHT} ELSE 1 END), 0)
     FROM unnest("service_desk_faqarticle"."body_tokens") t WHERE t = ANY(%s::varchar[]))
"""


def rank(qs: QuerySet, query: str) -> QuerySet:
    """Articles of `qs` matching `query`, best first (score, then title). Empty query: none."""
    tokens = tokenize(query)
    if not tokens:
        return qs.none()
    # Candidates must share a bigram when the query has one: single characters alone match too much.
    needles = [t for t in tokens if is_bigram(t) or not _CJK_RUN.fullmatch(t)] or tokens
    return (
        qs.filter(tokens__overlap=needles)
        .annotate(score=RawSQL(_SCORE_SQL, (tokens, tokens)))
        .order_by("-score", "title", "pk")
    )
