"""Inspect a finished job's output folder: what was found, one document, or one document pair.

Every function returns a plain, JSON-serialisable dict (``quotetrace inspect --json`` prints it
as is) built only from the job's tables; rows are sorted so the same job always gives the same
answer. The ``format_*`` functions render those dicts as text for the terminal (rich tables
exported to plain text, no colour codes).

- :func:`summary`: the documents (outlet, language, date, sentence count), translated sentences
  by model, aligned pairs per document pair (count, mean score, kinds) and the quote clusters
  (speaker, how many documents state the quote).
- :func:`document_view`: one document's sentences, each with its language, English form and
  aligned counterparts in the other documents.
- :func:`pair_view`: two documents side by side, one row per aligned pair, in the order given.

Document ids may be given in full or as a unique prefix (``003`` for ``003_9bed0cba9f35e0be``).
"""

from __future__ import annotations

import math
from collections import Counter
from io import StringIO
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import InputError, UsageError
from pipeline.jobfolder import read_job

#: Tables each view needs (all of them are written by every ``quotetrace run``).
SUMMARY_TABLES = ("documents", "sentences", "alignments", "quotes", "clusters")
VIEW_TABLES = ("documents", "sentences", "alignments")

#: Kind of an alignment row read with its two sides swapped.
FLIPPED_KIND = {"1-2": "2-1", "2-1": "1-2"}


def clean(value: Any) -> Any:
    """``None`` for missing values (None, NaN, pandas NA); the value otherwise."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        if pd.isna(value) is True:
            return None
    except (TypeError, ValueError):
        pass
    return value


def load_tables(output_dir: Path | str, names: tuple[str, ...] = SUMMARY_TABLES
                ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The named tables of a finished job, checked against its manifest (``{}`` when absent)."""
    tables, manifest = read_job(output_dir, names)
    return {name: frame for name, frame in tables.items() if frame is not None}, manifest


