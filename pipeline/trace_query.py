"""Trace a quote: which clusters of a finished job state the text, who said it, and where.

:func:`trace` reads ``quotes``, ``clusters``, ``documents`` and ``sentences`` from a job's output
folder plus its ``manifest.json`` (embed model and prompt, ``trace.min_similarity``), embeds the
query with the job's model and prompt (NFC, through the job's vector cache) and scores each
cluster by the largest cosine between the query and the cluster's renditions. Only clusters
reaching ``trace.min_similarity`` are returned: when nothing does, the answer says the corpus does
not quote the text rather than offering the nearest unrelated sentence.

Users paste what they read, often a reported paraphrase ("Putin said Russia and Iran have very
close positions …", "Theo ông Putin, …"). :func:`pipeline.queryframes.parse_query` splits the
query into the speaker mention its frame names (or None) and its content; both the query as
written and the content are embedded, and a quote's similarity is the larger of its two cosines.
When the query names a speaker, the mention is resolved like a quote's (the job's alias table
and ``attribute`` settings, :class:`pipeline.attribution.index.SpeakerIndex`, with the clusters'
speakers as the known names), and a cluster whose canonical speaker is that person
(``speaker_match``) gets ``SPEAKER_BONUS`` of cosine: it ranks by ``score + SPEAKER_BONUS`` and
passes at ``min_similarity - SPEAKER_BONUS``. The answer reports both thresholds (``threshold``
for every cluster, ``speaker_threshold`` for speaker-matched ones, None without a resolved
speaker) and each match's raw ``score``; the bonus never enters ``score``.

:func:`format_trace` renders the answer for the terminal: the canonical speaker, the
original-language rendition (or, under the honest-origin rule of :mod:`pipeline.quoteclusters`,
that the original is not in the corpus and which renditions cite a source), every rendition with
its similarity, the word-level drift of its English form against the first English rendition, and
where it sits in its document.
"""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.attribution.index import AttributionParams, SpeakerIndex
from pipeline.config import AttributeConfig, EmbedConfig, TraceConfig
from pipeline.errors import UsageError
from pipeline.jobfolder import manifest_section, read_job
from pipeline.models.paths import embedding_cache_root
from pipeline.queryframes import parse_query
from pipeline.quoteclusters import english_forms, word_diff
from pipeline.speakers import TITLE_WORDS

