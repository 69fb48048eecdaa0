"""A self-contained HTML report of a finished job: ``report.html`` beside the job's tables.

:func:`write_report` reads ``documents``, ``sentences``, ``alignments``, ``quotes`` and
``clusters`` (and ``manifest.json``) from a job's output folder and writes one HTML file:

- **overview** (``#overview``): the documents (outlet, language, date, sentence and translated
  sentence counts), the job's counts and the models recorded in the manifest;
- **alignment scores** (``#scores``): an inline SVG histogram of the alignment scores;
- **document pairs** (``#pairs``): per pair of documents, its aligned sentences side by side
  (original text, and the English ``text_en`` where it differs), score, margin and kind;
- **quote clusters** (``#clusters``): per cluster the speaker and their language, the origin note
  (the honest-origin rule of :mod:`pipeline.quoteclusters`), and every rendition with its outlet,
  language, direct/indirect and cited source, its English form's drift shown word by word
  (``<del>``/``<ins>``, :func:`pipeline.quoteclusters.word_diff`) against the cluster's reference
  rendition: the first direct English rendition, else the first English one; for a cluster with
  several renditions, an inline SVG provenance diagram (:mod:`pipeline.provenance`: a time axis
  of document dates, who reported first, citation arrows, each rendition's word drift).

This module turns the tables into plain values (strings, numbers, lists and dicts); the markup
lives in the Jinja2 templates of ``pipeline/templates/`` (``report.html.j2`` and the section
templates it includes, ``report.css``), rendered with autoescape on, so every piece of text from
the corpus is HTML-escaped. The page needs nothing at view time: CSS and the chart are inline,
there is no script, and a Content-Security-Policy forbids loading anything. The output is
deterministic: the same tables give the same bytes.

Hooks for tests and tooling: ``<tr class="doc-row" data-doc=…>``, ``<details class="doc-pair"
id="pair-…" data-doc-a=… data-doc-b=…>``, ``<tr class="pair-row" data-doc-a=… data-doc-b=…
data-kind=…>``, ``<article class="cluster" id="cluster-c0002" data-speaker=…>``, ``<div
class="rendition" data-lang=… data-doc=… data-quote-id=… data-direct=…>``, ``<rect
class="bar" data-lo=… data-hi=… data-count=…>``, ``<svg class="provenance" data-cluster=…>``
with ``<g class="prov-node" data-quote-id=… data-lane=… data-drift=…>`` and ``<g
class="prov-edge" data-from=… data-to=…>``.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from pipeline.data import ALIGNMENTS, CLUSTERS, DOCUMENTS, QUOTES, SENTENCES
from pipeline.errors import InputError
from pipeline.io import write_text_atomic
from pipeline.jobfolder import enclosing_job, read_job
from pipeline.provenance import provenance, reference_index
from pipeline.quoteclusters import english_forms, word_diff

REPORT_NAME = "report.html"
TEMPLATE = "report.html.j2"
TABLES = {
    "documents": DOCUMENTS,
    "sentences": SENTENCES,
    "alignments": ALIGNMENTS,
    "quotes": QUOTES,
    "clusters": CLUSTERS,
}
#: Tables the report cannot do without; the others are treated as empty when absent.
REQUIRED = ("documents", "sentences")
#: The histogram: bins per unit of score, and the SVG's geometry in pixels.
BINS = 20
CHART = {"width": 640, "height": 220, "left": 40, "bottom": 30, "top": 12}


def _s(value: Any) -> str:
    """A table cell as text: None/NaN → ""."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _finalize(value: Any) -> Any:
    """What a template prints for a value: None/NaN as nothing, anything else as itself."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else value


@cache
def environment() -> jinja2.Environment:
    """The templates' environment: autoescape on for every template, undefined names fail."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, finalize=_finalize, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True)


