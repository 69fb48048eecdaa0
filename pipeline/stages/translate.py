"""translate: non-English sentences → English, with the model recorded per sentence.

Contract: ``sentences`` → ``sentences`` plus ``text_en`` and ``translation_model``. Sentences in
``translate.source_languages`` go through the configured seq2seq model (any transformers id or
local folder: Marian/opus-mt, NLLB, M2M); sentences already in the target language keep their
text as ``text_en`` with an empty ``translation_model``. When the model cannot be loaded the stage
warns once, leaves ``text_en`` empty for those sentences and the job goes on: alignment then
works cross-lingually on the multilingual embeddings alone. A model folder that asks to run code
of its own is the exception: it stops the job (`RemoteCodeRefused`, exit 4), and so does a
backend whose package is not installed (`BackendUnavailable`, exit 2).

Backends (``translate.backend``) come from :data:`pipeline.registry.TRANSLATE_BACKENDS`; the
config keys a backend declares in ``key_fields`` (ctranslate2: ``compute_type``) join the key.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

from pipeline.base import Stage, StageContext, Tables
from pipeline.config import TranslateConfig
from pipeline.data import DETECTED_SENTENCES, SENTENCES, contract
from pipeline.errors import ModelUnavailableError
from pipeline.models.paths import folder_fingerprint, resolve_model
from pipeline.models.remote_code import RemoteCodeRefused
from pipeline.registry import TRANSLATE_BACKENDS

#: Translators (or the error of a model that cannot load) by settings, kept for the life of the
#: process: an executor runs this stage once per shard, and a Ray actor runs many shards.
_LOADED: dict[str, Any] = {}


def load_once(config: TranslateConfig, options: dict[str, Any]) -> Any:
    """The translator for ``config``, loaded at most once per process (failures included)."""
    path = resolve_model(config.model)
    on_disk = folder_fingerprint(path) if os.path.isdir(path) else None  # rebuilt or new folder
    backend = TRANSLATE_BACKENDS.get(config.backend)
    settings = {field: getattr(config, field) for field in backend.key_fields}
    key = json.dumps([config.backend, path, on_disk, settings, options], sort_keys=True)
    if key not in _LOADED:
        factory = TRANSLATE_BACKENDS.factory(config.backend)  # not installed: the job stops
        try:
            _LOADED[key] = factory(path, config, **options)
        except ModelUnavailableError as error:
            _LOADED[key] = error
        while len(_LOADED) > 2:
            _LOADED.pop(next(iter(_LOADED)))
    loaded = _LOADED[key]
    if isinstance(loaded, ModelUnavailableError):
        raise loaded
    return loaded


class Translate(Stage):
    name: ClassVar[str] = "translate"
    reads = contract(sentences=DETECTED_SENTENCES)
    writes = contract(sentences=SENTENCES)
    per_document = True
    loads_model = True

    def key_parts(self) -> dict[str, Any]:
        # A model that becomes available (or changes on disk) must invalidate the cache.
        config = self.job.translate
        parts: dict[str, Any] = {
            "model_path": resolve_model(config.model), "backend": config.backend}
        for field in TRANSLATE_BACKENDS.get(config.backend).key_fields:
            parts[field] = getattr(config, field)
        return parts

    def run(self, tables: Tables, context: StageContext) -> Tables:
        config = self.job.translate
        sentences = tables["sentences"].copy()
        is_target = sentences["lang"] == config.target_language
        sentences["text_en"] = sentences["text"].where(is_target, "")
        sentences["translation_model"] = ""
        todo = sentences.index[sentences["lang"].isin(config.source_languages) & ~is_target]
        context.stats["to_translate"] = len(todo)
        context.stats["translated"] = 0
        if not config.enabled or len(todo) == 0:
            return {"sentences": sentences}
        options: dict[str, Any] = {
            "tgt_lang": config.target_language,
            "batch_size": config.batch_size,
            "max_length": config.max_length,
            "num_beams": config.num_beams,
        }
        try:
            translator = load_once(config, options)
        except RemoteCodeRefused:
            raise  # a folder that ships code is refused, not skipped: the job stops (exit 4)
        except ModelUnavailableError as error:
            context.logger.warning(
                "translate: %s — %d sentences left untranslated; alignment continues "
                "cross-lingually", error, len(todo)
            )
            context.stats["translation_error"] = str(error)
            context.cacheable = False
            return {"sentences": sentences}
        context.progress.total(len(todo))
        by_lang = sentences.loc[todo].groupby("lang", sort=True)
        for lang, group in by_lang:
            outputs = translator.translate(group["text"].tolist(), src_lang=str(lang),
                                           progress=context.progress.advance)
            sentences.loc[group.index, "text_en"] = outputs
            sentences.loc[group.index, "translation_model"] = config.model
        context.stats["translated"] = len(todo)
        return {"sentences": sentences}