def resolve_doc_id(documents: pd.DataFrame, doc_id: str) -> str:
    """``doc_id`` itself, or the one document id it is a unique prefix of."""
    ids = sorted(documents["doc_id"].tolist())
    if doc_id in ids:
        return doc_id
    matches = [i for i in ids if doc_id and i.startswith(doc_id)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InputError(f"document id {doc_id!r} is ambiguous; it starts {', '.join(matches)}")
    raise InputError(f"unknown document id {doc_id!r}; the job's documents are: "
                     f"{', '.join(ids) or '(none)'}")


def _doc_info(documents: pd.DataFrame, doc_id: str) -> dict[str, Any]:
    row = documents[documents["doc_id"] == doc_id].iloc[0]
    return {"doc_id": doc_id, "outlet": clean(row["outlet"]), "lang": clean(row["lang"]),
            "date": clean(row["date"]), "title": clean(row["title"])}


def lang_of(sent_ids: list[str], lang: dict[str, str]) -> str | None:
    """The commonest language of ``sent_ids`` (ties: the first); None when unknown."""
    langs = [lang[s] for s in sent_ids if clean(lang.get(s))]
    if not langs:
        return None
    counts = Counter(langs)
    return max(langs, key=lambda value: (counts[value], -langs.index(value)))


def _score(value: Any) -> float | None:
    value = clean(value)
    return None if value is None else round(float(value), 4)


def _filter_score(alignments: pd.DataFrame, min_score: float | None) -> pd.DataFrame:
    if min_score is not None and not math.isfinite(float(min_score)):
        raise UsageError(f"--min-score {min_score}: give a finite number")
    if min_score is None:
        return alignments
    return alignments[alignments["score"] >= float(min_score)]


def summary(output_dir: Path | str) -> dict[str, Any]:
    """What a job found: documents, translations, aligned document pairs and quote clusters."""
    tables, manifest = load_tables(output_dir, SUMMARY_TABLES)
    documents = tables["documents"].sort_values("doc_id", kind="stable")
    sentences, alignments = tables["sentences"], tables["alignments"]
    quotes, clusters = tables["quotes"], tables["clusters"]
    per_doc = sentences.groupby("doc_id").size().to_dict()
    lang = dict(zip(sentences["sent_id"], sentences["lang"], strict=True))
    outlet_of = {d: clean(o) for d, o in zip(documents["doc_id"], documents["outlet"],
                                             strict=True)}

    docs = [{**_doc_info(documents, doc_id), "sentences": int(per_doc.get(doc_id, 0))}
            for doc_id in documents["doc_id"]]

    translated = sentences[sentences["translation_model"].fillna("") != ""]
    by_model = {str(k): int(v) for k, v in
                sorted(translated.groupby("translation_model").size().items())}
    by_lang = {str(k): int(v) for k, v in sorted(sentences.groupby("lang").size().items())}
    non_english = sentences[sentences["lang"].fillna("") != "en"]
    untranslated = int((non_english["text_en"].fillna("") == "").sum())

    pairs = []
    for (doc_a, doc_b), group in alignments.groupby(["doc_a", "doc_b"], sort=True):
        langs_a = Counter(lang_of(list(s), lang) for s in group["sent_ids_a"])
        langs_b = Counter(lang_of(list(s), lang) for s in group["sent_ids_b"])
        pairs.append({
            "doc_a": doc_a, "doc_b": doc_b,
            "outlet_a": outlet_of.get(doc_a), "outlet_b": outlet_of.get(doc_b),
            "lang_a": langs_a.most_common(1)[0][0], "lang_b": langs_b.most_common(1)[0][0],
            "pairs": len(group),
            "mean_score": round(float(group["score"].mean()), 4),
            "kinds": {str(k): int(v) for k, v in sorted(group.groupby("kind").size().items())},
        })

    quote_text = dict(zip(quotes["quote_id"], quotes["text"], strict=True))
    quote_lang = dict(zip(quotes["quote_id"], quotes["lang"], strict=True))
    cluster_rows = []
    for cluster in clusters.itertuples(index=False):
        quote_ids = list(cluster.quote_ids)
        doc_ids = sorted(set(cluster.docs))
        english = [q for q in quote_ids if quote_lang.get(q) == "en"]
        example = (english or quote_ids or [None])[0]
        cluster_rows.append({
            "cluster_id": cluster.cluster_id,
            "speaker": clean(cluster.speaker),
            "speaker_lang": clean(cluster.speaker_lang),
            "quotes": len(quote_ids),
            "docs": len(doc_ids),
            "doc_ids": doc_ids,
            "outlets": sorted({outlet_of.get(d) or d for d in doc_ids}),
            "langs": sorted(set(cluster.langs)),
            "origin_in_corpus": bool(cluster.origin_in_corpus),
            "text": quote_text.get(example) if example else None,
        })
    cluster_rows.sort(key=lambda c: (-c["docs"], -c["quotes"], c["cluster_id"]))

    return {
        "output_dir": str(output_dir),
        "job": manifest.get("job"),
        "totals": {
            "documents": len(documents), "sentences": len(sentences),
            "translated": len(translated), "alignments": len(alignments),
            "quotes": len(quotes), "clusters": len(clusters),
            "multi_document_clusters": sum(1 for c in cluster_rows if c["docs"] > 1),
        },
        "documents": docs,
        "sentences_by_lang": by_lang,
        "translations": {"translated": len(translated), "by_model": by_model,
                         "untranslated_non_english": untranslated},
        "pairs": pairs,
        "clusters": cluster_rows,
    }


def document_view(output_dir: Path | str, doc_id: str, min_score: float | None = None,
                  limit: int | None = None) -> dict[str, Any]:
    """One document's sentences, each with its aligned counterparts in the other documents.

    ``min_score`` drops counterparts scoring below it; ``limit`` keeps the first sentences.
    """
    tables, _ = load_tables(output_dir, VIEW_TABLES)
    documents, sentences = tables["documents"], tables["sentences"]
    doc_id = resolve_doc_id(documents, doc_id)
    alignments = _filter_score(tables["alignments"], min_score)
    own = sentences[sentences["doc_id"] == doc_id].sort_values("idx", kind="stable")

    counterparts: dict[str, list[dict[str, Any]]] = {}
    for row in alignments.itertuples(index=False):
        for mine, other, other_ids, other_text, kind in (
                ("a", row.doc_b, row.sent_ids_b, row.text_b, row.kind),
                ("b", row.doc_a, row.sent_ids_a, row.text_a, FLIPPED_KIND.get(row.kind, row.kind))):
            if (row.doc_a if mine == "a" else row.doc_b) != doc_id:
                continue
            own_ids = list(row.sent_ids_a if mine == "a" else row.sent_ids_b)
            for sent_id in own_ids:
                counterparts.setdefault(sent_id, []).append({
                    "doc_id": other, "sent_ids": list(other_ids), "text": other_text,
                    "score": _score(row.score), "margin": _score(row.margin), "kind": kind,
                    "with": own_ids,
                })
    for items in counterparts.values():
        items.sort(key=lambda c: (-(c["score"] or 0.0), c["doc_id"], c["sent_ids"]))

    rows = []
    for sentence in own.itertuples(index=False):
        rows.append({
            "sent_id": sentence.sent_id, "idx": int(sentence.idx), "lang": clean(sentence.lang),
            "text": sentence.text, "text_en": clean(sentence.text_en) or "",
            "translation_model": clean(sentence.translation_model) or "",
            "aligned": counterparts.get(sentence.sent_id, []),
        })
    total = len(rows)
    if limit is not None:
        rows = rows[:max(int(limit), 0)]
    return {
        **_doc_info(documents, doc_id),
        "min_score": min_score, "limit": limit,
        "sentences_total": total,
        "sentences_aligned": sum(1 for s in own["sent_id"] if s in counterparts),
        "alignments": len({(c["doc_id"], tuple(c["sent_ids"]), tuple(c["with"]))
                           for items in counterparts.values() for c in items}),
        "sentences": rows,
    }


def pair_view(output_dir: Path | str, doc_a: str, doc_b: str, min_score: float | None = None,
              limit: int | None = None) -> dict[str, Any]:
    """Two documents side by side: one row per aligned pair, ``doc_a`` on the left.

    The documents may be given in either order; kinds are read left-right (``2-1`` is two
    sentences of the left document with one of the right). Rows follow the left document.
    """
    tables, _ = load_tables(output_dir, VIEW_TABLES)
    documents, sentences = tables["documents"], tables["sentences"]
    left, right = resolve_doc_id(documents, doc_a), resolve_doc_id(documents, doc_b)
    if left == right:
        raise InputError(f"give two different documents (both are {left})")
    swapped = left > right
    first, second = (right, left) if swapped else (left, right)
    alignments = tables["alignments"]
    alignments = alignments[(alignments["doc_a"] == first) & (alignments["doc_b"] == second)]
    total = len(alignments)
    alignments = _filter_score(alignments, min_score)
    idx_of = dict(zip(sentences["sent_id"], sentences["idx"], strict=True))
    lang = dict(zip(sentences["sent_id"], sentences["lang"], strict=True))

    rows = []
    for row in alignments.itertuples(index=False):
        ids_l, text_l, ids_r, text_r = (row.sent_ids_b, row.text_b, row.sent_ids_a, row.text_a) \
            if swapped else (row.sent_ids_a, row.text_a, row.sent_ids_b, row.text_b)
        ids_l, ids_r = list(ids_l), list(ids_r)
        rows.append({
            "left_sent_ids": ids_l, "left_lang": lang_of(ids_l, lang), "left_text": text_l,
            "right_sent_ids": ids_r, "right_lang": lang_of(ids_r, lang), "right_text": text_r,
            "score": _score(row.score), "margin": _score(row.margin),
            "kind": FLIPPED_KIND.get(row.kind, row.kind) if swapped else row.kind,
        })
    rows.sort(key=lambda r: ([idx_of.get(s, -1) for s in r["left_sent_ids"]],
                             [idx_of.get(s, -1) for s in r["right_sent_ids"]]))
    aligned_l = {s for r in rows for s in r["left_sent_ids"]}
    aligned_r = {s for r in rows for s in r["right_sent_ids"]}
    count = sentences.groupby("doc_id").size().to_dict()
    shown = len(rows)
    scores = [r["score"] for r in rows if r["score"] is not None]
    if limit is not None:
        rows = rows[:max(int(limit), 0)]
    return {
        "left": {**_doc_info(documents, left), "sentences": int(count.get(left, 0)),
                 "aligned_sentences": len(aligned_l)},
        "right": {**_doc_info(documents, right), "sentences": int(count.get(right, 0)),
                  "aligned_sentences": len(aligned_r)},
        "min_score": min_score, "limit": limit,
        "pairs_total": total, "pairs": shown,
        "mean_score": round(sum(scores) / len(scores), 4) if scores else None,
        "rows": rows,
    }


# ---------------------------------------------------------------------------------- formatting


def _render(*renderables: Any, width: int = 120) -> str:
    from rich.console import Console

    console = Console(record=True, width=width, file=StringIO(), color_system=None,
                      force_terminal=False, highlight=False, emoji=False, markup=False)
    for renderable in renderables:
        console.print(renderable)
    return console.export_text().rstrip() + "\n"


def _table(title: str | None = None, **kwargs: Any):
    from rich import box
    from rich.table import Table

    return Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", show_edge=False,
                 **kwargs)


