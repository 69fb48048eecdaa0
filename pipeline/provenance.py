"""The provenance of a quote cluster as a small diagram: who reported first, who cited whom, and
how the wording drifted — pure data, drawn by ``templates/provenance.html.j2``.

:func:`provenance` takes one cluster (a row of the CLUSTERS table as a mapping), its renditions
(rows of the QUOTES table as mappings, each optionally with ``english``: its English form, see
:func:`pipeline.quoteclusters.english_forms`) and the documents (doc_id → ``outlet``, ``date``),
and returns plain values with every position already computed:

- **lanes**: a time axis, one lane per distinct document date (ISO ``YYYY-MM-DD``, ascending),
  then an ``undated`` lane for renditions whose document has no (valid) date. Sources cited by a
  rendition but absent from the cluster (TASS, AFP) get a ``cited`` lane before the dates.
- **nodes**: one per rendition, labelled by outlet (or doc id) and language, stacked in its lane
  by quote id. The earliest dated rendition (ties: smallest quote id) is ``first`` (first
  reported); with no dated rendition none is. ``translated`` holds the language it was
  translated from: the speaker's language when the rendition is in another one, else (speaker's
  language unknown) ``en`` for a non-English rendition of a cluster with an English one.
  ``drift`` is :func:`word_drift` of its English form against the reference rendition (the
  report's: the first direct English rendition, else the first English one; see
  :func:`reference_index`), None when it has no English form or there is no reference.
  External sources are nodes with ``external`` true (drawn dashed).
- **edges**: ``cites`` edges from a source to the rendition naming it in ``cited_source`` (split
  on commas and "and"; compared case-insensitively with the outlets of the cluster's other
  renditions, the earliest of which is the source; a rendition naming its own outlet cites no
  one). An edge between renditions in different languages is labelled as a translation.

The output is deterministic: the same inputs give the same positions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pipeline.quoteclusters import word_diff

#: Geometry in pixels: lane width, node box, vertical step between nodes, top margin (axis
#: labels), legend height below the nodes.
GEOMETRY = {"lane": 176, "node_w": 158, "node_h": 62, "row": 78, "top": 40, "legend": 44,
            "pad": 10}
#: The legend's width: narrower diagrams are widened to it.
MIN_WIDTH = 640
#: Node labels longer than this are cut (the full label stays in the node's tooltip).
LABEL_CHARS = 20
#: Drift shades: white (no drift) to this colour (every word changed).
DRIFT_RGB = (0xD9, 0x53, 0x4F)
UNDATED, CITED = "undated", "cited"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _date(value: Any) -> str:
    """An ISO date ``YYYY-MM-DD`` from a document's date, or "" when it has none or is invalid."""
    text = _text(value)[:10]
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return ""


def word_drift(reference: str, form: str) -> float:
    """Share of changed words between two texts by :func:`word_diff` (as in the report's diff):
    removed plus added words over the words of both; 0.0 identical, 1.0 nothing shared."""
    ops = word_diff(reference, form)
    if not ops:
        return 0.0
    kept = sum(1 for op, _ in ops if op == "=")
    total = len(ops) + kept  # words of both texts: each kept word is in both
    return round(1.0 - 2 * kept / total, 3)


def reference_index(quotes: Sequence[Mapping[str, Any]]) -> int | None:
    """The reference rendition for drift: the first direct English one, else the first English
    one (in the given order), None without English renditions."""
    english = [i for i, q in enumerate(quotes) if q.get("lang") == "en"]
    return next((i for i in english if bool(quotes[i].get("direct"))),
                english[0] if english else None)


def shade(drift: float | None) -> str:
    """The fill of a node: white → :data:`DRIFT_RGB` with the drift; light grey for None."""
    if drift is None:
        return "#eeeeee"
    t = min(1.0, max(0.0, drift))
    return "#" + "".join(f"{round(255 + (c - 255) * t):02x}" for c in DRIFT_RGB)


def split_sources(value: Any) -> list[str]:
    """The sources named in a ``cited_source`` ("AFP, AP, dpa" → three), blanks dropped."""
    parts = re.split(r",|;|\band\b|&", _text(value))
    return [p.strip() for p in parts if p.strip()]


