"""Hostile input: metadata of the wrong type or with a bad date, a doc_id given twice, control
characters past ingest's binary sniff, and sizes that used to hit cost cliffs (a 50 MB line,
200,000 lines). Each bad input is one InputError (exit 3) naming the file, the line and the
field; nothing is left behind. Costs are checked by what is allocated or scanned, not timed
(benchmarks/pathological_input.py times the whole job)."""

from __future__ import annotations

import json
import sys
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline import segmentation as segment_module
from pipeline.base import StageContext
from pipeline.cleaning import Cleaner
from pipeline.cli import app
from pipeline.config import CleanConfig, SegmentConfig, parse_config
from pipeline.errors import InputError
from pipeline.quoting import QuoteParams, blank_quotes, extract_document, quote_spans
from pipeline.segmentation import segment_text
from pipeline.stages.clean import Clean
from pipeline.stages.ingest import Ingest
from pipeline.stages.segment import Segment
from tests.conftest import SEED_FILES, job_data

EN = "Russian President Vladimir Putin met Iranian President Masoud Pezeshkian on Friday."
QUOTE = "Putin said “we actively work together in the international arena” on Friday."


def flat(text: str) -> str:
    return "".join(text.split())


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, records: list[Any]) -> Path:
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def ingest(inputs: list[Path], **config: Any) -> pd.DataFrame:
    job = parse_config({"job": "t", "inputs": [str(p) for p in inputs], "ingest": config})
    return Ingest(job).run({}, StageContext(job=job))["documents"]


def run_cli(tmp_path: Path, inputs: list[Path], **sections: Any) -> tuple[Any, Path]:
    """``quotetrace run`` on ``inputs`` (hashing embeddings: no model needed)."""
    output = tmp_path / "out"
    data = job_data(output, "unused", inputs=[str(p) for p in inputs],
                    embed={"backend": "hashing"}, **sections)
    data["ingest"] = {"metadata": None, **sections.get("ingest", {})}
    config = write(tmp_path / "job.yaml", yaml.safe_dump(data, allow_unicode=True))
    return CliRunner().invoke(app, ["run", str(config)]), output


# --- 1. metadata fields of the wrong type ------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "kind"), [
    ("outlet", {"name": "DW"}, "an object"),
    ("title", ["a", "b"], "a list"),
    ("url", 3, "a number"),
    ("date", 20241011, "a number"),
    ("id", {"x": 1}, "an object"),
    ("doc_id", True, "a boolean"),
])
def test_jsonl_metadata_of_the_wrong_type_exits_3_naming_file_line_and_field(
        tmp_path: Path, field: str, value: Any, kind: str) -> None:
    feed = jsonl(tmp_path / "in" / "feed.jsonl", [
        {"text": EN, "outlet": "DW"}, {"text": EN}, {"text": QUOTE, field: value}])
    result, output = run_cli(tmp_path, [feed])
    assert result.exit_code == 3, result.output
    assert flat(f"feed.jsonl:3: '{field}' must be a string, got {kind}") in flat(result.output)
    assert "Traceback" not in result.output
    assert not output.exists()  # not even a run.log


def test_integer_ids_and_null_metadata_are_fine(tmp_path: Path) -> None:
    feed = jsonl(tmp_path / "feed.jsonl", [{"text": EN, "id": 7, "outlet": None, "title": ""}])
    docs = ingest([feed])
    assert docs["doc_id"].tolist() == ["7"]
    assert docs["outlet"].isna().all() and docs["title"].isna().all()


