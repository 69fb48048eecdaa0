"""A self-contained HTML report of a finished job: ``report.html`` beside the job's tables.

:func:`write_report` reads ``documents``, ``sentences``, ``alignments``, ``quotes`` and
``clusters`` (and ``manifest.json``) from a job's output folder and writes one HTML file:

- **overview** (``#overview``): the documents (outlet, language, date, sentence and translated
  sentence counts), the job's counts and the models recorded in the manifest;
- **alignment scores** (``#scores``): an inline SVG histogram of the alignment scores;
- **document pairs** (``#pairs``): per pair of documents, its aligned sentences side by side
  (original text, and the English ``text_en`` where it differs), score, margin and kind;
- **quote clusters** (``#clusters``): per cluster the speaker and their language, the origin note
  (the honest-origin rule of :mod:`pipeline.stages.trace`), and every rendition with its outlet,
  language, direct/indirect and cited source, its English form's drift shown word by word
  (``<del>``/``<ins>``, :func:`pipeline.stages.trace.word_diff`) against the cluster's reference
  rendition: the first direct English rendition, else the first English one.

The page needs nothing at view time: CSS and the chart are inline, there is no script, and a
Content-Security-Policy forbids loading anything. Every piece of text from the corpus goes through
:func:`html.escape`. The output is deterministic: the same tables give the same bytes.

Hooks for tests and tooling: ``<tr class="doc-row" data-doc=…>``, ``<details class="doc-pair"
id="pair-…" data-doc-a=… data-doc-b=…>``, ``<tr class="pair-row" data-doc-a=… data-doc-b=…
data-kind=…>``, ``<article class="cluster" id="cluster-c0002" data-speaker=…>``, ``<div
class="rendition" data-lang=… data-doc=… data-quote-id=… data-direct=…>``, ``<rect
class="bar" data-lo=… data-hi=… data-count=…>``.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.data import ALIGNMENTS, CLUSTERS, DOCUMENTS, QUOTES, SENTENCES
from pipeline.io import write_text_atomic
from pipeline.jobfolder import read_job
from pipeline.stages.trace import english_forms, word_diff

REPORT_NAME = "report.html"
DASH = '<span class="muted">—</span>'
UNKNOWN_SPEAKER = '<span class="muted">unknown speaker</span>'
TABLES = {
    "documents": DOCUMENTS,
    "sentences": SENTENCES,
    "alignments": ALIGNMENTS,
    "quotes": QUOTES,
    "clusters": CLUSTERS,
}
#: Tables the report cannot do without; the others are treated as empty when absent.
REQUIRED = ("documents", "sentences")

CSS = """
:root { --fg:#1d232b; --muted:#5f6b7a; --line:#d8dde3; --bg:#fff; --soft:#f4f6f8;
        --accent:#2f6db5; --del:#fbe0e0; --ins:#dcf3dc; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
       color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 1180px;
       padding: 1.2rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin: .2rem 0 .4rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .6rem; padding-bottom: .25rem;
     border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 0 0 .3rem; }
nav a { margin-right: 1rem; color: var(--accent); text-decoration: none; }
.muted, .note { color: var(--muted); }
.note { font-size: .9rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .5rem; text-align: left;
         vertical-align: top; }
th { background: var(--soft); font-weight: 600; font-size: .9rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.stats { display: flex; flex-wrap: wrap; gap: .6rem; margin: .6rem 0 1rem; padding: 0;
         list-style: none; }
.stats li { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
            padding: .4rem .8rem; }
.stats b { display: block; font-size: 1.3rem; }
code, .id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
            font-size: .85em; }
.badge { display: inline-block; border-radius: 4px; padding: 0 .35rem; font-size: .8rem;
         background: var(--soft); border: 1px solid var(--line); margin-right: .25rem; }
