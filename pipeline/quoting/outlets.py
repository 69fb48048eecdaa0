"""Cited sources: the news outlets a sentence or a document credits."""

from __future__ import annotations

import re

from pipeline.quoting.lexicon import CAPITALISED

KNOWN_OUTLETS = [
    "RIA Novosti", "Associated Press", "Press TV", "Fox News", "TRT World", "Al Jazeera",
    "The Telegraph", "The Guardian", "The New York Times", "New York Times",
    "The Washington Post", "Washington Post", "The Wall Street Journal", "Wall Street Journal",
    "Tass", "TASS", "Interfax", "Sputnik", "Reuters", "AFP", "AP", "dpa", "DPA", "Xinhua", "IRNA",
    "Tasnim", "ISNA", "CNN", "BBC", "NBC", "CBS", "ABC", "MSNBC", "NPR", "Bloomberg", "Politico",
    "Axios", "CNBC", "Anadolu", "Kyodo", "Yonhap", "VnExpress", "TTXVN", "VTV", "Ettelaat",
]
_OUTLET = re.compile(r"(?<![\w-])(" + "|".join(re.escape(o) for o in KNOWN_OUTLETS) + r")(?![\w-])")
MEDIA_WORDS = {"news", "times", "post", "world", "journal", "radio", "tv", "agency", "press",
               "daily", "telegraph", "guardian", "herald", "tribune", "magazine", "network",
               "gazette", "broadcasting", "television", "wire"}
AUDIENCES = {"journalists", "reporters", "the press", "the media", "báo chí", "phóng viên",
             "các phóng viên"}
AGENCY_PREFIX = re.compile(
    r"(?:news agency|agency|newspaper|broadcaster|hãng thông tấn|hãng tin|thông tấn xã|báo|tờ|"
    r"đài)\s+((?:[A-ZÀ-ỸĐ][\w’'.-]*\s?)+)")
AGENCY_TAG = re.compile(r"^\s*[a-z]{1,4}(?:/[a-z]{1,4})+\s*\(([^)]+)\)\s*$", re.MULTILINE)
DATELINE = re.compile(r"^[A-Z][\w .,'-]{0,40}\((AFP|AP|Reuters|dpa|Xinhua|TASS|Tass)\)\s*[-–—]",
                      re.MULTILINE)


def outlet_of(phrase: str | None) -> str | None:
    """The news outlet a noun phrase names, as written, or None."""
    if not phrase:
        return None
    phrase = phrase.strip()
    if phrase.lower() in AUDIENCES:
        return phrase
    known = _OUTLET.search(phrase)
    if known:
        return known.group(1)
    prefixed = AGENCY_PREFIX.search(phrase)
    if prefixed:
        return prefixed.group(1).strip()
    words = phrase.split()
    if (len(words) >= 2 and words[0] == "The" and all(CAPITALISED.match(w) for w in words[1:])
            and any(w.lower() in MEDIA_WORDS for w in words[1:])):
        return phrase
    if len(words) >= 2 and all(CAPITALISED.match(w) for w in words) and \
            words[-1].lower() in MEDIA_WORDS:
        return phrase
    return None


def document_source(raw: str, clean: str) -> str | None:
    """The agency tag ("rc/wmr (AFP, AP, dpa)") or dateline ("Washington (AFP) –") credit."""
    tag = AGENCY_TAG.search(raw)
    if tag:
        return tag.group(1).strip()
    dateline = DATELINE.search(clean[:2000])
    return dateline.group(1) if dateline else None
