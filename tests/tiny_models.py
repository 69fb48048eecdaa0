"""Tiny, randomly initialised models built offline for tests (no hub, no external files).

The models are meaningless (random weights) but have the real folder layouts, so the code under
test loads them exactly as it loads Helsinki-NLP/opus-mt-* or intfloat/multilingual-e5-small.
Everything is seeded, so two builds give byte-identical weights and the same outputs.
"""

from __future__ import annotations

import io
import json
import random
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

_VI_TEXT = (
    "tôi bạn chúng ta họ anh chị ông bà người dân chính phủ thành phố Hà Nội Sài Gòn Việt Nam "
    "nói rằng hôm nay ngày mai năm nay tháng trước kinh tế phát triển tăng trưởng giá xăng dầu "
    "thị trường chứng khoán ngân hàng lãi suất doanh nghiệp xuất khẩu nhập khẩu "
    "bộ trưởng thủ tướng "
    "quốc hội báo cáo cho biết khẳng định đã đang sẽ không có là của và với trong ngoài được bị "
    "những các một hai ba nhiều ít mới cũ lớn nhỏ tốt xấu đường giao thông mưa bão lũ lụt miền "
    "Bắc Trung Nam học sinh giáo dục bệnh viện sức khỏe điện nước an toàn"
)

_EN_TEXT = (
    "I you we they he she the people government city Hanoi Saigon Vietnam said that today "
    "tomorrow this year last month economy growth develop price fuel oil stock market "
    "bank interest "
    "rate business export import minister prime parliament report stated confirmed has is will not "
    "have be of and with in out was were many few new old large small good bad road traffic rain "
    "storm flood north central south students education hospital health electricity water safety"
)
#: Shared size of the tiny random seq2seq models. A wide init makes a random model's output
#: depend on its input (at the default 0.02 every input decodes to the same string), so order
#: and batching bugs show in tests.
TINY_SEQ2SEQ = {
    "d_model": 32, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
    "decoder_attention_heads": 2, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64, "init_std": 1.0,
}
#: Mixed vi/en inputs of different lengths for the translation tests.
SAMPLE_TEXTS = [
    "Chính phủ nói rằng hôm nay giá xăng dầu tăng mạnh ở Hà Nội.",
    "Bộ trưởng khẳng định.",
    "The minister said that the economy is growing.",
    "Mưa bão ở miền Trung.",
    "Ngân hàng",
]
_VI_WORDS = _VI_TEXT.split()
_EN_WORDS = _EN_TEXT.split()


def generate_corpus(n_lines: int = 300, seed: int = 0) -> list[str]:
    """Mixed Vietnamese/English lines from fixed word lists (deterministic for a given seed)."""
    rng = random.Random(seed)
    lines = []
    for i in range(n_lines):
        words = _VI_WORDS if i % 2 == 0 else _EN_WORDS
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
        end = rng.choice([".", ".", ".", "?", "!"])
        if rng.random() < 0.2:
            sentence = f"“{sentence}”"
        lines.append(sentence[0].upper() + sentence[1:] + end)
    return lines