.badge.lang { background: #e6effa; border-color: #b9cfeb; }
.badge.indirect { background: #fff4da; border-color: #ecd9a5; }
details.doc-pair { border: 1px solid var(--line); border-radius: 6px; margin: .6rem 0;
                   padding: 0 .7rem; }
details.doc-pair > summary { cursor: pointer; padding: .5rem 0; font-weight: 600; }
table.pairs { table-layout: fixed; }
table.pairs col.n { width: 2.5rem; } table.pairs col.s { width: 4.5rem; }
table.pairs col.k { width: 3rem; }
.en { color: var(--muted); font-size: .92em; margin-top: .2rem; }
.en::before { content: "en: "; font-weight: 600; }
article.cluster { border: 1px solid var(--line); border-radius: 6px; padding: .7rem .9rem;
                  margin: .8rem 0; }
.origin { margin: .2rem 0 .5rem; }
.rendition { border-left: 4px solid var(--line); padding: .3rem .7rem; margin: .45rem 0; }
.rendition[data-direct="true"] { border-left-color: var(--accent); }
.rendition .meta { font-size: .88rem; color: var(--muted); }
.rendition .text { margin: .15rem 0; }
.diff { font-size: .92em; }
del { background: var(--del); color: #8a1f1f; text-decoration: line-through; }
ins { background: var(--ins); color: #1d5e1d; text-decoration: none; }
svg.histogram text { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg.histogram rect.bar { fill: var(--accent); }
"""


def _s(value: Any) -> str:
    """A table cell as text: None/NaN → ""."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _e(value: Any) -> str:
    """HTML-escaped text (quotes too, so it is safe inside attribute values)."""
    return html.escape(_s(value), quote=True)


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


def _overview(ctx: _Context, manifest: dict[str, Any]) -> str:
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
    out = ['<section id="overview">', "<h2>Overview</h2>", '<ul class="stats">']
    out += [f'<li data-stat="{_e(name)}"><b>{value}</b>{_e(name)}</li>' for name, value in stats]
    out.append("</ul>")
    out.append('<table class="documents"><thead><tr><th>document</th><th>outlet</th>'
               '<th>title</th><th>lang</th><th>date</th><th class="num">sentences</th>'
               '<th class="num">translated</th></tr></thead><tbody>')
    for doc in ctx.documents.itertuples(index=False):
        doc_id = _s(doc.doc_id)
        out.append(
            f'<tr class="doc-row" id="doc-{_e(_anchor(doc_id))}" data-doc="{_e(doc_id)}" '
            f'data-outlet="{_e(doc.outlet)}">'
            f'<td class="id">{_e(doc_id)}</td><td>{_e(doc.outlet) or DASH}'
            f'</td><td>{_e(doc.title)}</td><td><span class="badge lang">{_e(doc.lang)}</span>'
            f' <span class="muted">{_num(doc.lang_score, 2)}</span></td><td>{_e(doc.date)}</td>'
            f'<td class="num">{per_doc.get(doc_id, 0)}</td>'
            f'<td class="num">{translated_doc.get(doc_id, 0)}</td></tr>')
    out.append("</tbody></table>")
    models = manifest.get("models") or {}
    if models:
        out.append('<table class="models"><thead><tr><th>model</th><th>value</th></tr></thead>'
                   "<tbody>")
        for key in sorted(models):
            value = models[key]
            if isinstance(value, list):
                value = ", ".join(map(str, value)) or "none"
            out.append(f'<tr class="model-row" data-model="{_e(key)}"><td>{_e(key)}</td>'
                       f'<td><code>{_e(value)}</code></td></tr>')
        out.append("</tbody></table>")
    else:
        out.append('<p class="note">No manifest.json: models unknown.</p>')
    out.append("</section>")
    return "\n".join(out)


def _histogram(ctx: _Context, bins: int = 20) -> str:
    scores = [float(s) for s in ctx.alignments["score"] if not math.isnan(float(s))]
    out = ['<section id="scores">', "<h2>Alignment scores</h2>"]
    if not scores:
        out += ['<p class="note">No aligned pairs.</p>', "</section>"]
        return "\n".join(out)
    lo = min(0.0, math.floor(min(scores) * bins) / bins)
    hi = max(1.0, math.ceil(max(scores) * bins) / bins)
    count = max(1, round((hi - lo) * bins))
    width_of = (hi - lo) / count
    counts = [0] * count
    for score in scores:
        counts[min(count - 1, max(0, int((score - lo) / width_of)))] += 1
    # Show the populated range only (from the first to the last non-empty bin).
    first = next(i for i, c in enumerate(counts) if c)
    last = max(i for i, c in enumerate(counts) if c)
    first, last = max(0, first - 1), min(count - 1, last + 1)
    shown = range(first, last + 1)
    w, h, left, bottom, top = 640, 220, 40, 30, 12
    bar_w = (w - left - 10) / len(shown)
    peak = max(counts)
    out.append(f'<svg class="histogram" xmlns="http://www.w3.org/2000/svg" width="{w}" '
               f'height="{h}" viewBox="0 0 {w} {h}" role="img" '
               f'aria-label="histogram of {len(scores)} alignment scores">')
    out.append(f'<line x1="{left}" y1="{h - bottom}" x2="{w - 5}" y2="{h - bottom}" '
               'stroke="#888"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="#888"/>')
    out.append(f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{peak}</text>')
    out.append(f'<text x="{left - 6}" y="{h - bottom}" text-anchor="end">0</text>')
    for n, i in enumerate(shown):
        bin_lo, bin_hi = lo + i * width_of, lo + (i + 1) * width_of
        bar_h = (h - bottom - top) * counts[i] / peak
        x = left + n * bar_w
        out.append(
            f'<rect class="bar" data-lo="{bin_lo:.2f}" data-hi="{bin_hi:.2f}" '
            f'data-count="{counts[i]}" x="{x + 1:.1f}" y="{h - bottom - bar_h:.1f}" '
            f'width="{bar_w - 2:.1f}" height="{bar_h:.1f}"><title>{bin_lo:.2f}–{bin_hi:.2f}: '
            f'{counts[i]}</title></rect>')
        if n % 2 == 0 or len(shown) <= 10:
            out.append(f'<text x="{x:.1f}" y="{h - bottom + 14}" text-anchor="middle">'
                       f'{bin_lo:.2f}</text>')
    out.append(f'<text x="{(left + w) / 2:.0f}" y="{h - 2}" text-anchor="middle">score</text>')
    out.append("</svg>")
    out.append(f'<p class="note">{len(scores)} aligned pairs; score is the combined similarity '
               f"(min {min(scores):.3f}, max {max(scores):.3f}).</p>")
    out.append("</section>")
    return "\n".join(out)


def _side(ctx: _Context, text: Any, sent_ids: Any, doc_id: str) -> str:
    lang = ctx.lang_of(sent_ids, doc_id)
    english = ctx.english(sent_ids)
    cell = f'<div class="text" lang="{_e(lang)}">{_e(text)}</div>'
    if english and english != _s(text):
        cell += f'<div class="en" lang="en">{_e(english)}</div>'
    elif lang and lang != "en" and not english:
        cell += '<div class="note">no English translation</div>'
    return cell


def _doc_heading(ctx: _Context, doc_id: str) -> str:
    if ctx.outlet.get(doc_id):
        return f'{_e(ctx.outlet[doc_id])} <span class="id muted">{_e(doc_id)}</span>'
    return f'<span class="id">{_e(doc_id)}</span>'


def _pairs(ctx: _Context) -> str:
    out = ['<section id="pairs">', "<h2>Document pairs</h2>"]
    alignments = ctx.alignments
    if alignments.empty:
        out += ['<p class="note">No aligned pairs.</p>', "</section>"]
        return "\n".join(out)
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in alignments.itertuples(index=False):
        groups.setdefault((_s(row.doc_a), _s(row.doc_b)), []).append(row)
    out.append('<ul class="pair-index">')
    for doc_a, doc_b in sorted(groups):
        anchor = f"pair-{_anchor(doc_a)}--{_anchor(doc_b)}"
        out.append(f'<li><a href="#{_e(anchor)}">{_e(ctx.label(doc_a))} ↔ '
                   f'{_e(ctx.label(doc_b))}</a> <span class="muted">'
                   f"({len(groups[(doc_a, doc_b)])})</span></li>")
    out.append("</ul>")
    for doc_a, doc_b in sorted(groups):
        rows = groups[(doc_a, doc_b)]
        anchor = f"pair-{_anchor(doc_a)}--{_anchor(doc_b)}"
        mean = sum(float(r.score) for r in rows) / len(rows)
        out.append(
            f'<details class="doc-pair" id="{_e(anchor)}" data-doc-a="{_e(doc_a)}" '
            f'data-doc-b="{_e(doc_b)}" open><summary>{_e(ctx.label(doc_a))} '
            f'<span class="badge lang">{_e(ctx.doc_lang.get(doc_a))}</span> ↔ '
            f'{_e(ctx.label(doc_b))} <span class="badge lang">{_e(ctx.doc_lang.get(doc_b))}'
            f'</span> <span class="muted">{len(rows)} aligned, mean score {mean:.3f}</span>'
            "</summary>")
        out.append(
            '<table class="pairs"><colgroup><col class="n"><col><col><col class="s">'
            '<col class="s"><col class="k"></colgroup><thead><tr><th class="num">#</th>'
            f"<th>{_doc_heading(ctx, doc_a)}</th><th>{_doc_heading(ctx, doc_b)}</th>"
            '<th class="num">score</th><th class="num">margin</th><th>kind</th></tr></thead>'
            "<tbody>")
        for n, row in enumerate(rows, 1):
            ids_a, ids_b = list(row.sent_ids_a), list(row.sent_ids_b)
            out.append(
                f'<tr class="pair-row" data-doc-a="{_e(doc_a)}" data-doc-b="{_e(doc_b)}" '
                f'data-sent-a="{_e(" ".join(ids_a))}" data-sent-b="{_e(" ".join(ids_b))}" '
                f'data-kind="{_e(row.kind)}"><td class="num">{n}</td>'
                f"<td>{_side(ctx, row.text_a, ids_a, doc_a)}</td>"
                f"<td>{_side(ctx, row.text_b, ids_b, doc_b)}</td>"
                f'<td class="num">{_num(row.score)}</td><td class="num">{_num(row.margin)}</td>'
                f"<td>{_e(row.kind)}</td></tr>")
        out.append("</tbody></table></details>")
    out.append("</section>")
    return "\n".join(out)


def _diff_html(reference: str, text: str) -> str:
    parts = []
    for op, word in word_diff(reference, text):
        word = html.escape(word, quote=True)
        parts.append(word if op == "=" else f"<del>{word}</del>" if op == "-"
                     else f"<ins>{word}</ins>")
    return " ".join(parts)


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


def _cluster(ctx: _Context, cluster: Any, quotes: pd.DataFrame, forms: list[str],
             row_of: dict[str, int]) -> str:
    rows = [row_of[q] for q in list(cluster.quote_ids) if q in row_of]
    rows.sort(key=lambda r: quotes["quote_id"][r])
    cluster_id = _s(cluster.cluster_id)
    speaker = _s(cluster.speaker)
    lang = _s(cluster.speaker_lang)
    english = [r for r in rows if quotes["lang"][r] == "en"]
    reference = next((r for r in english if bool(quotes["direct"][r])),
                     english[0] if english else None)
    speaks = f' <span class="muted">(speaks {_e(lang)})</span>' if lang else ""
    out = [f'<article class="cluster" id="cluster-{_e(_anchor(cluster_id))}" '
           f'data-cluster="{_e(cluster_id)}" data-speaker="{_e(speaker)}" '
           f'data-speaker-lang="{_e(lang)}" data-renditions="{len(rows)}" '
           f'data-origin-in-corpus="{str(bool(cluster.origin_in_corpus)).lower()}">',
           f'<h3>{_e(speaker) or UNKNOWN_SPEAKER}{speaks} '
           f'<span class="id muted">{_e(cluster_id)}</span></h3>',
           f'<p class="origin">{_e(origin_note(cluster, ctx))}</p>',
           f'<p class="note">{len(rows)} renditions in {len(list(cluster.docs))} documents'
           f'; drift {_num(cluster.drift)}</p>']
    for r in rows:
        quote = quotes.iloc[r]
        doc_id = _s(quote["doc_id"])
        q_lang = _s(quote["lang"])
        direct = bool(quote["direct"])
        source = _s(quote["cited_source"])
        meta = [f"<b>{_e(ctx.label(doc_id))}</b>", f'<span class="badge lang">{_e(q_lang)}</span>',
                f'<span class="badge {"direct" if direct else "indirect"}">'
                f'{"direct" if direct else "indirect"}</span>']
        if lang and q_lang != lang:
            meta.append('<span class="badge">translated</span>')
        if _s(quote["speaker_mention"]):
            meta.append(f'<span class="muted">“{_e(quote["speaker_mention"])}” '
                        f'{_e(quote["cue"])}</span>')
        if source:
            meta.append(f'<span class="via">via {_e(source)}</span>')
        meta.append(f'<span class="id muted">{_e(quote["quote_id"])}</span>')
        ref_attr = ' data-reference="true"' if r == reference else ""
        out.append(f'<div class="rendition" data-lang="{_e(q_lang)}" data-doc="{_e(doc_id)}" '
                   f'data-quote-id="{_e(quote["quote_id"])}" '
                   f'data-direct="{str(direct).lower()}"'
                   f'{ref_attr}>')
        out.append(f'<div class="meta">{" ".join(meta)}</div>')
        out.append(f'<div class="text" lang="{_e(q_lang)}">{_e(quote["text"])}</div>')
        form = forms[r]
        if q_lang != "en" and form != _s(quote["text"]):
            out.append(f'<div class="en" lang="en">{_e(form)}</div>')
        if r == reference:
            if len(rows) > 1:
                out.append('<div class="diff note">reference for the drift of the other '
                           "renditions</div>")
        elif q_lang != "en" and form == _s(quote["text"]):
            out.append('<div class="diff note">drift: no English form (untranslated), '
                       "no word diff</div>")
        elif reference is not None:
            diff = _diff_html(forms[reference], form)
            out.append(f'<div class="diff" lang="en"><span class="muted">drift:</span> '
                       f"{diff}</div>")
        out.append("</div>")
    out.append("</article>")
    return "\n".join(out)


def _clusters(ctx: _Context) -> str:
    out = ['<section id="clusters">', "<h2>Quote clusters</h2>"]
    quotes, clusters = ctx.quotes, ctx.clusters
    if clusters.empty or quotes.empty:
        out += ['<p class="note">No quotes found.</p>', "</section>"]
        return "\n".join(out)
    forms = english_forms(quotes, ctx.sentences)
    row_of = {q: i for i, q in enumerate(quotes["quote_id"])}
    shared = [c for c in clusters.itertuples(index=False) if len(list(c.docs)) > 1]
    single = [c for c in clusters.itertuples(index=False) if len(list(c.docs)) <= 1]
    out.append('<p class="note">Renditions of one statement across outlets and languages. '
               "Drift is shown word by word against the reference rendition (the first direct "
               "English one, else the first English one): <del>removed</del> "
               "<ins>added</ins>.</p>")
    out.append(f"<h3>Across documents ({len(shared)})</h3>")
    out += [_cluster(ctx, c, quotes, forms, row_of) for c in shared]
    out.append(f'<details class="single-clusters"><summary>Quotes in one document only '
               f"({len(single)})</summary>")
    out += [_cluster(ctx, c, quotes, forms, row_of) for c in single]
    out.append("</details></section>")
    return "\n".join(out)


def render_report(tables: dict[str, pd.DataFrame], manifest: dict[str, Any]) -> str:
    """The report's HTML for a job's tables and manifest."""
    ctx = _Context(tables)
    job = _s(manifest.get("job")) or "job"
    config_hash = _s(manifest.get("config_hash"))
    head = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>quotetrace report: {_e(job)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>quotetrace report: {_e(job)}</h1>"
        f'<p class="note">config {_e(config_hash) or "unknown"}</p>'
        '<nav><a href="#overview">Overview</a><a href="#scores">Alignment scores</a>'
        '<a href="#pairs">Document pairs</a><a href="#clusters">Quote clusters</a></nav>'
        "</header>\n<main>\n")
    body = "\n".join([_overview(ctx, manifest), _histogram(ctx), _pairs(ctx), _clusters(ctx)])
    return head + body + "\n</main>\n</body>\n</html>\n"


def write_report(output_dir: Path, path: Path | None = None) -> Path:
    """Write the job's HTML report (default ``output_dir/report.html``); return its path."""
    output_dir = Path(output_dir)
    tables, manifest = load_job(output_dir)
    target = Path(path) if path is not None else output_dir / REPORT_NAME
    write_text_atomic(target, render_report(tables, manifest))
    return target