def _anchor(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _num(value: Any, digits: int = 3) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(number) else f"{number:.{digits}f}"


def load_job(output_dir: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The job's contract tables (absent optional ones empty) and its manifest (or {})."""
    optional = tuple(name for name in TABLES if name not in REQUIRED)
    read, manifest = read_job(output_dir, tuple(TABLES), optional=optional)
    tables: dict[str, pd.DataFrame] = {}
    for name, schema in TABLES.items():
        frame = read[name]
        tables[name] = frame if frame is not None else pd.DataFrame(
            {f.name: pd.Series(dtype=object) for f in schema})
    return tables, manifest


class _Context:
    """Lookups shared by the sections."""

    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        self.documents = tables["documents"].sort_values("doc_id", kind="stable")
        self.sentences = tables["sentences"]
        self.alignments = tables["alignments"]
        self.quotes = tables["quotes"].sort_values("quote_id", kind="stable").reset_index(
            drop=True)
        self.clusters = tables["clusters"].sort_values("cluster_id", kind="stable")
        self.outlet = {d: _s(o) for d, o in zip(self.documents["doc_id"],
                                                self.documents["outlet"], strict=True)}
        self.doc_lang = {d: _s(lang) for d, lang in zip(self.documents["doc_id"],
                                                        self.documents["lang"], strict=True)}
        self.docs = {d: {"outlet": self.outlet[d], "date": _s(date)} for d, date in zip(
            self.documents["doc_id"], self.documents["date"], strict=True)}
        sentences = self.sentences
        self.text_en = dict(zip(sentences["sent_id"], sentences["text_en"].map(_s), strict=True))
        self.sent_lang = dict(zip(sentences["sent_id"], sentences["lang"].map(_s), strict=True))

    def label(self, doc_id: str) -> str:
        """The outlet's name, or the document id when the outlet is unknown."""
        return self.outlet.get(doc_id) or doc_id

    def english(self, sent_ids: Any) -> str:
        return " ".join(t for t in (self.text_en.get(s, "") for s in list(sent_ids)) if t)

    def lang_of(self, sent_ids: Any, doc_id: str) -> str:
        langs = [self.sent_lang.get(s, "") for s in list(sent_ids)]
        return next((lang for lang in langs if lang), self.doc_lang.get(doc_id, ""))

    def doc(self, doc_id: str) -> dict[str, str]:
        """A document as the templates show it: id, label (outlet or id), outlet, language."""
        return {"doc_id": doc_id, "label": self.label(doc_id),
                "outlet": self.outlet.get(doc_id, ""), "lang": self.doc_lang.get(doc_id, "")}


def _overview(ctx: _Context, manifest: dict[str, Any]) -> dict[str, Any]:
    sentences = ctx.sentences
    translated_mask = sentences["translation_model"].map(_s) != ""
    per_doc = sentences.groupby("doc_id").size().to_dict()
    translated_doc = sentences[translated_mask].groupby("doc_id").size().to_dict()
    alignments = ctx.alignments
    doc_pairs = len({(a, b) for a, b in zip(alignments["doc_a"], alignments["doc_b"],
                                            strict=True)})
    multi = int((ctx.clusters["docs"].map(len) > 1).sum()) if len(ctx.clusters) else 0
    stats = [
        ("documents", len(ctx.documents)),
        ("sentences", len(sentences)),
        ("translated sentences", int(translated_mask.sum())),
        ("aligned pairs", len(alignments)),
        ("document pairs", doc_pairs),
        ("quotes", len(ctx.quotes)),
        ("quote clusters", len(ctx.clusters)),
        ("clusters across documents", multi),
    ]
    documents = []
    for doc in ctx.documents.itertuples(index=False):
        doc_id = _s(doc.doc_id)
        documents.append({
            "doc_id": doc_id, "anchor": _anchor(doc_id), "outlet": _s(doc.outlet),
            "title": _s(doc.title), "lang": _s(doc.lang), "lang_score": _num(doc.lang_score, 2),
            "date": _s(doc.date), "sentences": per_doc.get(doc_id, 0),
            "translated": translated_doc.get(doc_id, 0)})
    models = manifest.get("models") or {}
    rows = []
    for key in sorted(models):
        value = models[key]
        if isinstance(value, list):
            value = ", ".join(map(str, value)) or "none"
        rows.append((_s(key), _s(value)))
    return {"stats": stats, "documents": documents, "models": rows}


def _scores(ctx: _Context) -> dict[str, Any] | None:
    """The histogram of the alignment scores (None without scores): its populated bins as bars,
    their positions formatted for the SVG."""
    scores = [float(s) for s in ctx.alignments["score"] if not math.isnan(float(s))]
    if not scores:
        return None
    lo = min(0.0, math.floor(min(scores) * BINS) / BINS)
    hi = max(1.0, math.ceil(max(scores) * BINS) / BINS)
    count = max(1, round((hi - lo) * BINS))
    width_of = (hi - lo) / count
    counts = [0] * count
    for score in scores:
        counts[min(count - 1, max(0, int((score - lo) / width_of)))] += 1
    # Show the populated range only (from the first to the last non-empty bin).
    first = next(i for i, c in enumerate(counts) if c)
    last = max(i for i, c in enumerate(counts) if c)
    first, last = max(0, first - 1), min(count - 1, last + 1)
    shown = range(first, last + 1)
    w, h, left, bottom, top = (CHART[k] for k in ("width", "height", "left", "bottom", "top"))
    bar_w = (w - left - 10) / len(shown)
    peak = max(counts)
    bars = []
    for n, i in enumerate(shown):
        bin_lo, bin_hi = lo + i * width_of, lo + (i + 1) * width_of
        bar_h = (h - bottom - top) * counts[i] / peak
        x = left + n * bar_w
        bars.append({
            "lo": f"{bin_lo:.2f}", "hi": f"{bin_hi:.2f}", "count": counts[i],
            "x": f"{x + 1:.1f}", "y": f"{h - bottom - bar_h:.1f}", "width": f"{bar_w - 2:.1f}",
            "height": f"{bar_h:.1f}",
            "label_x": f"{x:.1f}" if n % 2 == 0 or len(shown) <= 10 else None})
    return {**CHART, "count": len(scores), "peak": peak, "bars": bars,
            "min": f"{min(scores):.3f}", "max": f"{max(scores):.3f}"}


def _side(ctx: _Context, text: Any, sent_ids: Any, doc_id: str) -> dict[str, Any]:
    """One side of an aligned pair: its text, and its English form where it differs."""
    lang = ctx.lang_of(sent_ids, doc_id)
    english = ctx.english(sent_ids)
    text = _s(text)
    return {"lang": lang, "text": text,
            "english": english if english and english != text else "",
            "untranslated": bool(lang and lang != "en" and not english)}


def _pairs(ctx: _Context) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in ctx.alignments.itertuples(index=False):
        groups.setdefault((_s(row.doc_a), _s(row.doc_b)), []).append(row)
    pairs = []
    for doc_a, doc_b in sorted(groups):
        rows = groups[(doc_a, doc_b)]
        pairs.append({
            "anchor": f"pair-{_anchor(doc_a)}--{_anchor(doc_b)}",
            "a": ctx.doc(doc_a), "b": ctx.doc(doc_b),
            "mean": f"{sum(float(r.score) for r in rows) / len(rows):.3f}",
            "rows": [{"sent_a": " ".join(row.sent_ids_a), "sent_b": " ".join(row.sent_ids_b),
                      "kind": _s(row.kind), "score": _num(row.score),
                      "margin": _num(row.margin),
                      "a": _side(ctx, row.text_a, list(row.sent_ids_a), doc_a),
                      "b": _side(ctx, row.text_b, list(row.sent_ids_b), doc_b)}
                     for row in rows]})
    return pairs


def origin_note(cluster: Any, ctx: _Context | None = None) -> str:
    """The honest-origin line of a cluster, as plain text."""
    lang = _s(cluster.speaker_lang)
    if bool(cluster.origin_in_corpus):
        doc = _s(cluster.origin_doc)
        where = ctx.label(doc) if ctx else doc
        return f"original ({lang}) in the corpus: {where}"
    what = f"original ({lang})" if lang else "original (speaker's language unknown)"
    citing = [_s(s) for s in list(cluster.cited_sources) if _s(s)]
    closest = (f"closest to source: renditions citing {', '.join(citing)}" if citing
               else "no rendition cites a source")
    return f"{what} not in the corpus; {closest}"


def _cluster(ctx: _Context, cluster: Any, forms: list[str],
             row_of: dict[str, int]) -> dict[str, Any]:
    quotes = ctx.quotes
    rows = [row_of[q] for q in list(cluster.quote_ids) if q in row_of]
    rows.sort(key=lambda r: quotes["quote_id"][r])
    lang = _s(cluster.speaker_lang)
    records = [{**quotes.iloc[r].to_dict(), "english": forms[r]} for r in rows]
    at = reference_index(records)
    reference = rows[at] if at is not None else None
    renditions = []
    for r in rows:
        quote = quotes.iloc[r]
        doc_id, q_lang, text = _s(quote["doc_id"]), _s(quote["lang"]), _s(quote["text"])
        form = forms[r]
        untranslated = q_lang != "en" and form == text
        if r == reference:
            drift = "reference" if len(rows) > 1 else ""
        else:
            drift = "untranslated" if untranslated else "diff" if reference is not None else ""
        renditions.append({
            "doc_id": doc_id, "label": ctx.label(doc_id), "lang": q_lang,
            "quote_id": _s(quote["quote_id"]), "direct": bool(quote["direct"]),
            "reference": r == reference, "translated": bool(lang and q_lang != lang),
            "mention": _s(quote["speaker_mention"]), "cue": _s(quote["cue"]),
            "source": _s(quote["cited_source"]), "text": text,
            "english": form if q_lang != "en" and form != text else "", "drift": drift,
            "diff": word_diff(forms[reference], form) if drift == "diff" else []})
    cluster_id = _s(cluster.cluster_id)
    return {"cluster_id": cluster_id, "anchor": _anchor(cluster_id),
            "speaker": _s(cluster.speaker), "lang": lang,
            "origin_in_corpus": bool(cluster.origin_in_corpus),
            "origin": origin_note(cluster, ctx), "documents": len(list(cluster.docs)),
            "drift": _num(cluster.drift), "renditions": renditions,
            "provenance": provenance(cluster._asdict(), records, ctx.docs)
            if len(rows) > 1 else None}


def _clusters(ctx: _Context) -> dict[str, list[dict[str, Any]]] | None:
    """The clusters across documents (``shared``) and those in one document (``single``)."""
    quotes, clusters = ctx.quotes, ctx.clusters
    if clusters.empty or quotes.empty:
        return None
    forms = english_forms(quotes, ctx.sentences)
    row_of = {q: i for i, q in enumerate(quotes["quote_id"])}
    views: dict[str, list[dict[str, Any]]] = {"shared": [], "single": []}
    for cluster in clusters.itertuples(index=False):
        kind = "shared" if len(list(cluster.docs)) > 1 else "single"
        views[kind].append(_cluster(ctx, cluster, forms, row_of))
    return views


def render_report(tables: dict[str, pd.DataFrame], manifest: dict[str, Any]) -> str:
    """The report's HTML for a job's tables and manifest."""
    ctx = _Context(tables)
    return environment().get_template(TEMPLATE).render(
        job=_s(manifest.get("job")) or "job", config_hash=_s(manifest.get("config_hash")),
        overview=_overview(ctx, manifest), scores=_scores(ctx), pairs=_pairs(ctx),
        clusters=_clusters(ctx))


def write_report(output_dir: Path, path: Path | None = None) -> Path:
    """Write the job's HTML report (default ``output_dir/report.html``); return its path."""
    output_dir = Path(output_dir)
    tables, manifest = load_job(output_dir)
    target = Path(path) if path is not None else output_dir / REPORT_NAME
    check_report_target(target, output_dir)
    write_text_atomic(target, render_report(tables, manifest))
    return target


def check_report_target(target: Path, output_dir: Path) -> None:
    """Refuse to write the report over anything but an earlier report: a folder, a file of the
    user's, or a file inside a job folder other than the job's own ``report.html``."""
    if target.is_dir():
        raise InputError(f"{target}: is a folder; give the report a file name, e.g. "
                         f"{target / REPORT_NAME}")
    resolved = target.resolve()
    own = (output_dir / REPORT_NAME).resolve()
    job = enclosing_job(resolved.parent)
    if job is not None and resolved != own:
        raise InputError(f"{target}: is inside the job folder {job}, which quotetrace "
                         f"manages; write the report outside it (or to {own})")
    if target.exists() and resolved != own:
        with open(target, "rb") as handle:
            head = handle.read(4096)
        if b'<meta name="generator" content="quotetrace">' not in head:
            raise InputError(f"{target}: exists and is not a quotetrace report; choose another "
                             "--output file")
