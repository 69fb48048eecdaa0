"""Job configuration: a YAML file → a validated :class:`JobConfig` (:mod:`pipeline.configschema`).

Every section rejects unknown keys and the error lists the valid ones, so a typo such as
``align.treshold`` fails before any work starts. The file is read with bounds (size, no YAML
aliases) and errors quote at most a short excerpt of a bad value. A job config maps one-to-one
onto the list of stages that :mod:`pipeline.runner` executes.
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pipeline.configschema import (  # noqa: F401 — the sections are imported from here
    DEFAULT_DROP_INLINE_PATTERNS,
    DEFAULT_DROP_LINE_PATTERNS,
    RUNTIME_KEYS,
    AlignConfig,
    AttributeConfig,
    CleanConfig,
    DetectConfig,
    EmbedConfig,
    ExecutorConfig,
    IngestConfig,
    JobConfig,
    QuotesConfig,
    Section,
    SegmentConfig,
    TraceConfig,
    TranslateConfig,
)
from pipeline.errors import ConfigError

#: Largest config file read; a job config is a few KiB, so anything near this is hostile.
MAX_CONFIG_BYTES = 1 << 20
#: Longest excerpt of a bad value (or key) quoted in an error message.
EXCERPT_CHARS = 80
#: Validation problems listed in one error; the rest are counted.
MAX_LISTED_ERRORS = 20


def _valid_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at ``loc`` (the parent of the offending key)."""
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            break
    return sorted(model.model_fields)


_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxstring = _REPR.maxother = EXCERPT_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """A short repr of ``value`` for an error message: never the whole of a hostile value."""
    try:
        text = _REPR.repr(value)
    except Exception:  # a repr that fails (or recurses) must not hide the real error
        text = f"<{type(value).__name__}>"
    return clip(text, limit)


def clip(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters (with "..." when cut)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key_text(loc: tuple[Any, ...]) -> str:
    return clip(".".join(str(p) for p in loc))


def format_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid config"]
    items = error.errors()
    for item in items[:MAX_LISTED_ERRORS]:
        loc = tuple(item["loc"])
        key = _key_text(loc)
        if item["type"] == "extra_forbidden":
            valid = ", ".join(_valid_keys(JobConfig, loc[:-1]))
            lines.append(f"  unknown key '{key}'; valid keys here: {valid}")
        else:
            lines.append(f"  '{key}': {clip(str(item['msg']), 200)}")
    if len(items) > MAX_LISTED_ERRORS:
        lines.append(f"  ... and {len(items) - MAX_LISTED_ERRORS} more")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "<config>") -> JobConfig:
    if not isinstance(data, dict):
        got = "an empty document" if data is None else (
            f"a {type(data).__name__}: {excerpt(data)}")
        raise ConfigError(f"{source}: the config must be a YAML mapping (key: value), got {got}")
    try:
        return JobConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, source)) from None


class _NoAliasLoader(yaml.SafeLoader):
    """A SafeLoader that refuses aliases (``*name``).

    Nested aliases expand exponentially (a "billion laughs" config of a few hundred bytes
    grows to gigabytes), and a job config has no need for them.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            raise yaml.composer.ComposerError(
                None, None, f"YAML aliases (*{clip(str(event.anchor), 40)}) are not allowed in "
                "job configs; write the value out", event.start_mark)
        return super().compose_node(parent, index)


def _yaml_error(error: Exception) -> str:
    """One line for a YAML (or YAML-constructor) error: the problem and where it is."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or type(error).__name__
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return f"{where}{clip(problem, 160)}"
    if isinstance(error, yaml.reader.ReaderError):  # a control character: no line to name
        code = error.character if isinstance(error.character, int) else ord(error.character[:1])
        return f"character {error.position + 1}: unacceptable character #x{code:04x}"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return clip(text, 160)


def safe_yaml(text: str) -> Any:
    """Parse ``text`` as YAML without aliases; raises `yaml.YAMLError`, `ValueError` (a number
    or date a constructor rejects) or `RecursionError` (deep nesting)."""
    return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass


def apply_settings(data: dict[str, Any], settings: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings (values parsed as YAML) to a config mapping."""
    for setting in settings:
        dotted, sep, raw = setting.partition("=")
        shown = excerpt(setting)
        if not sep or not dotted.strip():
            raise ConfigError(f"--set {shown}: expected KEY=VALUE, e.g. align.min_margin=1.05")
        try:
            value = safe_yaml(raw)
        except (yaml.YAMLError, ValueError, RecursionError) as error:
            raise ConfigError(
                f"--set {shown}: value is not valid YAML ({_yaml_error(error)})") from None
        *parents, leaf = dotted.strip().split(".")
        node = data
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {shown}: '{clip(part, 40)}' is not a section")
            node = child
        node[leaf] = value
    return data


#: Command-line options behind ``load_config``'s ``overrides``, for error messages.
_OVERRIDE_OPTIONS = {"output": "--output", "inputs": "--input"}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return Path(a) == Path(b)  # "out/" and "out" name one folder
    return bool(a == b)


def _read_config_text(path: Path) -> str:
    size = path.stat().st_size
    with path.open("rb") as handle:
        raw = handle.read(MAX_CONFIG_BYTES + 1)  # the file may grow after stat()
    if max(size, len(raw)) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: config file is too large ({max(size, len(raw)):,} bytes; "
                          f"a job config is at most {MAX_CONFIG_BYTES:,} bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not valid YAML (not UTF-8 text: {error.reason} at byte "
                          f"{error.start})") from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None,
                settings: list[str] | None = None) -> JobConfig:
    """Read and validate a YAML job config.

    ``overrides`` replace top-level keys (None values are ignored) and win over ``settings``,
    ``section.key=value`` strings as ``quotetrace run --set`` passes them: an explicit option
    such as ``--output`` is what the user asked for, so a ``--set`` of the same key to another
    value is a `ConfigError` rather than a silent choice between the two.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found (see configs/ for examples)")
    text = _read_config_text(path)
    try:
        data = safe_yaml(text)
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        raise ConfigError(f"{path}: not valid YAML ({_yaml_error(error)})") from None
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if isinstance(data, dict) and isinstance(data.get("executor"), str):
        data["executor"] = {"name": data["executor"]}  # so --set executor.x=... can extend it
    if isinstance(data, dict) and settings:
        data = apply_settings(data, settings)
        for key, value in given.items():
            for setting in settings:
                dotted = setting.partition("=")[0].strip()
                if dotted.split(".")[0] == key and not _same(data.get(key), value):
                    option = _OVERRIDE_OPTIONS.get(key, f"the command line's {key}")
                    raise ConfigError(f"--set {excerpt(setting)} conflicts with {option} "
                                      f"{excerpt(value)}: give only one of them")
    if isinstance(data, dict) and given:
        data = {**data, **given}
    return parse_config(data, str(path))