def _name(doc: dict[str, Any]) -> str:
    return f"{doc['doc_id']} ({doc['outlet']})" if doc.get("outlet") else doc["doc_id"]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_summary(d: dict[str, Any], width: int = 120, limit: int | None = None) -> str:
    """:func:`summary` as text: documents, translations, document pairs, clusters.

    ``limit`` caps the cluster rows shown (the clusters spanning most documents come first).
    """
    from rich.text import Text

    t = d["totals"]
    head = Text(f"job {d.get('job') or '?'} in {d['output_dir']}: {t['documents']} documents, "
                f"{t['sentences']} sentences ({t['translated']} translated), "
                f"{t['alignments']} aligned pairs, {t['quotes']} quotes in {t['clusters']} "
                f"clusters ({t['multi_document_clusters']} across documents)")

    docs = _table("documents")
    for column in ("doc_id", "outlet", "lang", "date", "sentences"):
        docs.add_column(column, justify="right" if column == "sentences" else "left")
    for doc in d["documents"]:
        docs.add_row(doc["doc_id"], doc["outlet"] or "-", doc["lang"] or "-", doc["date"] or "-",
                     str(doc["sentences"]))

    tr = d["translations"]
    models = ", ".join(f"{m}: {n}" for m, n in tr["by_model"].items()) or "none"
    langs = ", ".join(f"{k} {v}" for k, v in d["sentences_by_lang"].items())
    translations = Text(f"sentences by language: {langs}\ntranslated sentences by model: "
                        f"{models}; non-English sentences without translation: "
                        f"{tr['untranslated_non_english']}")

    pairs = _table("aligned pairs per document pair")
    for column in ("doc_a", "doc_b", "langs", "pairs", "mean score", "kinds"):
        pairs.add_column(column, justify="right" if column in {"pairs", "mean score"} else "left")
    for p in d["pairs"]:
        pairs.add_row(_name({"doc_id": p["doc_a"], "outlet": p["outlet_a"]}),
                      _name({"doc_id": p["doc_b"], "outlet": p["outlet_b"]}),
                      f"{p['lang_a']}-{p['lang_b']}", str(p["pairs"]), _fmt(p["mean_score"]),
                      ", ".join(f"{k} {v}" for k, v in p["kinds"].items()))

    clusters = _table("quote clusters (most documents first)")
    for column in ("cluster", "speaker", "docs", "quotes", "langs", "quote"):
        clusters.add_column(column, justify="right" if column in {"docs", "quotes"} else "left",
                            overflow="fold", ratio=3 if column == "quote" else None)
    shown = d["clusters"] if limit is None else d["clusters"][:max(int(limit), 0)]
    for c in shown:
        clusters.add_row(c["cluster_id"], c["speaker"] or "unknown", str(c["docs"]),
                         str(c["quotes"]), ",".join(c["langs"]), c["text"] or "")
    parts: list[Any] = [head, docs, translations, pairs, clusters]
    if len(shown) < len(d["clusters"]):
        parts.append(Text(f"… {len(d['clusters']) - len(shown)} more clusters"))
    return _render(*parts, width=width)


