"""``write_report``: the job's self-contained HTML report.

Unit tests read a small hand-made job (with ``<script>`` and ``&`` in its text) and a seeds job run
with the tiny model. The browser tests render the report in headless Chromium (a screenshot that
must not be blank, the DOM after rendering, and no console message such as a CSP violation or
an SVG error); they skip when no ``chromium`` binary is found.
The seeds check with the real model (the Vietnamese Putin quote next to its English renditions)
skips when ``models/multilingual-e5-small`` is not built.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.config import parse_config
from pipeline.data import ALIGNMENTS, CLUSTERS, DOCUMENTS, QUOTES, SENTENCES
from pipeline.io import write_json_atomic, write_parquet_atomic
from pipeline.report import TEMPLATE, environment, write_report
from pipeline.runner import run_job

ROOT = Path(__file__).resolve().parents[1]
E5 = ROOT / "models" / "multilingual-e5-small"
ATTACK = "<script>alert(1)</script>"
OUTLET = 'Tom & Jerry <u>"News"</u>'
PUTIN_VI = "Chúng tôi đang tích cực hợp tác"
PUTIN_EN = "We actively work together"
TRT = "002_833abf2e5c5bff94"
VI = "003_9bed0cba9f35e0be"
KYIV = "004_7ee3f8304d59a0ac"


# ---------------------------------------------------------------------------- a hand-made job

def _frame(rows: list[dict], schema) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[field.name for field in schema])


def _sentence(doc_id: str, idx: int, text: str, lang: str, text_en: str, model: str = ""):
    return {"doc_id": doc_id, "sent_id": f"{doc_id}:{idx:04d}", "idx": idx, "char_start": 0,
            "char_end": len(text), "text": text, "lang": lang, "lang_score": 0.99,
            "text_en": text_en, "translation_model": model}


def _quote(quote_id: str, doc_id: str, sent: int, text: str, lang: str, direct: bool,
           speaker: str | None, cited: str | None = None):
    return {"quote_id": quote_id, "doc_id": doc_id, "sent_ids": [f"{doc_id}:{sent:04d}"],
            "char_start": 0, "char_end": len(text), "text": text, "lang": lang,
            "direct": direct, "cue": "said", "speaker_mention": speaker, "speaker": speaker,
            "cited_source": cited}


def build_job(output: Path) -> Path:
    """Two documents (en, vi), two alignments, three quotes in a Putin cluster plus one single."""
    en, vi = "a-en", "b-vi"
    en_text = [f"Putin said {ATTACK} & more.", "We actively work together in the arena.",
               "Prices rose & fell."]
    vi_text = ["Ông nói: “Chúng tôi đang tích cực hợp tác trên trường quốc tế.”",
               "Giá tăng & giảm <u>mạnh</u>."]
    documents = _frame([
        {"doc_id": en, "path": "a-en.txt", "sha256": "0" * 64, "lang": "en", "lang_score": 1.0,
         "outlet": OUTLET, "date": "2024-10-11", "title": f"Title {ATTACK}",
         "text_clean": " ".join(en_text)},
        {"doc_id": vi, "path": "b-vi.txt", "sha256": "1" * 64, "lang": "vi", "lang_score": 0.98,
         "outlet": None, "date": None, "title": None, "text_clean": " ".join(vi_text)},
    ], DOCUMENTS)
    sentences = _frame(
        [_sentence(en, i, t, "en", t) for i, t in enumerate(en_text)]
        + [_sentence(vi, 0, vi_text[0], "vi", ""),
           _sentence(vi, 1, vi_text[1], "vi", f"Prices rose & fell {ATTACK}.", "tiny-mt")],
        SENTENCES)
    alignments = _frame([
        {"doc_a": en, "sent_ids_a": [f"{en}:0001"], "text_a": en_text[1], "doc_b": vi,
         "sent_ids_b": [f"{vi}:0000"], "text_b": vi_text[0], "score": 0.81, "margin": 1.05,
         "kind": "1-1"},
        {"doc_a": en, "sent_ids_a": [f"{en}:0002"], "text_a": en_text[2], "doc_b": vi,
         "sent_ids_b": [f"{vi}:0001"], "text_b": vi_text[1], "score": 0.92, "margin": 1.10,
         "kind": "1-1"},
    ], ALIGNMENTS)
    quotes = _frame([
        _quote(f"{en}:q000", en, 0, f"{ATTACK} & more", "en", False, "Vladimir Putin", "TASS"),
        _quote(f"{en}:q001", en, 1, "We actively work together in the arena", "en", True,
               "Vladimir Putin"),
        _quote(f"{vi}:q000", vi, 0, "Chúng tôi đang tích cực hợp tác trên trường quốc tế.",
               "vi", True, "Vladimir Putin", f"TASS, {ATTACK}"),
        _quote(f"{vi}:q001", vi, 1, "Giá tăng & giảm", "vi", False, None),
    ], QUOTES)
    clusters = _frame([
        {"cluster_id": "c0000", "speaker": "Vladimir Putin", "speaker_lang": "ru",
         "quote_ids": [f"{en}:q000", f"{en}:q001", f"{vi}:q000"], "docs": [en, vi],
         "langs": ["en", "vi"], "origin_in_corpus": False, "origin_doc": None,
         "cited_sources": ["TASS"], "drift": 0.2},
        {"cluster_id": "c0001", "speaker": None, "speaker_lang": None,
         "quote_ids": [f"{vi}:q001"], "docs": [vi], "langs": ["vi"], "origin_in_corpus": False,
         "origin_doc": None, "cited_sources": [], "drift": 0.0},
    ], CLUSTERS)
    for name, frame, schema in [("documents", documents, DOCUMENTS),
                                ("sentences", sentences, SENTENCES),
                                ("alignments", alignments, ALIGNMENTS),
                                ("quotes", quotes, QUOTES), ("clusters", clusters, CLUSTERS)]:
        write_parquet_atomic(output / f"{name}.parquet", frame, schema)
    write_json_atomic(output / "manifest.json", {
        "job": f"hand {ATTACK}", "config_hash": "abc123",
        "models": {"embed": "tiny", "translate": "tiny-mt", "translation_models_used": []}})
    return output


@pytest.fixture
def hand_job(tmp_path: Path) -> Path:
    return build_job(tmp_path / "job")


# ---------------------------------------------------------------------------- DOM helpers

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str):
        for node in self.iter():
            if tag and node.tag != tag:
                continue
            if cls and cls not in node.attrs.get("class", "").split():
                continue
            if all(node.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                yield node


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {}, None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(markup: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(markup)
    builder.close()
    return builder.root


# ---------------------------------------------------------------------------- unit tests

def test_report_escapes_all_text(hand_job: Path) -> None:
    path = write_report(hand_job)
    assert path == hand_job / "report.html"
    markup = path.read_text(encoding="utf-8")
    assert "<script" not in markup.lower()  # no script at all; the corpus's is escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert "<u>" not in markup  # neither the outlet's nor the Vietnamese sentence's markup
    assert "Tom &amp; Jerry &lt;u&gt;&#34;News&#34;&lt;/u&gt;" in markup  # markupsafe's entities
    assert "Prices rose &amp; fell." in markup
    assert "Giá tăng &amp; giảm &lt;u&gt;mạnh&lt;/u&gt;." in markup
    # Parsed back, the text is exactly the corpus's text.
    dom = parse(markup)
    title = [td.text() for td in dom.find_all("td") if td.text().startswith("Title ")]
    assert title == [f"Title {ATTACK}"]
    outlets = [node.attrs["data-outlet"] for node in dom.find_all(cls="doc-row")]
    assert outlets == [OUTLET, ""]


def test_templates_autoescape_and_ship_with_the_package() -> None:
    env = environment()
    assert env.autoescape is True
    template = env.from_string("<p title=\"{{ x }}\">{{ x }}</p>")
    assert template.render(x=ATTACK + "\"'") == (
        '<p title="&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;">'
        "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;</p>")
    shipped = resources.files("pipeline") / "templates"
    names = {path.name for path in shipped.iterdir()}
    assert {TEMPLATE, "report.css"} <= names
    for name in sorted(names):
        if name.endswith(".j2"):
            env.get_template(name)  # every template parses


def test_report_head_forbids_loading_anything(hand_job: Path) -> None:
    markup = write_report(hand_job).read_text(encoding="utf-8")
    assert markup.startswith("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n")
    assert ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'; img-src data:\">") in markup
    dom = parse(markup)
    assert [a.attrs["href"] for a in dom.find_all("nav").__next__().find_all("a")] == [
        "#overview", "#scores", "#pairs", "#clusters"]
    assert not [n for n in dom.iter() if "src" in n.attrs or n.tag in ("link", "script")]
    assert "{{" not in markup and "{%" not in markup and "{#" not in markup


def test_report_sections_and_rows(hand_job: Path) -> None:
    dom = parse(write_report(hand_job).read_text(encoding="utf-8"))
    for section in ("overview", "scores", "pairs", "clusters"):
        assert len(list(dom.find_all("section", id=section))) == 1, section
    assert [r.attrs["data-doc"] for r in dom.find_all("tr", cls="doc-row")] == ["a-en", "b-vi"]
    stats = {li.attrs["data-stat"]: li.find_all("b").__next__().text()
             for li in dom.find_all("li") if "data-stat" in li.attrs}
    assert stats["documents"] == "2" and stats["translated sentences"] == "1"
    assert stats["aligned pairs"] == "2" and stats["quote clusters"] == "2"
    models = {r.attrs["data-model"] for r in dom.find_all("tr", cls="model-row")}
    assert models == {"embed", "translate", "translation_models_used"}

    pair = next(dom.find_all("details", cls="doc-pair"))
    assert pair.attrs["id"] == "pair-a-en--b-vi" and "open" in pair.attrs
    rows = list(pair.find_all("tr", cls="pair-row", data_doc_a="a-en", data_doc_b="b-vi"))
    assert len(rows) == 2 and [r.attrs["data-kind"] for r in rows] == ["1-1", "1-1"]
    cells = [td.text() for td in rows[1].find_all("td")]
    assert cells[1] == "Prices rose & fell."
    assert "Giá tăng & giảm <u>mạnh</u>." in cells[2]
    assert f"Prices rose & fell {ATTACK}." in cells[2]  # the English text_en beside it
    assert cells[3:] == ["0.920", "1.100", "1-1"]
    assert "no English translation" in [td.text() for td in rows[0].find_all("td")][2]

    bars = list(dom.find_all("rect", cls="bar"))
    assert sum(int(b.attrs["data-count"]) for b in bars) == 2

    cluster = next(dom.find_all("article", cls="cluster", id="cluster-c0000"))
    assert cluster.attrs["data-speaker"] == "Vladimir Putin"
    origin = next(cluster.find_all("p", cls="origin")).text()
    assert origin == "original (ru) not in the corpus; closest to source: renditions citing TASS"
    renditions = list(cluster.find_all("div", cls="rendition"))
    assert [r.attrs["data-lang"] for r in renditions] == ["en", "en", "vi"]
    assert [r.attrs["data-direct"] for r in renditions] == ["false", "true", "true"]
    # The reference is the first direct English rendition; the others drift against it.
    assert renditions[1].attrs.get("data-reference") == "true"
    diff = next(renditions[0].find_all("div", cls="diff"))
    assert {d.text() for d in diff.find_all("del")} >= {"We", "actively", "arena"}
    assert {i.text() for i in diff.find_all("ins")} >= {"<script>alert(1)</script>", "&"}
    assert "untranslated" in next(renditions[2].find_all("div", cls="diff")).text()
    assert renditions[2].find_all("div", cls="text").__next__().text().startswith(PUTIN_VI)
    single = next(dom.find_all("article", cls="cluster", id="cluster-c0001"))
    assert "speaker's language unknown" in next(single.find_all("p", cls="origin")).text()


def test_report_draws_the_provenance_of_multi_rendition_clusters(hand_job: Path) -> None:
    markup = write_report(hand_job).read_text(encoding="utf-8")
    dom = parse(markup)
    cluster = next(dom.find_all("article", cls="cluster", id="cluster-c0000"))
    svgs = list(cluster.find_all("svg", cls="provenance"))
    assert len(svgs) == 1 and svgs[0].attrs["data-cluster"] == "c0000"
    single = next(dom.find_all("article", cls="cluster", id="cluster-c0001"))
    assert not list(single.find_all("svg"))  # one rendition: no diagram
    svg = svgs[0]
    lanes = [g.attrs["data-lane"] for g in svg.find_all("g", cls="prov-lane")]
    assert lanes == ["cited", "2024-10-11", "undated"]
    nodes = {g.attrs["data-quote-id"]: g for g in svg.find_all("g", cls="prov-node")
             if "data-quote-id" in g.attrs}
    assert set(nodes) == {"a-en:q000", "a-en:q001", "b-vi:q000"}
    assert nodes["a-en:q000"].attrs.get("data-first") == "true"  # earliest date, then id
    assert nodes["b-vi:q000"].attrs["data-lane"] == "undated"
    assert nodes["a-en:q001"].attrs.get("data-reference") == "true"
    assert nodes["a-en:q001"].attrs["data-drift"] == "0.00"
    assert float(nodes["a-en:q000"].attrs["data-drift"]) > 0
    assert nodes["b-vi:q000"].attrs["data-drift"] == ""  # untranslated: no word drift
    assert "first reported" in nodes["a-en:q000"].text()
    # Labels and tooltips are the corpus's text, escaped: the outlet's and the cited source's
    # markup never becomes elements of the SVG.
    assert next(nodes["a-en:q000"].find_all("title")).text().startswith(OUTLET)
    external = {g.attrs["data-source"]: g for g in svg.find_all("g", cls="external")}
    assert set(external) == {"TASS", ATTACK}
    assert ATTACK in next(external[ATTACK].find_all("title")).text()
    assert {n.tag for n in svg.iter()} <= {"svg", "g", "line", "polygon", "path", "rect",
                                           "text", "title"}
    edges = {(e.attrs["data-from"], e.attrs["data-to"])
             for e in svg.find_all("g", cls="prov-edge")}
    assert edges == {("ext:tass", "a-en:q000"), ("ext:tass", "b-vi:q000"),
                     (f"ext:{ATTACK}", "b-vi:q000")}
    start = markup.index('<svg class="provenance"')
    inside = markup[start:markup.index("</svg>", start)]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in inside and "<script" not in inside
    assert "Tom &amp; Jerry &lt;u&gt;" in inside and "<u>" not in inside
    assert "word drift" in inside and "first reported" in inside  # the legend
    # The diagram needs nothing the CSP forbids: no links, references or styles to load.
    assert "href" not in inside and "url(" not in inside and "<style" not in inside
    assert markup.count("Content-Security-Policy") == 1
    assert ('content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:"'
            in markup)


def test_report_is_deterministic(hand_job: Path, tmp_path: Path) -> None:
    first = write_report(hand_job).read_bytes()
    other = write_report(hand_job, tmp_path / "elsewhere" / "r.html")
    assert other == tmp_path / "elsewhere" / "r.html"
    assert other.read_bytes() == first == write_report(hand_job).read_bytes()


def test_report_without_quotes_or_manifest(hand_job: Path) -> None:
    for name in ("quotes.parquet", "clusters.parquet", "manifest.json"):
        (hand_job / name).unlink()
    markup = write_report(hand_job).read_text(encoding="utf-8")
    assert 'id="clusters"' in markup and "No quotes found." in markup


def test_report_needs_a_job(tmp_path: Path) -> None:
    from pipeline.errors import InputError

    with pytest.raises(InputError, match=r"documents\.parquet"):
        write_report(tmp_path)


def test_report_of_a_seeds_job(make_job, tmp_path: Path) -> None:
    result = run_job(make_job(tmp_path / "seeds"))
    dom = parse(write_report(result.output_dir).read_text(encoding="utf-8"))
    tables = result.tables
    assert len(list(dom.find_all("tr", cls="doc-row"))) == len(tables["documents"])
    assert len(list(dom.find_all("tr", cls="pair-row"))) == len(tables["alignments"])
    assert len(list(dom.find_all("article", cls="cluster"))) == len(tables["clusters"])
    assert len(list(dom.find_all("div", cls="rendition"))) == len(tables["quotes"])
    multi = int((tables["clusters"]["quote_ids"].map(len) > 1).sum())
    assert multi and len(list(dom.find_all("svg", cls="provenance"))) == multi


# ---------------------------------------------------------------------------- browser tests

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium binary on PATH (apt-get install -y chromium) for the headless "
           "browser test")
needs_e5 = pytest.mark.skipif(
    not (E5 / "modules.json").exists(),
    reason=f"{E5} not built; run `make models` (quotetrace setup-models)")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
               "--window-size=1200,2400", "--enable-logging=stderr", "--v=0", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def console_messages(done: subprocess.CompletedProcess) -> list[str]:
    """The page's console messages (CSP violations, SVG attribute errors, script errors) from
    Chromium's log on stderr."""
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def dump_dom(report: Path, tmp_path: Path) -> Node:
    done = _chromium(tmp_path, "--dump-dom", report.resolve().as_uri())
    assert console_messages(done) == []
    return parse(done.stdout)


