from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
import yaml

from runwatch.config import Config, default_config_text, find_config_path, load_config
from runwatch.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "runwatch.yaml"
    path.write_text(text)
    return path


def config_error(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), environ or {})
    return str(caught.value)


def test_defaults_load_without_a_file() -> None:
    config = load_config(None, {})
    assert config.listen == "127.0.0.1:8080"
    assert config.sources.procfs.enabled is True
    assert config.outputs.stdout.enabled is True


def test_example_file_documents_every_key_with_its_default() -> None:
    example = yaml.safe_load(default_config_text())
    assert example == msgspec.to_builtins(Config())


def test_unknown_key_names_the_key_and_the_known_ones(tmp_path: Path) -> None:
    message = config_error(tmp_path, "sources:\n  procfs:\n    intervall_s: 2\n")
    assert message.startswith("sources.procfs.intervall_s: unknown key")
    assert "interval_s" in message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    assert config_error(tmp_path, "listenn: 1.2.3.4:80\n").startswith("listenn: unknown key")


def test_wrong_type_names_key_expected_type_and_value(tmp_path: Path) -> None:
    message = config_error(tmp_path, "pipeline:\n  queue_size: lots\n")
    assert message == "pipeline.queue_size: expected int, got 'lots'"


def test_out_of_range_value(tmp_path: Path) -> None:
    message = config_error(tmp_path, "sources:\n  procfs:\n    interval_s: 0\n")
    assert message.startswith("sources.procfs.interval_s: expected float > 0")


def test_bad_choice_lists_the_choices(tmp_path: Path) -> None:
    message = config_error(tmp_path, "rules:\n  rule_matching: some\n")
    assert message == "rules.rule_matching: expected one of first, all, got 'some'"


def test_bad_priority_names_the_output(tmp_path: Path) -> None:
    message = config_error(tmp_path, "outputs:\n  webhook:\n    min_priority: loud\n")
    assert message.startswith("outputs.webhook.min_priority: unknown priority 'loud'")
    assert "Warning" in message


def test_bad_listen_address(tmp_path: Path) -> None:
    assert config_error(tmp_path, "listen: localhost\n").startswith("listen: expected host:port")


def test_enabled_webhook_needs_a_url(tmp_path: Path) -> None:
    message = config_error(tmp_path, "outputs:\n  webhook:\n    enabled: true\n")
    assert message.startswith("outputs.webhook.url: expected an http:// or https:// URL")


def test_bad_store_url(tmp_path: Path) -> None:
    assert config_error(tmp_path, "store:\n  url: mysql://x\n").startswith("store.url: expected")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, "listen: 127.0.0.1:8080\nsources: [\n")
    assert "runwatch.yaml:3" in message and "not valid YAML" in message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert "expected a mapping" in config_error(tmp_path, "- a\n- b\n")


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.yaml", {})


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "listen: 127.0.0.1:9000\nsources:\n  procfs:\n    interval_s: 5\n")
    config = load_config(path, {"RUNWATCH_LISTEN": "127.0.0.1:9001",
                                "RUNWATCH_SOURCES__PROCFS__INTERVAL_S": "0.5",
                                "RUNWATCH_RULES__FILES": "[a.yaml, b.yaml]"})
    assert config.listen == "127.0.0.1:9001"
    assert config.sources.procfs.interval_s == 0.5
    assert config.rules.files == ["a.yaml", "b.yaml"]


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    message = config_error(tmp_path, "", {"RUNWATCH_PIPELINE__BATCH_SIZE": "-3"})
    assert "pipeline.batch_size" in message
    assert "environment variable RUNWATCH_PIPELINE__BATCH_SIZE" in message


def test_unknown_environment_variable_is_an_error(tmp_path: Path) -> None:
    message = config_error(tmp_path, "", {"RUNWATCH_OUTPUT__STDOUT__ENABLED": "false"})
    assert message.startswith("output: unknown key")


def test_flags_override_environment_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "data_dir: /from/file\n")
    config = load_config(path, {"RUNWATCH_DATA_DIR": "/from/env"},
                         {"data_dir": "/from/flag", "outputs.file.enabled": True,
                          "outputs.file.path": "/tmp/alerts.jsonl"})
    assert config.data_dir == "/from/flag"
    assert config.resolved_store_url == "sqlite:////from/flag/runwatch.db"
    assert config.outputs.file.path == "/tmp/alerts.jsonl"


def test_config_path_comes_from_flag_then_environment(tmp_path: Path) -> None:
    flag, env = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert find_config_path(flag, {"RUNWATCH_CONFIG": str(env)}) == flag
    assert find_config_path(None, {"RUNWATCH_CONFIG": str(env)}) == env


def test_config_is_immutable() -> None:
    config = load_config(None, {})
    with pytest.raises(AttributeError):
        config.listen = "0.0.0.0:1"  # type: ignore[misc]
