"""A hand-made ``quotes`` table for the seed corpus (the QUOTES schema), for the trace tests.

Every quote is a verbatim span of a real seed article, attributed by hand. The quotes are
located in a job's ``sentences`` table (the sentence(s) containing them) and in the raw file
(``char_start``/``char_end``), so the table fits whatever run produced ``sentences``.
"""

from __future__ import annotations

import unicodedata

import pandas as pd

from pipeline.data import QUOTES

PUTIN, PEZESHKIAN, USHAKOV = "Vladimir Putin", "Masoud Pezeshkian", "Yury Ushakov"
DW, TRT, VI, KYIV = ("000_e58e8371168de39d", "002_833abf2e5c5bff94", "003_9bed0cba9f35e0be",
                     "004_7ee3f8304d59a0ac")
INDIA = "001_21547f29396abde5"

#: (doc, text, lang, direct, cue, speaker_mention, speaker, cited_source)
SEED_QUOTES = [
    (DW, "Moscow and Tehran's positions on international events were often similar", "en",
     False, "told", "Putin", PUTIN, "TASS"),
    (DW, "Relations with Iran are a priority for us, and they are developing very well. We are "
         "seeing a growth in the volume of trade this year,", "en", True, "said", "Putin",
     PUTIN, None),
    (DW, "economically and culturally, our communications are being strengthened day by day and "
         "becoming more robust.", "en", True, "said", "Pezeshkian", PEZESHKIAN, None),
    (INDIA, "As well as, of course, discussing the sharply escalated situation in the Middle "
            "East,", "en", True, "added", "Ushakov", USHAKOV, None),
    (TRT, "We actively work together in the international arena, and our assessments of "
          "current events in the world are often very close.", "en", True, "quoted as telling",
     "Putin", PUTIN, None),
    (TRT, "Our positions in the world are much closer to each other than to others.", "en", True,
     "said", "the Iranian president", PEZESHKIAN, None),
    (VI, "Quan hệ Iran-Nga mang tính chiến lược và chân thành. Sự hợp tác của chúng tôi đang "
         "ngày càng mạnh mẽ hơn trong các lĩnh vực kinh tế và văn hóa.", "vi", True, "tuyên bố",
     "Tổng thống Pezeshkian", PEZESHKIAN, "TASS"),
    (VI, "Chúng tôi đang tích cực hợp tác trên trường quốc tế và đánh giá của chúng tôi về các "
         "sự kiện hiện tại trên thế giới thường rất gần gũi.", "vi", True, "nói", "Ông", PUTIN,
     None),
    (KYIV, "We actively work together in the international arena and our assessments of events "
           "in the world are often very close", "en", False, "said",
     "the illegitimate head of the Kremlin", PUTIN, None),
    (KYIV, "We have never approved of Russian aggression against Ukrainian territory", "en",
     False, "said", "Pezeshkiyan", PEZESHKIAN, None),
]


def quote_key(doc_id: str, n: int) -> str:
    return f"{doc_id}:q{n:03d}"


def build_quotes(sentences: pd.DataFrame, raw_texts: dict[str, str]) -> pd.DataFrame:
    """The seed quotes located in ``sentences`` and the raw files, as a QUOTES table."""
    rows = []
    per_doc: dict[str, int] = {}
    for doc, text, lang, direct, cue, mention, speaker, cited in SEED_QUOTES:
        text = unicodedata.normalize("NFC", text)
        doc_sentences = sentences[sentences["doc_id"] == doc]
        holding = doc_sentences[doc_sentences["text"].str.contains(text[:40], regex=False)]
        assert len(holding), f"quote not found in {doc}: {text[:40]!r}"
        sentence = holding.iloc[0]
        raw = unicodedata.normalize("NFC", raw_texts[doc])
        start = raw.find(text, int(sentence["char_start"]) - 5)
        assert start >= 0, f"quote not in the raw text of {doc}: {text[:40]!r}"
        n = per_doc[doc] = per_doc.get(doc, -1) + 1
        rows.append({
            "quote_id": quote_key(doc, n), "doc_id": doc, "sent_ids": [sentence["sent_id"]],
            "char_start": start, "char_end": start + len(text), "text": text, "lang": lang,
            "direct": direct, "cue": cue, "speaker_mention": mention, "speaker": speaker,
            "cited_source": cited,
        })
    return pd.DataFrame(rows, columns=[field.name for field in QUOTES])
