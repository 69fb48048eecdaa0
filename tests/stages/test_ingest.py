"""ingest: files, globs and folders in; one row per document; every bad input is an InputError."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline.base import StageContext
from pipeline.config import parse_config
from pipeline.errors import InputError
from pipeline.sources import expand_inputs, fingerprint_documents
from pipeline.stages.ingest import Ingest
from tests.conftest import SEED_FILES, SEED_IDS

VI = "Tổng thống Putin nhấn mạnh sự tương đồng trong quan điểm giữa hai nước về các vấn đề quốc tế."
EN = "Russian President Vladimir Putin met Iranian President Masoud Pezeshkian on Friday."


def cp1258(text: str) -> bytes:
    """Encode Vietnamese the Windows-1258 way: precomposed vowels plus combining tone marks."""
    out = b""
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            tones = "".join(c for c in parts if c in "\u0300\u0301\u0303\u0309\u0323")
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
            out += (base + tones).encode("cp1258")
    return out


def ingest(inputs: list[str | Path], **ingest_config: Any) -> pd.DataFrame:
    job = parse_config({"job": "t", "inputs": [str(p) for p in inputs], "ingest": ingest_config})
    return Ingest(job).run({}, StageContext(job=job))["documents"]


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- good inputs -----------------------------------------------------------------------------


def test_seed_articles_give_one_document_each(seeds_dir: Path) -> None:
    docs = ingest([f"{seeds_dir}/*.txt"])
    assert docs["doc_id"].tolist() == SEED_IDS  # sorted
    assert list(docs.columns) == ["doc_id", "path", "sha256", "raw_text", "outlet", "date", "url",
                                  "title"]
    for row, path in zip(docs.itertuples(), SEED_FILES, strict=True):
        assert row.raw_text == path.read_text(encoding="utf-8")
        assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert Path(row.path) == path
    assert docs["outlet"].isna().all()  # no metadata file configured


def test_seed_metadata_side_file(seeds_dir: Path) -> None:
    docs = ingest([f"{seeds_dir}/*.txt"], metadata=str(seeds_dir / "metadata.csv"))
    docs = docs.set_index("doc_id")
    assert docs.loc["000_e58e8371168de39d", "outlet"] == "DW"
    assert docs.loc["002_833abf2e5c5bff94", "outlet"] == "TRT World"
    # Empty CSV cells are missing values, not empty strings.
    assert pd.isna(docs.loc["001_21547f29396abde5", "outlet"])
    assert docs["date"].isna().all()


def test_single_files_and_globs(seeds_dir: Path) -> None:
    first = ingest([SEED_FILES[0]])
    assert first["doc_id"].tolist() == [SEED_IDS[0]]
    # A pattern picks input texts only: metadata.csv beside them is not a document.
    both = ingest([f"{seeds_dir}/00[34]_*", str(seeds_dir / "0*")])
    assert both["doc_id"].tolist() == SEED_IDS
    assert "metadata" not in ingest([str(seeds_dir / "*")])["doc_id"].tolist()
    two = ingest([f"{seeds_dir}/00[34]_*.txt"])
    assert two["doc_id"].tolist() == SEED_IDS[3:]


def test_same_file_named_twice_is_one_document(seeds_dir: Path) -> None:
    docs = ingest([SEED_FILES[2], f"{seeds_dir}/*.txt", f"{seeds_dir}/00?_*.txt"])
    assert docs["doc_id"].tolist() == SEED_IDS


def test_folders_recurse_and_skip_hidden_and_other_extensions(tmp_path: Path) -> None:
    write(tmp_path / "a" / "one.txt", EN)
    write(tmp_path / "a" / "deeper" / "two.md", VI)
    write(tmp_path / "a" / ".hidden.txt", "Not an article.")
    write(tmp_path / "a" / "notes.csv", "doc_id,outlet\n")
    docs = ingest([tmp_path / "a"])
    assert docs["doc_id"].tolist() == ["one", "two"]
    assert docs.set_index("doc_id").loc["two", "raw_text"] == VI


def test_jsonl_records_with_and_without_ids(tmp_path: Path) -> None:
    records = [
        {"id": "dw-1", "text": EN, "outlet": "DW", "date": "2024-10-11"},
        {"text": VI},
        {"doc_id": "x-3", "text": "Putin said ties with Tehran were a priority.", "title": "T"},
    ]
    path = write(tmp_path / "batch.jsonl",
                 "\n".join(json.dumps(r, ensure_ascii=False) for r in records[:2]) + "\n\n"
                 + json.dumps(records[2]) + "\n")
    docs = ingest([path]).set_index("doc_id")
    assert sorted(docs.index) == ["batch-2", "dw-1", "x-3"]
    assert docs.loc["dw-1", "raw_text"] == EN
    assert docs.loc["dw-1", "outlet"] == "DW"
    assert docs.loc["dw-1", "date"] == "2024-10-11"
    assert docs.loc["batch-2", "raw_text"] == VI
    assert docs.loc["x-3", "title"] == "T"
    # Each record gets its own content hash (several records share one file).
    assert docs.loc["batch-2", "sha256"] == hashlib.sha256(VI.encode()).hexdigest()
    assert docs["sha256"].nunique() == 3


def test_jsonl_metadata_side_file_and_bom(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.txt", EN)
    write(tmp_path / "in" / "b.txt", VI)
    meta = write(tmp_path / "meta.jsonl",
                 '\ufeff{"doc_id": "a", "outlet": "DW", "url": "https://dw.com/a"}\n'
                 '{"doc_id": "b", "outlet": "VnExpress", "title": "Hội đàm"}\n')
    docs = ingest([tmp_path / "in"], metadata=str(meta)).set_index("doc_id")
    assert docs.loc["a", "url"] == "https://dw.com/a"
    assert docs.loc["b", "outlet"] == "VnExpress"
    assert docs.loc["b", "title"] == "Hội đàm"


def test_csv_metadata_written_by_excel_with_bom(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.txt", EN)
    meta = write(tmp_path / "meta.csv", "\ufeffdoc_id,outlet,date\na,DW,2024-10-11\n")
    docs = ingest([tmp_path / "in"], metadata=str(meta))
    assert docs["outlet"].tolist() == ["DW"]
    assert docs["date"].tolist() == ["2024-10-11"]


def test_utf8_bom_is_not_part_of_the_text(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.txt", "\ufeff".encode() + EN.encode())
    assert ingest([path])["raw_text"].tolist() == [EN]


def test_bitext_pair_gets_distinct_ids(tmp_path: Path) -> None:
    write(tmp_path / "x.vi", VI + "\n")
    write(tmp_path / "x.en", EN + "\n")
    docs = ingest([tmp_path], extensions=[".vi", ".en"])
    assert docs["doc_id"].tolist() == ["x.en", "x.vi"]
    assert docs.set_index("doc_id").loc["x.vi", "raw_text"] == VI + "\n"


def test_explicit_files_are_taken_whatever_their_extension(tmp_path: Path) -> None:
    vi, en = write(tmp_path / "x.vi", VI), write(tmp_path / "x.en", EN)
    assert ingest([vi, en])["doc_id"].tolist() == ["x.en", "x.vi"]


def test_fingerprint_follows_content_and_metadata(tmp_path: Path) -> None:
    path = write(tmp_path / "in" / "a.txt", EN)
    before = fingerprint_documents(ingest([tmp_path / "in"]))
    assert fingerprint_documents(ingest([tmp_path / "in"])) == before
    path.write_text(EN + " Extra.", encoding="utf-8")
    changed = fingerprint_documents(ingest([tmp_path / "in"]))
    assert changed != before
    meta = write(tmp_path / "meta.csv", "doc_id,outlet\na,DW\n")
    assert fingerprint_documents(ingest([tmp_path / "in"], metadata=str(meta))) != changed


# --- bad inputs: one InputError naming the file ----------------------------------------------


def assert_input_error(inputs: list[Any], match: str, name: str, **config: Any) -> str:
    with pytest.raises(InputError, match=match) as info:
        ingest(inputs, **config)
    message = str(info.value)
    assert name in message, message
    return message


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty"),
        (b"  \n\t\r\n  \n", "empty"),
        ("\u00a0\u3000\n\u2003".encode(), "whitespace"),  # Unicode spaces only
        (b"\xef\xbb\xbf\n", "whitespace"),  # a BOM and nothing else
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        ("Putin nói".encode("utf-16"), "binary"),  # UTF-16 has NUL bytes
        (cp1258("Tổng thống Nga Vladimir Putin"), "UTF-8"),
        ("Café, Pezeshkian’s visit".encode("cp1252"), "UTF-8"),
        ("Bộ trưởng khẳng định".encode()[:-1] + b"\xe9 done", "UTF-8"),
    ],
    ids=["empty", "ascii-whitespace", "unicode-whitespace", "bom-only", "png", "utf16",
         "cp1258", "cp1252", "latin1-byte"],
)
def test_bad_file_content(tmp_path: Path, content: bytes, match: str) -> None:
    good = write(tmp_path / "in" / "good.txt", EN)
    bad = write(tmp_path / "in" / "bad-article.txt", content)
    message = assert_input_error([good, bad], match, "bad-article.txt")
    assert str(bad) in message


def test_undecodable_message_shows_the_byte(tmp_path: Path) -> None:
    bad = write(tmp_path / "vi.txt", cp1258("Hội đàm"))
    message = assert_input_error([bad], "not valid UTF-8", "vi.txt")
    assert "byte 1" in message and "iconv" in message


def test_file_over_max_bytes(tmp_path: Path) -> None:
    big = write(tmp_path / "big.txt", EN * 10)
    assert len(ingest([big], max_bytes=10_000)) == 1
    message = assert_input_error([big], "over the limit", "big.txt", max_bytes=100)
    assert "100 bytes" in message and "max_bytes" in message


def test_sparse_file_over_default_limit_is_refused_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.write(EN.encode())
        handle.truncate(200_000_000)  # sparse: 200 MB on paper, almost nothing on disk
    assert huge.stat().st_size == 200_000_000
    message = assert_input_error([huge], "over the limit", "huge.txt")
    assert "200.0 MB" in message and "50.0 MB" in message


def test_folder_without_texts(tmp_path: Path) -> None:
    write(tmp_path / "empty-folder" / "notes.csv", "doc_id\n")
    write(tmp_path / "empty-folder" / ".hidden.txt", EN)
    assert_input_error([tmp_path / "empty-folder"], "no input texts", "empty-folder")
    (tmp_path / "nothing").mkdir()
    assert_input_error([tmp_path / "nothing"], "no input texts", "nothing")


def test_only_hidden_files_is_no_input(tmp_path: Path) -> None:
    hidden = write(tmp_path / ".draft.txt", EN)
    with pytest.raises(InputError, match="no input texts"):
        expand_inputs([str(hidden)], [".txt"])


def test_missing_path_and_empty_pattern(tmp_path: Path) -> None:
    assert_input_error([tmp_path / "nope.txt"], "no such file", "nope.txt")
    assert_input_error([f"{tmp_path}/*.txt"], "matches no files", "*.txt")
    write(tmp_path / "meta.csv", "doc_id\n")
    assert_input_error([f"{tmp_path}/*"], "no input texts", str(tmp_path))


def test_missing_or_bad_metadata_file(tmp_path: Path) -> None:
    article = write(tmp_path / "in" / "a.txt", EN)
    assert_input_error([article], "metadata file not found", "nometa.csv",
                       metadata=str(tmp_path / "nometa.csv"))
    no_id = write(tmp_path / "noid.csv", "id,outlet\na,DW\n")
    assert_input_error([article], "doc_id", "noid.csv", metadata=str(no_id))
    broken = write(tmp_path / "broken.jsonl", '{"doc_id": "a"\n')
    assert_input_error([article], "cannot read metadata", "broken.jsonl", metadata=str(broken))


@pytest.mark.parametrize(
    ("lines", "match", "where"),
    [
        ([json.dumps({"text": EN}), "{not json"], "invalid JSON", "feed.jsonl:2"),
        ([json.dumps({"body": EN})], "'text' field", "feed.jsonl:1"),
        ([json.dumps({"text": 3})], "'text' field", "feed.jsonl:1"),
        ([json.dumps([EN])], "'text' field", "feed.jsonl:1"),
        ([json.dumps({"text": EN}), json.dumps({"text": "  \n "})], "empty", "feed.jsonl:2"),
    ],
    ids=["invalid-json", "no-text", "text-not-string", "not-object", "empty-text"],
)
def test_malformed_jsonl(tmp_path: Path, lines: list[str], match: str, where: str) -> None:
    feed = write(tmp_path / "feed.jsonl", "\n".join(lines) + "\n")
    assert_input_error([feed], match, where)


def test_jsonl_blank_lines_are_skipped_but_line_numbers_kept(tmp_path: Path) -> None:
    feed = write(tmp_path / "feed.jsonl", "\n\n \n" + EN)  # a text line in a JSONL file
    assert_input_error([feed], "invalid JSON", "feed.jsonl:4")
    blank = write(tmp_path / "blank.jsonl", "\n \n\t\n")
    assert_input_error([blank], "empty", "blank.jsonl")


def test_duplicate_ids(tmp_path: Path) -> None:
    write(tmp_path / "a" / "story.txt", EN)
    write(tmp_path / "b" / "story.txt", VI)
    message = assert_input_error([tmp_path / "a", tmp_path / "b"], "duplicate document id",
                                 "story")
    assert str(tmp_path / "a" / "story.txt") in message
    assert str(tmp_path / "b" / "story.txt") in message


def test_duplicate_ids_inside_jsonl_and_across_files(tmp_path: Path) -> None:
    feed = write(tmp_path / "feed.jsonl",
                 json.dumps({"id": "s1", "text": EN}) + "\n" + json.dumps({"id": "s1", "text": VI}))
    assert_input_error([feed], "duplicate document id 's1'", "feed.jsonl")
    other = write(tmp_path / "x" / "s1.txt", VI)
    feed.write_text(json.dumps({"id": "s1", "text": EN}), encoding="utf-8")
    assert_input_error([feed, other], "duplicate document id 's1'", "s1.txt")
