"""pipeline.sources: inputs expanded, files read and metadata checked, without a job config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.sources import (
    expand_inputs,
    fingerprint_documents,
    is_date,
    load_metadata,
    read_documents,
    read_text_file,
)


def test_documents_come_from_text_and_jsonl_files_with_side_metadata(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("Putin met Pezeshkian.\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": "x1", "text": "One.", "outlet": "Reuters"}) + "\n"
        + json.dumps({"text": "Two."}) + "\n", encoding="utf-8")
    side = tmp_path / "meta.csv"
    side.write_text("doc_id,outlet,date\nb,TASS,2024-10-11\n", encoding="utf-8")
    files = expand_inputs([str(tmp_path)], [".txt", ".jsonl"])
    assert [f.name for f in files] == ["a.jsonl", "b.txt"]
    calls: list[int] = []
    frame = read_documents(files, load_metadata(str(side)), 1 << 20,
                           advance=lambda: calls.append(1))
    assert frame["doc_id"].tolist() == ["a-2", "b", "x1"]
    assert frame.set_index("doc_id").loc["b", "outlet"] == "TASS"
    assert frame.set_index("doc_id").loc["x1", "outlet"] == "Reuters"
    assert len(calls) == 2
    assert len(fingerprint_documents(frame)) == 16


def test_bad_inputs_are_input_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"  \n")
    with pytest.raises(InputError, match="empty"):
        read_text_file(empty, 1 << 20)
    with pytest.raises(InputError, match="no such file"):
        expand_inputs([str(tmp_path / "missing.txt")], [".txt"])
    assert is_date("2024-10-11") and is_date("October 11, 2024") and not is_date("today")