def _cut(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"


def _renditions(cluster: Mapping[str, Any], quotes: Sequence[Mapping[str, Any]],
                documents: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    ids = cluster.get("quote_ids")
    wanted = [_text(q) for q in (list(ids) if ids is not None else [])]
    by_id = {_text(q.get("quote_id")): q for q in quotes}
    out = []
    for quote_id in sorted(q for q in set(wanted) if q in by_id):
        quote = by_id[quote_id]
        doc_id = _text(quote.get("doc_id"))
        doc = documents.get(doc_id) or {}
        lang, text = _text(quote.get("lang")), _text(quote.get("text"))
        english = _text(quote.get("english")) or text
        out.append({"quote_id": quote_id, "doc_id": doc_id, "lang": lang,
                    "direct": bool(quote.get("direct")), "outlet": _text(doc.get("outlet")),
                    "date": _date(doc.get("date")), "sources": split_sources(
                        quote.get("cited_source")),
                    "english": english if lang == "en" or english != text else ""})
    return out


def _translated_from(lang: str, speaker_lang: str, has_english: bool) -> str:
    if speaker_lang:
        return speaker_lang if lang and lang != speaker_lang else ""
    return "en" if lang and lang != "en" and has_english else ""


def _clip(x1: float, y1: float, x2: float, y2: float, hw: float, hh: float) -> tuple:
    """The point where the segment from box centre 1 towards centre 2 leaves box 1."""
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return x1, y1
    t = min(hw / abs(dx) if dx else math.inf, hh / abs(dy) if dy else math.inf)
    return x1 + dx * t, y1 + dy * t


def _edge_path(a: dict[str, Any], b: dict[str, Any], g: Mapping[str, int]) -> dict[str, str]:
    """An edge's SVG path (straight, or bent to the right within one lane) and arrowhead."""
    hw, hh = g["node_w"] / 2, g["node_h"] / 2
    ax, ay, bx, by = a["cx"], a["cy"], b["cx"], b["cy"]
    if ax == bx:  # one lane: leave and enter on the right side, bulging outwards
        sx, sy, ex, ey = ax + hw, ay, bx + hw, by
        cx, cy = ax + hw + 28 + abs(by - ay) / 6, (ay + by) / 2
        d = f"M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}"
        lx, ly = cx - 8, cy
    else:
        sx, sy = _clip(ax, ay, bx, by, hw, hh)
        ex, ey = _clip(bx, by, ax, ay, hw, hh)
        cx, cy = sx, sy
        d = f"M{sx:.1f},{sy:.1f} L{ex:.1f},{ey:.1f}"
        lx, ly = (sx + ex) / 2, (sy + ey) / 2 - 4
    ux, uy = ex - cx, ey - cy
    norm = math.hypot(ux, uy) or 1.0
    ux, uy = ux / norm, uy / norm
    size = 7.0
    bx0, by0 = ex - ux * size, ey - uy * size
    head = [(ex, ey), (bx0 - uy * size / 2, by0 + ux * size / 2),
            (bx0 + uy * size / 2, by0 - ux * size / 2)]
    return {"d": d, "head": " ".join(f"{x:.1f},{y:.1f}" for x, y in head),
            "label_x": f"{lx:.1f}", "label_y": f"{ly:.1f}"}


def provenance(cluster: Mapping[str, Any], quotes: Sequence[Mapping[str, Any]],
               documents: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The provenance diagram of ``cluster``: lanes, nodes and edges with their positions (see
    the module's docstring). ``quotes`` may hold other quotes; only the cluster's are used."""
    g = GEOMETRY
    speaker_lang = _text(cluster.get("speaker_lang"))
    rends = _renditions(cluster, quotes, documents)
    ref = reference_index(rends)
    reference = rends[ref]["english"] if ref is not None else ""
    has_english = ref is not None
    dated = sorted((r["date"], r["quote_id"]) for r in rends if r["date"])
    first = dated[0][1] if dated else None

    # Citations: an outlet of the cluster (its earliest rendition) or an external source.
    outlet_of = {}
    for r in sorted(rends, key=lambda r: (not r["date"], r["date"], r["quote_id"])):
        if r["outlet"]:
            outlet_of.setdefault(r["outlet"].casefold(), r["quote_id"])
    external: dict[str, str] = {}  # casefolded name → name as first written
    cites: list[tuple[str, str]] = []  # (source key, citing quote id)
    for r in rends:
        for source in r["sources"]:
            key = source.casefold()
            if key == r["outlet"].casefold():
                continue  # an outlet naming itself cites no one
            if key in outlet_of:
                cites.append((outlet_of[key], r["quote_id"]))
            else:
                external.setdefault(key, source)
                cites.append((f"ext:{key}", r["quote_id"]))

    lane_names = ([CITED] if external else []) + sorted({r["date"] for r in rends if r["date"]})
    if any(not r["date"] for r in rends):
        lane_names.append(UNDATED)
    lane_x = {name: g["pad"] + i * g["lane"] for i, name in enumerate(lane_names)}
    members: dict[str, list[dict[str, Any]]] = {name: [] for name in lane_names}
    nodes: list[dict[str, Any]] = []
    for key in sorted(external):
        members[CITED].append({"id": f"ext:{key}", "external": True, "label": external[key],
                               "full": external[key], "lang": "", "direct": False,
                               "doc_id": "", "quote_id": "", "date": "", "first": False,
                               "translated": "", "drift": None, "reference": False})
    for i, r in enumerate(rends):
        drift = None
        if r["english"] and ref is not None:
            drift = 0.0 if i == ref else word_drift(reference, r["english"])
        label = r["outlet"] or r["doc_id"]
        members[r["date"] or UNDATED].append({
            "id": r["quote_id"], "external": False, "label": _cut(label), "full": label,
            "lang": r["lang"], "direct": r["direct"], "doc_id": r["doc_id"],
            "quote_id": r["quote_id"], "date": r["date"], "first": r["quote_id"] == first,
            "translated": _translated_from(r["lang"], speaker_lang, has_english),
            "drift": drift, "reference": i == ref})
    lanes = []
    for name in lane_names:
        x = lane_x[name]
        lanes.append({"name": name, "x": x, "center": f"{x + g['lane'] / 2:.1f}",
                      "label": {CITED: "cited, not in corpus"}.get(name, name)})
        for row, node in enumerate(members[name]):
            node.update(lane=name, row=row, x=x + (g["lane"] - g["node_w"]) / 2,
                        y=g["top"] + row * g["row"])
            node.update(cx=node["x"] + g["node_w"] / 2, cy=node["y"] + g["node_h"] / 2,
                        fill="#ffffff" if node["external"] else shade(node["drift"]),
                        drift_text="" if node["drift"] is None else f"{node['drift']:.2f}")
            nodes.append(node)

    by_id = {node["id"]: node for node in nodes}
    edges = []
    for source, target in sorted(set(cites), key=lambda e: (e[1], e[0])):
        a, b = by_id[source], by_id[target]
        translation = (f"translation {a['lang']}→{b['lang']}"
                       if a["lang"] and b["lang"] and a["lang"] != b["lang"] else "")
        edges.append({"source": source, "target": target, "kind": "cites",
                      "external": a["external"], "label": translation,
                      **_edge_path(a, b, g)})
    rows = max((len(m) for m in members.values()), default=0)
    width = max(MIN_WIDTH, 2 * g["pad"] + len(lane_names) * g["lane"] + 40)
    height = g["top"] + rows * g["row"] + g["legend"]
    return {"cluster_id": _text(cluster.get("cluster_id")), "speaker_lang": speaker_lang,
            "width": width, "height": height, "lanes": lanes, "nodes": nodes, "edges": edges,
            "first": first, "reference": rends[ref]["quote_id"] if ref is not None else None,
            "legend_y": g["top"] + rows * g["row"] + 8, "node_w": g["node_w"],
            "node_h": g["node_h"],
            "legend": [{"drift": f"{d:.2f}", "fill": shade(d)} for d in (0, .25, .5, .75, 1)]}