def _png_pixels(path: Path) -> np.ndarray:
    """Pixels (height, width, channels) of an 8-bit non-interlaced RGB(A) PNG, without PIL."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or color not in (2, 6) or interlace:
        pytest.skip(f"PNG format {header} needs PIL to decode")
    bpp = 3 if color == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    image = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        row = np.frombuffer(line, dtype=np.uint8)
        if kind == 0:
            out = row.copy()
        elif kind == 1:  # Sub: a running sum per channel
            out = (row.reshape(width, bpp).astype(np.int64).cumsum(axis=0) % 256).astype(
                np.uint8).reshape(stride)
        elif kind == 2:  # Up
            out = row + previous
        else:  # Average (3) and Paeth (4): sequential along the row
            out_list, up = bytearray(stride), previous.tolist()
            for i, value in enumerate(line):
                a = out_list[i - bpp] if i >= bpp else 0
                b = up[i]
                if kind == 3:
                    out_list[i] = (value + (a + b) // 2) & 0xFF
                    continue
                c = up[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                out_list[i] = (value + pred) & 0xFF
            out = np.frombuffer(bytes(out_list), dtype=np.uint8)
        image[y], previous = out, out
    return image.reshape(height, width, bpp)[:, :, :3]


def screenshot_pixels(path: Path) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        return _png_pixels(path)
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@needs_chromium
def test_report_renders_in_chromium(hand_job: Path, tmp_path: Path) -> None:
    report = write_report(hand_job)
    png = tmp_path / "report.png"
    done = _chromium(tmp_path, f"--screenshot={png}", report.resolve().as_uri())
    assert console_messages(done) == []
    assert png.is_file() and png.stat().st_size > 1000
    pixels = screenshot_pixels(png)
    assert pixels.shape == (2400, 1200, 3)
    colors, counts = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
    background = colors[counts.argmax()]
    ink = float((pixels != background).any(axis=2).mean())
    assert len(colors) > 16 and ink > 0.01, (len(colors), ink)  # text, tables and the chart
    # The chart's bars are drawn in the accent colour (#2f6db5).
    assert ((pixels == (0x2F, 0x6D, 0xB5)).all(axis=2)).sum() > 100

    dom = dump_dom(report, tmp_path)
    assert not list(dom.find_all("script"))  # the corpus's <script> stayed text
    rows = list(dom.find_all("tr", cls="pair-row", data_doc_a="a-en", data_doc_b="b-vi"))
    assert len(rows) == 2
    assert f"{ATTACK} & more" in dom.text()
    cluster = next(dom.find_all("article", cls="cluster", data_speaker="Vladimir Putin"))
    vi = list(cluster.find_all("div", cls="rendition", data_lang="vi"))
    assert len(vi) == 1 and PUTIN_VI in vi[0].text()
    assert len(list(dom.find_all("rect", cls="bar"))) >= 2
    svg = next(cluster.find_all("svg", cls="provenance"))
    assert len(list(svg.find_all("g", cls="prov-node"))) == 5  # 3 renditions, 2 sources
    assert not list(svg.find_all("script")) and ATTACK in svg.text()


@pytest.fixture(scope="module")
def real_seeds_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("report-seeds") / "seeds"
    job = parse_config({
        "job": "seeds", "inputs": [str(ROOT / "seeds" / "*.txt")], "output": str(output),
        "ingest": {"metadata": str(ROOT / "seeds" / "metadata.csv")},
        "translate": {"enabled": False}, "embed": {"model": str(E5)},
    })
    run_job(job)
    assert json.loads((output / "manifest.json").read_text(encoding="utf-8"))["job"] == "seeds"
    return write_report(output)


def _check_putin_cluster(dom: Node) -> None:
    """The vi rendition of Putin's quote sits in one cluster with TRT's and 004's English."""
    clusters = [c for c in dom.find_all("article", cls="cluster",
                                        data_speaker="Vladimir Putin")
                if any(PUTIN_VI in r.text()
                       for r in c.find_all("div", cls="rendition", data_lang="vi"))]
    assert len(clusters) == 1, "no single Putin cluster holds the Vietnamese rendition"
    cluster = clusters[0]
    assert "original (ru) not in the corpus" in next(cluster.find_all("p", cls="origin")).text()
    english = {r.attrs["data-doc"]: r for r in cluster.find_all("div", cls="rendition",
                                                                data_lang="en")}
    for doc_id in (TRT, KYIV):
        assert doc_id in english, f"{doc_id}'s English rendition missing from the cluster"
        text = next(english[doc_id].find_all("div", cls="text")).text()
        assert text.startswith(PUTIN_EN), text
    vi = next(cluster.find_all("div", cls="rendition", data_lang="vi"))
    assert vi.attrs["data-doc"] == VI


@needs_e5
def test_seeds_report_shows_putin_vi_next_to_english(real_seeds_report: Path) -> None:
    _check_putin_cluster(parse(real_seeds_report.read_text(encoding="utf-8")))


@needs_e5
@needs_chromium
def test_seeds_report_in_chromium(real_seeds_report: Path, tmp_path: Path) -> None:
    dom = dump_dom(real_seeds_report, tmp_path)
    _check_putin_cluster(dom)
    rows = list(dom.find_all("tr", cls="pair-row"))
    pairs = {(r.attrs["data-doc-a"], r.attrs["data-doc-b"]) for r in rows}
    assert rows and (TRT, VI) in pairs and (VI, KYIV) in pairs
