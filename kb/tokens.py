"""Tokens for lexical search: CJK unigrams + bigrams, whole ASCII words and numbers (measured best recall)."""

from __future__ import annotations

import re

TOKEN = re.compile(r"[A-Za-z]+[A-Za-z0-9.\-]*|\d+(?:\.\d+)?|[\u4e00-\u9fff]+")
STOP_CHARS = set("的了和与及等在是为对把将从以由其之或而也都要")


def search_tokens(text: str) -> list[str]:
    out: list[str] = []
    for m in TOKEN.finditer(text):
        tok = m.group(0)
        if tok[0] >= "\u4e00":
            out.extend(ch for ch in tok if ch not in STOP_CHARS)
            out.extend(tok[i:i + 2] for i in range(len(tok) - 1))
        else:
            out.append(tok.lower())
    return out


def plain_bigrams(text: str) -> set[str]:
    """Character bigrams of the words and digits, punctuation dropped: names that carry figures ("2014年度")."""
    text = re.sub(r"[^\u4e00-\u9fff\dA-Za-z]", "", text)
    return {text[i:i + 2] for i in range(len(text) - 1)}


def bigrams(text: str) -> set[str]:
    """Character bigrams of the words only: digits and punctuation would make "10.3%" match "2010年"."""
    text = re.sub(r"[^\u4e00-\u9fffA-Za-z]+", "", text)
    return {text[i:i + 2] for i in range(len(text) - 1)}