REQUIRED = ("quotes", "clusters", "documents", "sentences")
#: Cosine credited to a cluster whose speaker is the one the query names. Removing a reporting
#: frame ("Putin said …") moves multilingual-e5-small cosines by 0.01–0.05 on the seeds, and
#: renditions of one statement by different outlets differ by as much: a named speaker is worth
#: about that much evidence. Chosen with the seeds' paraphrases in view
#: (eval/evaluate_trace_paraphrases.py), not fitted to them.
SPEAKER_BONUS = 0.03


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _load(output_dir: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    tables, manifest = read_job(output_dir, REQUIRED)
    return {name: frame for name, frame in tables.items() if frame is not None}, manifest


def _query_speaker(mention: str | None, manifest: dict[str, Any], clusters: pd.DataFrame
                   ) -> str | None:
    """The canonical speaker a query's mention names, resolved as the attribute stage does
    (the job's aliases, the clusters' speakers as discovered names), or None."""
    if not mention:
        return None
    attribute = manifest_section(manifest, "attribute", AttributeConfig)
    index = SpeakerIndex(AttributionParams(fuzzy_threshold=attribute.fuzzy_threshold,
                                           aliases=attribute.aliases))
    known = sorted({s for s in clusters["speaker"] if isinstance(s, str) and s})
    for name in known:
        index.discover(name)
    words = mention.split()
    while len(words) > 1 and words[0].casefold() in TITLE_WORDS:
        words.pop(0)  # "ông Putin", "Mr Hunter": the lookup takes a lone surname only bare
    for form in dict.fromkeys([mention, " ".join(words)]):
        found = index.lookup(form, [])
        if found is not None:
            return found
    return None


def trace(output_dir: Path, text: str, top_k: int = 3, model: str | None = None) -> dict:
    """Clusters of the job in ``output_dir`` whose renditions state ``text`` (best first)."""
    from pipeline.models.embedder import Embedder

    output_dir = Path(output_dir)
    query = unicodedata.normalize("NFC", text).strip()
    if not query:
        raise UsageError("empty query: give the text of a quote or statement to trace")
    if top_k < 1:
        raise UsageError(f"--top {top_k}: show at least 1 cluster")
    tables, manifest = _load(output_dir)
    embed = manifest_section(manifest, "embed", EmbedConfig).model_dump()
    threshold = manifest_section(manifest, "trace", TraceConfig).min_similarity
    frame = parse_query(query)
    result: dict[str, Any] = {"query": query, "content": frame.content,
                              "speaker_mention": frame.speaker_mention, "speaker": None,
                              "threshold": threshold, "speaker_threshold": None, "matches": []}

    quotes = tables["quotes"].reset_index(drop=True)
    clusters = tables["clusters"]
    if quotes.empty or clusters.empty:
        result["message"] = "nothing in the corpus quotes this text (the job found no quotes)"
        return result
    embed_config = EmbedConfig(**{**embed, **({"model": model} if model else {})})
    embedder = Embedder.from_config(embed_config, embedding_cache_root(embed_config.cache_dir))
    forms = list(dict.fromkeys([query, frame.content]))
    vectors = embedder.embed([*forms, *quotes["text"].tolist()])
    similarity = (vectors[len(forms):] @ vectors[:len(forms)].T).max(axis=1)
    row_of = {quote_id: i for i, quote_id in enumerate(quotes["quote_id"])}
    speaker = _query_speaker(frame.speaker_mention, manifest, clusters)
    result["speaker"] = speaker
    if speaker is not None:
        result["speaker_threshold"] = round(threshold - SPEAKER_BONUS, 4)

    scored = []
    for cluster in clusters.itertuples(index=False):
        rows = [row_of[q] for q in cluster.quote_ids if q in row_of]
        if rows:
            matched = None if speaker is None else _clean(cluster.speaker) == speaker
            score = float(similarity[rows].max())
            scored.append((score + (SPEAKER_BONUS if matched else 0.0), score, matched,
                           cluster.cluster_id, cluster, rows))
    scored.sort(key=lambda item: (-item[0], item[3]))
    passing = [item for item in scored if item[0] >= threshold][:top_k]
    if not passing:
        best = max((item[1] for item in scored), default=float("nan"))
        named = (f", {result['speaker_threshold']:.3f} for quotes of {speaker}"
                 if speaker is not None else "")
        result["message"] = (
            f"nothing in the corpus quotes this text: no statement reaches cosine "
            f"{threshold:.3f}{named} (trace.min_similarity; the closest quote scores "
            f"{best:.3f})")
        return result

    documents = tables["documents"].set_index("doc_id")
    sentences = tables["sentences"]
    idx_of = dict(zip(sentences["sent_id"], sentences["idx"], strict=True))
    count_of = sentences.groupby("doc_id").size().to_dict()
    forms = english_forms(quotes, sentences)
    for _, score, matched, cluster_id, cluster, rows in passing:
        renditions = []
        for i in sorted(rows, key=lambda r: (-float(similarity[r]), quotes["quote_id"][r])):
            quote = quotes.iloc[i]
            doc_id = quote["doc_id"]
            outlet = _clean(documents["outlet"].get(doc_id)) if doc_id in documents.index else None
            sent_ids = list(quote["sent_ids"])
            first_idx = int(idx_of.get(sent_ids[0], -1)) if sent_ids else -1
            renditions.append({
                "quote_id": quote["quote_id"],
                "doc_id": doc_id,
                "outlet": outlet,
                "lang": quote["lang"],
                "text": quote["text"],
                "text_en": forms[i],
                "direct": bool(quote["direct"]),
                "date": _clean(documents["date"].get(doc_id)) if doc_id in documents.index
                else None,
                # Rendered in another language than the speaker's: a translation by someone.
                "is_translation": (quote["lang"] != cluster.speaker_lang)
                if _clean(cluster.speaker_lang) else None,
                "speaker_mention": _clean(quote["speaker_mention"]),
                "cited_source": _clean(quote["cited_source"]),
                "similarity": round(float(similarity[i]), 4),
                "sent_ids": sent_ids,
                "char_start": int(quote["char_start"]),
                "char_end": int(quote["char_end"]),
                # (index of the quote's first sentence, sentences in its document)
                "position": [first_idx, int(count_of.get(doc_id, 0))],
            })
        dated = sorted((r["date"], r["doc_id"]) for r in renditions if r["date"])
        earliest = next((r for r in renditions if dated and r["doc_id"] == dated[0][1]), None)
        result["matches"].append({
            "cluster_id": cluster_id,
            "earliest": {k: earliest[k] for k in ("doc_id", "outlet", "date")}
            if earliest else None,
            "speaker": _clean(cluster.speaker),
            "speaker_lang": _clean(cluster.speaker_lang),
            "score": round(score, 4),
            "speaker_match": matched,
            "origin_in_corpus": bool(cluster.origin_in_corpus),
            "origin_doc": _clean(cluster.origin_doc),
            "cited_sources": list(cluster.cited_sources),
            "drift": _clean(cluster.drift),
            "renditions": renditions,
        })
    return result


def _diff_text(reference: str, text: str) -> str:
    parts = []
    for op, word in word_diff(reference, text):
        parts.append(word if op == "=" else f"[{op}{word}]")
    return " ".join(parts)


def _where(rendition: dict) -> str:
    idx, count = rendition["position"]
    if idx < 0 or not count:
        return "position unknown"
    share = (idx + 1) / count
    part = "top" if share <= 1 / 3 else "middle" if share <= 2 / 3 else "end"
    return f"sentence {idx + 1} of {count} ({part})"


def format_trace(result: dict) -> str:
    """A terminal rendering of :func:`trace`'s answer."""
    lines = [f"query: {result['query']}"]
    if result.get("content") and result["content"] != result["query"]:
        named = result.get("speaker_mention")
        who = (f"; speaker: {named}" + (f" = {result['speaker']}" if result.get("speaker")
                                         else " (not a known speaker)")) if named else ""
        lines.append(f"content: {result['content']}{who}")
    if not result.get("matches"):
        lines.append(result.get("message") or "nothing in the corpus quotes this text")
        return "\n".join(lines)
    for match in result["matches"]:
        speaker = match["speaker"] or "unknown speaker"
        lang = match.get("speaker_lang")
        lines.append("")
        lines.append(f"{match['cluster_id']}  {speaker}"
                     f"{f' (speaks {lang})' if lang else ''}"
                     f"{'  [named speaker]' if match.get('speaker_match') else ''}"
                     f"  score {match['score']:.3f}"
                     f"  renditions {len(match['renditions'])}"
                     + (f"  drift {match['drift']:.3f}" if match.get("drift") is not None
                        else ""))
        renditions = match["renditions"]
        if match["origin_in_corpus"]:
            original = next((r for r in renditions if r["doc_id"] == match["origin_doc"]
                             and r["lang"] == lang), renditions[0])
            lines.append(f"  original ({lang}) in {original['outlet'] or original['doc_id']}: "
                         f"{original['text']}")
        else:
            what = f"original ({lang})" if lang else "original (speaker's language unknown)"
            citing = match["cited_sources"]
            closest = (f"closest to source: renditions citing {', '.join(citing)}" if citing
                       else "no rendition cites a source")
            lines.append(f"  {what} not in the corpus; {closest}")
        earliest = match.get("earliest")
        if earliest:
            lines.append(f"  earliest dated: {earliest['outlet'] or earliest['doc_id']} "
                         f"({earliest['date']})")
        reference = next((r["text_en"] for r in renditions if r["lang"] == "en"),
                         renditions[0]["text_en"])
        for r in renditions:
            source = f" via {r['cited_source']}" if r.get("cited_source") else ""
            kind = "direct" if r["direct"] else "indirect"
            if r.get("is_translation"):
                kind += ", translated"
            lines.append(f"  - {r['outlet'] or r['doc_id']} [{r['lang']}, {kind}{source}] "
                         f"sim {r['similarity']:.3f}, {_where(r)}")
            lines.append(f"      {r['text']}")
            if r["text_en"] != r["text"]:
                lines.append(f"      en: {r['text_en']}")
            if r["lang"] != "en" and r["text_en"] == r["text"]:
                lines.append("      drift: no English form (untranslated), no word diff")
            elif r["text_en"] != reference:
                lines.append(f"      drift: {_diff_text(reference, r['text_en'])}")
    return "\n".join(lines)
