"""Settings precedence: command-line flags, then environment variables, then ``vecctx.toml``,
then defaults; a bad file is one clear ConfigError."""

from pathlib import Path

import pytest

from vecctx.cli.settings import ENV, Settings, load_settings
from vecctx.contract.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in [*ENV.values(), "VECCTX_CONFIG"]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_without_file_or_environment() -> None:
    assert load_settings() == Settings()


def test_file_then_environment_then_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "vecctx.toml").write_text('store = "memory://"\ncollection = "from-file"\nbudget = 900\n')
    s = load_settings()
    assert (s.store, s.collection, s.budget) == ("memory://", "from-file", 900)
    monkeypatch.setenv("VECCTX_COLLECTION", "from-env")
    monkeypatch.setenv("VECCTX_BUDGET", "1200")
    s = load_settings()
    assert (s.store, s.collection, s.budget) == ("memory://", "from-env", 1200)
    s = s.with_flags(collection="from-flag", store=None)  # None: the flag was not given
    assert (s.store, s.collection, s.budget) == ("memory://", "from-flag", 1200)


def test_config_file_named_by_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text('collection = "named"\n')
    monkeypatch.setenv("VECCTX_CONFIG", str(other))
    assert load_settings().collection == "named"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('colection = "typo"\n', "unknown setting"),
        ("budget = \n", "vecctx.toml"),
        ('budget = "lots"\n', "budget must be an integer"),
    ],
)
def test_bad_file_is_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "vecctx.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings()
