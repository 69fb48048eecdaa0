"""``pipeline.provenance``: the data of a cluster's provenance diagram, from hand-made rows."""

from __future__ import annotations

import math

from pipeline.provenance import (
    CITED,
    UNDATED,
    provenance,
    reference_index,
    shade,
    split_sources,
    word_drift,
)

DOCS = {
    "a": {"outlet": "Reuters", "date": "2024-10-12"},
    "b": {"outlet": "TRT World", "date": "2024-10-11"},
    "c": {"outlet": None, "date": None},
    "d": {"outlet": "Kyiv Post", "date": "not a date"},
}


def _quote(quote_id: str, doc_id: str, lang: str, text: str, direct: bool = True,
           cited: str | None = None, english: str | None = None) -> dict:
    row = {"quote_id": quote_id, "doc_id": doc_id, "lang": lang, "direct": direct,
           "cited_source": cited, "text": text}
    if english is not None:
        row["english"] = english
    return row


QUOTES = [
    _quote("a:q0", "a", "en", "We work together in the arena", cited="TRT World"),
    _quote("b:q0", "b", "en", "We actively work together in the international arena",
           cited="TASS"),
    _quote("c:q0", "c", "vi", "Chúng tôi đang tích cực hợp tác",
           english="We are actively cooperating"),
    _quote("d:q0", "d", "en", "Work together", direct=False, cited="Tass, AFP"),
    _quote("x:q9", "a", "en", "another cluster's quote"),
]
CLUSTER = {"cluster_id": "c0003", "speaker_lang": "ru",
           "quote_ids": ["d:q0", "c:q0", "b:q0", "a:q0"]}


def _by_id(result: dict) -> dict:
    return {n["id"]: n for n in result["nodes"]}


def test_word_drift_is_the_share_of_changed_words() -> None:
    assert word_drift("We work together", "We work together.") == 0.0
    assert word_drift("a b", "c d") == 1.0
    assert word_drift("a b c d", "a b") == round(1 - 4 / 6, 3)
    assert word_drift("", "") == 0.0


def test_reference_is_the_first_direct_english_rendition() -> None:
    quotes = [{"lang": "vi", "direct": True}, {"lang": "en", "direct": False},
              {"lang": "en", "direct": True}]
    assert reference_index(quotes) == 2
    assert reference_index(quotes[:2]) == 1
    assert reference_index(quotes[:1]) is None


def test_lanes_follow_dates_with_undated_last_and_cited_sources_first() -> None:
    result = provenance(CLUSTER, QUOTES, DOCS)
    assert [lane["name"] for lane in result["lanes"]] == [
        CITED, "2024-10-11", "2024-10-12", UNDATED]
    nodes = _by_id(result)
    assert "x:q9" not in nodes  # only the cluster's quotes
    assert nodes["b:q0"]["lane"] == "2024-10-11" and nodes["a:q0"]["lane"] == "2024-10-12"
    assert nodes["c:q0"]["lane"] == nodes["d:q0"]["lane"] == UNDATED  # invalid date: undated
    assert [nodes[q]["row"] for q in ("c:q0", "d:q0")] == [0, 1]  # stacked by quote id
    xs = [lane["x"] for lane in result["lanes"]]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    # The earliest dated rendition is the first reported, whatever the quote ids say.
    assert result["first"] == "b:q0"
    assert [n["id"] for n in result["nodes"] if n["first"]] == ["b:q0"]
    assert nodes["c:q0"]["label"] == "c" and nodes["d:q0"]["label"] == "Kyiv Post"


def test_citation_edges_to_outlets_in_the_cluster_and_external_sources() -> None:
    result = provenance(CLUSTER, QUOTES, DOCS)
    edges = {(e["source"], e["target"]): e for e in result["edges"]}
    # Reuters cites TRT World (in the cluster); TRT and Kyiv Post cite TASS (one node, any case).
    assert set(edges) == {("b:q0", "a:q0"), ("ext:tass", "b:q0"), ("ext:tass", "d:q0"),
                          ("ext:afp", "d:q0")}
    assert not edges[("b:q0", "a:q0")]["external"]
    assert edges[("ext:tass", "b:q0")]["external"]
    external = [n for n in result["nodes"] if n["external"]]
    assert [(n["label"], n["lane"]) for n in external] == [("AFP", CITED), ("TASS", CITED)]
    for edge in result["edges"]:
        assert edge["d"].startswith("M") and len(edge["head"].split()) == 3


def test_an_outlet_citing_itself_has_no_edge() -> None:
    quotes = [_quote("b:q0", "b", "en", "x y", cited="TRT World"),
              _quote("a:q0", "a", "en", "x y")]
    result = provenance({"quote_ids": ["a:q0", "b:q0"]}, quotes, DOCS)
    assert result["edges"] == [] and not any(n["external"] for n in result["nodes"])


def test_translations_and_drift() -> None:
    result = provenance(CLUSTER, QUOTES, DOCS)
    nodes = _by_id(result)
    # Reference: the first direct English rendition by quote id.
    assert result["reference"] == "a:q0" and nodes["a:q0"]["drift"] == 0.0
    assert nodes["b:q0"]["drift"] == word_drift(QUOTES[0]["text"], QUOTES[1]["text"]) > 0
    assert nodes["c:q0"]["drift"] == word_drift(QUOTES[0]["text"], "We are actively cooperating")
    assert all(n["translated"] == "ru" for n in nodes.values() if not n["external"])
    assert nodes["a:q0"]["fill"] == "#ffffff" and nodes["b:q0"]["fill"] != "#ffffff"
    # Speaker's language unknown: a Vietnamese rendition of English ones is a translation
    # from English; a rendition without an English form has no drift; a cross-language
    # citation is labelled as a translation.
    quotes = [_quote("b:q0", "b", "en", "We work together"),
              _quote("c:q0", "c", "vi", "Chúng tôi hợp tác", cited="TRT World")]
    result = provenance({"quote_ids": ["b:q0", "c:q0"], "speaker_lang": None}, quotes, DOCS)
    nodes = _by_id(result)
    assert nodes["c:q0"]["translated"] == "en" and nodes["b:q0"]["translated"] == ""
    assert nodes["c:q0"]["drift"] is None and nodes["c:q0"]["fill"] == shade(None)
    assert [e["label"] for e in result["edges"]] == ["translation en→vi"]


def test_deterministic_and_independent_of_input_order() -> None:
    first = provenance(CLUSTER, QUOTES, DOCS)
    assert provenance(dict(CLUSTER), list(reversed(QUOTES)), DOCS) == first
    assert first["width"] >= 640 and first["height"] > 0


def test_helpers() -> None:
    assert split_sources("AFP, AP and dpa") == ["AFP", "AP", "dpa"]
    assert split_sources(None) == [] and split_sources(math.nan) == []
    assert shade(0) == "#ffffff" and shade(1) == "#d9534f" and shade(5) == "#d9534f"