def format_document(d: dict[str, Any], width: int = 120) -> str:
    """:func:`document_view` as text: one row per sentence, counterparts below it."""
    from rich.text import Text

    meta = ", ".join(str(v) for v in (d["outlet"], d["lang"], d["date"]) if v)
    filters = "".join([f", score >= {d['min_score']}" if d["min_score"] is not None else "",
                       f", first {d['limit']}" if d["limit"] is not None else ""])
    title = f": {d['title']}" if d["title"] else ""
    head = Text(f"{d['doc_id']} ({meta}){title}\n{d['sentences_total']} sentences, "
                f"{d['sentences_aligned']} aligned with other documents{filters}")
    table = _table(expand=True)
    table.add_column("#", justify="right")
    table.add_column("lang")
    table.add_column("sentence / aligned counterparts", overflow="fold", ratio=1)
    for s in d["sentences"]:
        lines = [s["text"]]
        if s["text_en"] and s["text_en"] != s["text"]:
            lines.append(f"  en ({s['translation_model'] or 'translation'}): {s['text_en']}")
        for c in s["aligned"]:
            where = ",".join(x.rsplit(":", 1)[-1] for x in c["sent_ids"])
            lines.append(f"  ↔ {c['doc_id']} {where} [{c['kind']} {_fmt(c['score'])}] "
                         f"{c['text']}")
        table.add_row(str(s["idx"]), s["lang"] or "-", "\n".join(lines))
    return _render(head, table, width=width)