def test_metadata_side_file_values_are_checked_too(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.txt", EN)
    meta = jsonl(tmp_path / "meta.jsonl", [{"doc_id": "a", "outlet": ["DW", "AFP"]}])
    with pytest.raises(InputError, match=r"meta\.jsonl:1 \(doc_id 'a'\): 'outlet' must be a "
                                         r"string, got a list"):
        ingest([tmp_path / "in"], metadata=str(meta))


# --- 2. dates ------------------------------------------------------------------------------


def test_metadata_date_yesterday_exits_3_naming_file_row_and_value(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    for path in SEED_FILES[:2]:
        write(folder / path.name, path.read_text(encoding="utf-8"))
    meta = write(tmp_path / "meta.csv", f"doc_id,outlet,date\n{SEED_FILES[0].stem},DW,2024-10-11\n"
                                        f"{SEED_FILES[1].stem},AFP,yesterday\n")
    result, output = run_cli(tmp_path, [folder], ingest={"metadata": str(meta)},
                             align={"date_window_days": 7})
    assert result.exit_code == 3, result.output
    message = flat(result.output)
    assert flat(f"meta.csv:3 (doc_id '{SEED_FILES[1].stem}'): 'date' 'yesterday' is not a date") \
        in message
    assert "ISO8601" in message
    assert "Traceback" not in result.output
    assert not output.exists()


@pytest.mark.parametrize("date", ["yesterday", "today", "3", "2024-13-01", "31/12/2024",
                                  "0001-01-01", "2024-10-11 maybe"])
def test_jsonl_date_that_is_not_a_date_is_an_input_error(tmp_path: Path, date: str) -> None:
    feed = jsonl(tmp_path / "feed.jsonl", [{"text": EN}, {"text": EN, "date": date}])
    with pytest.raises(InputError, match=r"feed\.jsonl:2: 'date' .* is not a date"):
        ingest([feed])


@pytest.mark.parametrize("date", ["2024-10-11", "2024-10-11T09:30:00+07:00",
                                  "2024-10-11T09:30:00Z", "2024-10-11 09:30",
                                  "Fri, 11 Oct 2024 09:30:00 +0000", "October 11, 2024",
                                  "11 Oct 2024", "", "  "])
def test_dates_align_can_read_are_kept_as_written(tmp_path: Path, date: str) -> None:
    feed = jsonl(tmp_path / "feed.jsonl", [{"text": EN, "date": date}])
    docs = ingest([feed])
    assert docs["date"].tolist() == [date or None]
    if date.strip():  # what stories does with it: a real day, not NaT
        parsed = pd.to_datetime(docs["date"].astype("string"), errors="coerce", utc=True,
                                format="mixed")
        assert not parsed.isna().any()


# --- 3. a doc_id given twice in the metadata file ------------------------------------------


def test_duplicate_doc_id_in_metadata_names_the_file_and_ids(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.txt", EN)
    write(tmp_path / "in" / "b.txt", EN)
    meta = write(tmp_path / "meta.csv",
                 "doc_id,outlet\na,DW\nb,AFP\na,Reuters\nb,TASS\nb,AP\n")
    with pytest.raises(InputError) as info:
        ingest([tmp_path / "in"], metadata=str(meta))
    message = str(info.value)
    assert "meta.csv" in message and "duplicate doc_id" in message
    assert "'a' on lines 2, 4" in message and "'b' on lines 3, 5, 6" in message


def test_duplicate_doc_id_in_jsonl_metadata_exits_3(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.txt", EN)
    meta = jsonl(tmp_path / "meta.jsonl", [{"doc_id": "a", "outlet": "DW"},
                                           {"doc_id": "a", "outlet": "AFP"}])
    result, output = run_cli(tmp_path, [tmp_path / "in"], ingest={"metadata": str(meta)})
    assert result.exit_code == 3, result.output
    assert flat("meta.jsonl: duplicate doc_id in the metadata: 'a' on lines 1, 2") \
        in flat(result.output)
    assert not output.exists()


def test_metadata_row_without_doc_id(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.txt", EN)
    meta = write(tmp_path / "meta.csv", "doc_id,outlet\na,DW\n,AFP\n")
    with pytest.raises(InputError, match=r"meta\.csv:3: the metadata row has an empty 'doc_id'"):
        ingest([tmp_path / "in"], metadata=str(meta))
    meta = jsonl(tmp_path / "meta.jsonl", [{"doc_id": "a"}, {"outlet": "DW"}])
    with pytest.raises(InputError, match=r"meta\.jsonl:2: the metadata row needs a 'doc_id'"):
        ingest([tmp_path / "in"], metadata=str(meta))


def test_jsonl_line_separators_inside_strings_are_not_line_breaks(tmp_path: Path) -> None:
    """JSON strings may hold U+2028, U+0085 unescaped; str.splitlines broke records there."""
    feed = write(tmp_path / "feed.jsonl",
                 json.dumps({"text": f"{EN}\u2028{EN}\x85"}, ensure_ascii=False) + "\n")
    meta = write(tmp_path / "meta.jsonl",
                 json.dumps({"doc_id": "feed-1", "title": "a\u2029b"}, ensure_ascii=False))
    docs = ingest([feed], metadata=str(meta))
    assert docs["doc_id"].tolist() == ["feed-1"]
    assert docs["title"].tolist() == ["a\u2029b"]


# --- 4. control characters past the binary sniff ---------------------------------------------


def test_nul_and_control_characters_after_8kb_are_dropped_by_clean(tmp_path: Path) -> None:
    head = " ".join([EN] * 120)  # past the 8 KB ingest looks at for NUL bytes
    article = write(tmp_path / "in" / "article.txt",
                    f"{head}\n\nPutin\x00 said\x07 the talks\x1b[0m were\x7f “very\x00 good”."
                    f"\x01\x02\n\nTehran\x00\x00 agreed\x9b.\x0c It\x0b was\x1c late.\n")
    job = parse_config({"job": "t", "inputs": [str(article)]})
    tables: dict[str, Any] = {}
    for stage in (Ingest, Clean, Segment):
        tables.update(stage(job).run({n: tables[n] for n in stage.reads}, StageContext(job=job)))
    document = tables["documents"].iloc[0]
    assert "\x00" in document["raw_text"]  # the raw text stays as published
    bad = [chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]]
    assert not any(c in document["text_clean"] for c in bad), repr(document["text_clean"][-80:])
    texts = tables["sentences"]["text"].tolist()
    assert not any(c in text for text in texts for c in bad)
    assert "Putin said the talks[0m were “very good”." in texts
    assert "Tehran agreed." in texts and "It was late." in texts
    raw = document["raw_text"]
    for row in tables["sentences"].itertuples():  # spans still index the raw text
        published = raw[row.char_start:row.char_end]
        assert "".join(c for c in published if c not in bad) == row.text or \
            " ".join("".join(c if c not in bad else " " for c in published).split()) == row.text


def test_only_whitespace_and_control_characters_is_an_empty_file(tmp_path: Path) -> None:
    article = write(tmp_path / "blank.txt", " " * 9000 + "\x00\x01 \n")
    with pytest.raises(InputError, match="only whitespace"):
        ingest([article])


# --- 5a. a 50 MB line: no per-character lists, bounded blingfire buffers ---------------------


def long_line(chars: int) -> str:
    sentences = [EN, QUOTE, "Tehran denies these accusations.", "“It is a priority,” he said."]
    parts, size, n = [], 0, 0
    while size < chars:
        parts.append(sentences[n % len(sentences)])
        size += len(parts[-1]) + 1
        n += 1
    return " ".join(parts)


def traced_peak(function: Any, *args: Any) -> int:
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_clean_of_a_long_line_does_not_hold_a_list_of_characters() -> None:
    text = long_line(1_000_000)
    cleaner = Cleaner(CleanConfig())
    assert cleaner.clean(text).text == text  # nothing to change
    # A list of the characters alone is 8 bytes a character (this text takes 2).
    assert traced_peak(cleaner.clean, text + "  x") < 3 * sys.getsizeof(text)


def test_blanking_quotations_of_a_long_paragraph_is_linear_in_memory() -> None:
    text = long_line(1_000_000)
    blanked = blank_quotes(text, quote_spans(text))
    assert len(blanked) == len(text) and "“" not in blanked
    assert traced_peak(lambda t: blank_quotes(t, quote_spans(t)), text) < 3 * sys.getsizeof(text)


def test_a_long_paragraph_is_read_in_windows_with_the_same_sentences() -> None:
    text = long_line(2_000_000)
    spans: list[list[tuple[int, int]]] = []
    sizes: list[int] = []

    def run() -> None:  # a new thread: fresh blingfire buffers (they are per thread)
        spans.append(segment_text(text, SegmentConfig()))
        sizes.append(segment_module._BUFFERS.size)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert sizes[0] <= 1_000_000  # was 2 bytes per input byte: 4 MB here, 100 MB for 50 MB
    sentences = [text[a:b] for a, b in spans[0]]
    assert len(sentences) > 20_000
    assert set(sentences) == {EN, QUOTE, "Tehran denies these accusations.",
                              "“It is a priority,” he said."}
    assert sum(len(s) + 1 for s in sentences) == len(text) + 1  # nothing lost or doubled


def test_small_windows_give_the_sentences_of_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each window restarts at the last sentence the one before it cut, so the window size does
    not change the sentences; a blank stretch longer than a window loses nothing after it."""
    seeds = " ".join(" ".join(p.read_text(encoding="utf-8").split()) for p in SEED_FILES)
    texts = [seeds, "Hello there. " * 300 + " " * 5_000 + "Last one here. And more."]
    for text in texts:
        whole = segment_text(text, SegmentConfig())
        monkeypatch.setattr(segment_module, "WINDOW_CHARS", 1_500)
        assert segment_text(text, SegmentConfig()) == whole
        monkeypatch.undo()
    assert [texts[1][a:b] for a, b in whole][-2:] == ["Last one here.", "And more."]


@pytest.mark.parametrize("mode", ["sentences", "lines"])
def test_text_without_sentence_ends_is_cut_into_bounded_segments(mode: str) -> None:
    words = " ".join(EN.rstrip(".").split() * 30_000)  # 400k characters, no full stop
    spans = segment_text(words, SegmentConfig(mode=mode))
    assert max(b - a for a, b in spans) <= 5_000
    assert " ".join(words[a:b] for a, b in spans).split() == words.split()


# --- 5b. 200,000 lines: quotes reads the text a bounded number of times -----------------------


class CountingText(str):
    """A text that adds up how many characters its searches and counts scan."""

    scanned = 0

    def count(self, sub: str, start: Any = None, end: Any = None) -> int:  # type: ignore[override]
        CountingText.scanned += len(self[start:end])
        return super().count(sub, start, end)

    def find(self, sub: str, start: Any = None, end: Any = None) -> int:  # type: ignore[override]
        found = super().find(sub, start, end)
        begin = start or 0
        CountingText.scanned += (found + len(sub) if found >= 0 else len(self)) - begin
        return found


def test_quotes_scan_a_many_line_document_a_bounded_number_of_times() -> None:
    lines = [QUOTE if n % 3 else f"“We will win, {n},” Putin said." for n in range(4_000)]
    text = CountingText("\n".join(lines))
    CountingText.scanned = 0
    quotes = extract_document(text, lines, QuoteParams())
    assert len(quotes) >= 4_000
    # Counting the newlines before every sentence scanned lines × text / 2 (400 MB here).
    assert CountingText.scanned < 5 * len(text)


def test_an_image_credit_inside_a_long_line_keeps_the_rest_of_it() -> None:
    """The credit pattern drops a short tail ("Image: AFP") glued to a paragraph, never the
    rest of a long line that merely mentions an image."""
    from pipeline.cleaning import Cleaner
    from pipeline.config import CleanConfig

    tail = " ".join(["The talks went on for hours."] * 40)
    text = (f"Leaders met in Ashgabat.Image: a photo of the meeting. {tail}\n"
            "The leaders.Image: AFP\n")
    cleaned = Cleaner(CleanConfig()).clean(text).text
    assert tail in cleaned
    assert "Image: AFP" not in cleaned


# --- found by an independent fault-injection run ---------------------------------------------


def test_deeply_nested_jsonl_exits_3_naming_the_line(tmp_path: Path) -> None:
    nested = '{"doc_id": "a", "text": "hi", "m": ' + "[" * 5000 + "]" * 5000 + "}\n"
    source = write(tmp_path / "in" / "a.jsonl", nested)
    result, output = run_cli(tmp_path, [source])
    assert result.exit_code == 3, result.output
    assert "a.jsonl:1" in flat(result.output) and "nestedtoodeeply" in flat(result.output)
    assert not output.exists()


def test_an_empty_metadata_file_exits_3(tmp_path: Path) -> None:
    source = write(tmp_path / "in" / "a.txt", "President Putin met the Iranian president.")
    metadata = write(tmp_path / "meta.csv", "")
    with pytest.raises(InputError, match="metadata file is empty"):
        ingest([source], metadata=str(metadata))


def test_a_symlink_inside_an_input_folder_is_not_followed(tmp_path: Path) -> None:
    outside = write(tmp_path / "secret" / "passwd.txt", "root:x:0:0:root:/root:/bin/bash")
    folder = tmp_path / "in"
    write(folder / "a.txt", "President Putin met the Iranian president on Friday.")
    (folder / "p.txt").symlink_to(outside)
    documents = ingest([folder])
    assert documents["doc_id"].tolist() == ["a"]


@pytest.mark.parametrize("setting", [
    'clean.extra_drop_line_patterns=["(unclosed"]', "attribute.fuzzy_threshold=-5",
    "segment.min_chars=-100", "quotes.min_chars=-1", "trace.min_similarity=-100",
    "segment.max_quote_chars=-5", "align.k=99999999999999999999999"])
def test_out_of_range_or_invalid_settings_exit_2_naming_the_key(tmp_path: Path,
                                                                setting: str) -> None:
    config = write(tmp_path / "job.yaml", yaml.safe_dump(
        job_data(tmp_path / "out", "unused", embed={"backend": "hashing"})))
    result = CliRunner().invoke(app, ["run", str(config), "--set", setting])
    assert result.exit_code == 2, result.output
    assert setting.split("=")[0] in flat(result.output)
    assert not (tmp_path / "out").exists()