def build_tiny_marian(out_dir: Path) -> Path:
    """Build a random MarianMT (d_model 32, 1+1 layers) and its tokenizer into ``out_dir``.

    Follows docs/environment.md: a sentencepiece model with Marian's ids (eos 0, unk 1, no bos, no
    pad), ``<pad>`` appended as the last vocab id, ``decoder_start_token_id`` = pad. The generation
    config caps ``max_length`` at 16 so a random model stops quickly, and forbids ``<unk>`` and
    ``<pad>``, and suppresses ``</s>`` at the first step so every output decodes non-empty.
    """
    import sentencepiece as spm
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spm_buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(generate_corpus()),
        model_writer=spm_buffer,
        model_type="unigram",
        vocab_size=400,
        hard_vocab_limit=False,
        character_coverage=1.0,
        eos_id=0,
        unk_id=1,
        bos_id=-1,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    spm_bytes = spm_buffer.getvalue()
    for name in ("source.spm", "target.spm"):
        (out_dir / name).write_bytes(spm_bytes)
    processor = spm.SentencePieceProcessor(model_proto=spm_bytes)
    vocab = {processor.id_to_piece(i): i for i in range(processor.get_piece_size())}
    pad_id = len(vocab)
    vocab["<pad>"] = pad_id
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")

    tokenizer = MarianTokenizer(
        str(out_dir / "source.spm"),
        str(out_dir / "target.spm"),
        str(out_dir / "vocab.json"),
        source_lang="vi",
        target_lang="en",
        model_max_length=512,
    )
    ids = {"pad_token_id": pad_id, "eos_token_id": 0, "decoder_start_token_id": pad_id}
    config = MarianConfig(
        vocab_size=len(vocab),
        **TINY_SEQ2SEQ,
        max_position_embeddings=512,
        forced_eos_token_id=0,
        **ids,
    )
    torch.manual_seed(0)
    model = MarianMTModel(config).eval()
    model.generation_config = GenerationConfig(
        **ids,
        forced_eos_token_id=0,
        max_length=16,
        num_beams=1,
        do_sample=False,
        bad_words_ids=[[1], [pad_id]],
        begin_suppress_tokens=[0],
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def build_tiny_sentence_transformer(out_dir: Path) -> Path:
    """Build a random BERT (hidden 32, 2 layers) as a sentence-transformers folder in ``out_dir``.

    Modules: Transformer -> mean Pooling -> Normalize, with e5-style prompts ("query: ",
    "passage: "), so ``SentenceTransformer(str(out_dir), device="cpu")`` loads it offline. The
    WordPiece tokenizer's vocab is counted from generated en+vi text and keeps Vietnamese
    diacritics.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out_dir = Path(out_dir)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    # "Training" by counting: tokenizers' WordPieceTrainer breaks ties in hash-map order, so its
    # vocab differs from run to run. Whole words by frequency plus every character (as a word
    # start and as a ``##`` continuation) gives a deterministic vocab that covers the corpus.
    counts: Counter[str] = Counter()
    for line in generate_corpus():
        words = pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(line))
        counts.update(word for word, _ in words)
    chars = sorted({ch for word in counts for ch in word})
    pieces = specials + chars + [f"##{ch}" for ch in chars]
    pieces += [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if len(w) > 1]
    tok = Tokenizer(models.WordPiece({p: i for i, p in enumerate(pieces)}, unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.WordPiece()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[(t, tok.token_to_id(t)) for t in ("[CLS]", "[SEP]")],
    )
    hf_tokenizer = BertTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=tok.token_to_id("[PAD]"),
    )
    torch.manual_seed(0)
    bert = BertModel(config).eval()
    with tempfile.TemporaryDirectory() as tmp:
        bert.save_pretrained(tmp)
        hf_tokenizer.save_pretrained(tmp)
        transformer = Transformer(tmp, max_seq_length=128)
        model = SentenceTransformer(
            modules=[transformer, Pooling(32, "mean"), Normalize()],
            device="cpu",
            prompts={"query": "query: ", "passage": "passage: "},
        )
        model.save(str(out_dir))
    return out_dir


def build_tiny_nllb(out_dir: Path) -> Path:
    """Build a random NLLB-style model (M2M100 architecture, NLLB tokenizer) into ``out_dir``.

    The tokenizer has only the four specials and the NLLB language codes ("vie_Latn", ...), so
    words tokenize to ``<unk>``: it exists to test language-code handling, not translation.
    """
    from transformers import NllbTokenizer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = NllbTokenizer(src_lang="eng_Latn")
    tokenizer.save_pretrained(out_dir)
    _save_tiny_m2m100_model(out_dir, len(tokenizer), tokenizer)
    return out_dir


def build_tiny_m2m(out_dir: Path) -> Path:
    """Build a random M2M100 model and tokenizer ("__vi__"-style language codes) into ``out_dir``.

    Reuses the tiny Marian sentencepiece model, with fairseq's specials in front of its pieces.
    """
    import sentencepiece as spm
    from transformers import M2M100Tokenizer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        marian = build_tiny_marian(Path(tmp))
        spm_bytes = (marian / "source.spm").read_bytes()
    (out_dir / "sentencepiece.bpe.model").write_bytes(spm_bytes)
    processor = spm.SentencePieceProcessor(model_proto=spm_bytes)
    pieces = ["<s>", "<pad>", "</s>", "<unk>"]
    pieces += [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    vocab: dict[str, int] = {}
    for piece in pieces:
        vocab.setdefault(piece, len(vocab))
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = M2M100Tokenizer(
        str(out_dir / "vocab.json"), str(out_dir / "sentencepiece.bpe.model"), src_lang="en"
    )
    tokenizer.save_pretrained(out_dir)
    # Language tokens ("__vi__") and fairseq's "madeup words" sit after the sentencepiece vocab.
    vocab_size = len(vocab) + len(tokenizer.lang_code_to_id) + tokenizer.num_madeup_words
    _save_tiny_m2m100_model(out_dir, vocab_size, tokenizer)
    return out_dir


def _save_tiny_m2m100_model(out_dir: Path, vocab_size: int, tokenizer: Any) -> None:
    import torch
    from transformers import GenerationConfig, M2M100Config, M2M100ForConditionalGeneration

    ids = {
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "decoder_start_token_id": tokenizer.eos_token_id,
    }
    config = M2M100Config(
        vocab_size=vocab_size,
        **TINY_SEQ2SEQ,
        max_position_embeddings=128,
        **ids,
    )
    torch.manual_seed(0)
    model = M2M100ForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(**ids, max_length=16, num_beams=1, do_sample=False)
    model.save_pretrained(out_dir)