def format_pair(d: dict[str, Any], width: int = 120) -> str:
    """:func:`pair_view` as text: left and right sentences next to each other with scores."""
    from rich.text import Text

    left, right = d["left"], d["right"]
    filters = "".join([f", score >= {d['min_score']}" if d["min_score"] is not None else "",
                       f", first {d['limit']}" if d["limit"] is not None else ""])
    head = Text(f"{_name(left)} [{left['lang']}] ↔ {_name(right)} [{right['lang']}]: "
                f"{d['pairs']} of {d['pairs_total']} aligned pairs{filters}, mean score "
                f"{_fmt(d['mean_score'])}; aligned sentences {left['aligned_sentences']}/"
                f"{left['sentences']} left, {right['aligned_sentences']}/{right['sentences']} "
                "right")
    table = _table(expand=True)
    table.add_column("left", overflow="fold", ratio=1)
    table.add_column("right", overflow="fold", ratio=1)
    table.add_column("kind")
    table.add_column("score", justify="right")
    for r in d["rows"]:
        ids_l = ",".join(x.rsplit(":", 1)[-1] for x in r["left_sent_ids"])
        ids_r = ",".join(x.rsplit(":", 1)[-1] for x in r["right_sent_ids"])
        table.add_row(f"{ids_l}  {r['left_text']}", f"{ids_r}  {r['right_text']}", r["kind"],
                      _fmt(r["score"]))
    return _render(head, table, width=width)
