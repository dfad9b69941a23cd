"""Configuration: flag > environment > pyproject.toml [tool.drafter] > drafter.toml > default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.config import mask, resolve_settings
from drafter.errors import ConfigError
from drafter.model.choice import choose_model
from tests.support.paths import EXAMPLE


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository root (has .git) with a sub-folder as the working directory."""
    (tmp_path / ".git").mkdir()
    work = tmp_path / "sub" / "dir"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("flag", "env", "pyproject", "own", "expected", "origin"),
    [
        ("flag-m", "env-m", "py-m", "toml-m", "flag-m", "flag"),
        (None, "env-m", "py-m", "toml-m", "env-m", "env DRAFTER_MODEL"),
        (None, None, "py-m", "toml-m", "py-m", "pyproject.toml [tool.drafter]"),
        (None, None, None, "toml-m", "toml-m", "drafter.toml"),
        (None, None, None, None, None, "default"),
    ],
    ids=["flag", "env", "pyproject", "drafter-toml", "default"],
)
def test_precedence_table(
    repo: Path,
    flag: str | None,
    env: str | None,
    pyproject: str | None,
    own: str | None,
    expected: str | None,
    origin: str,
) -> None:
    write(repo / "pyproject.toml", "[project]\nname = 'x'\n")
    if pyproject:
        write(repo / "pyproject.toml", f"[project]\nname = 'x'\n\n[tool.drafter]\nmodel = '{pyproject}'\n")
    if own:
        write(repo / "drafter.toml", f"model = '{own}'\n")
    settings = resolve_settings({"model": flag}, {"DRAFTER_MODEL": env} if env else {}, Path.cwd())
    assert settings.model == expected
    assert settings.origin("model").endswith(origin)
    if origin != "default" and not origin.startswith(("flag", "env")):
        assert settings.origin("model").startswith(str(repo))


def test_every_key_from_a_file_and_env_overrides(repo: Path) -> None:
    write(
        repo / "drafter.toml",
        """
model = "gpt-4o"
template = "adr"
out_dir = "design"
base_url = "http://localhost:11434/v1"
author = "Ada"
concurrency = 2
max_context = 9000
max_wait = 5
max_tokens = 800
timeout = 30
max_retries = 1
[prices]
"my-model" = [1, 2.5]
""",
    )
    settings = resolve_settings({}, {"DRAFTER_CONCURRENCY": "8", "DRAFTER_MAX_WAIT": "1.5"}, Path.cwd())
    # a path in a config file is relative to the file, not to the working directory (sub/dir)
    assert (settings.model, settings.template, settings.out_dir) == (
        "gpt-4o",
        "adr",
        repo.resolve() / "design",
    )
    assert (settings.author, settings.max_context, settings.max_tokens) == ("Ada", 9000, 800)
    assert (settings.concurrency, settings.max_wait) == (8, 1.5)
    assert settings.origin("concurrency") == "env DRAFTER_CONCURRENCY"
    assert settings.prices == {"my-model": (1.0, 2.5)}
    # the model is chosen from the typed settings, file values included (no environment round trip)
    choice = choose_model(settings)
    assert (choice.name, choice.base_url, choice.max_tokens, choice.timeout, choice.max_retries) == (
        "gpt-4o",
        "http://localhost:11434/v1",
        800,
        30.0,
        1,
    )


def test_search_stops_at_the_repository_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "drafter.toml", "model = 'outside'\n")
    inner = tmp_path / "repo"
    (inner / ".git").mkdir(parents=True)
    monkeypatch.chdir(inner)
    assert resolve_settings({}, {}).model is None


def test_pyproject_without_a_table_is_skipped(repo: Path) -> None:
    write(repo / "sub" / "pyproject.toml", "[project]\nname = 'x'\n")
    write(repo / "pyproject.toml", "[tool.drafter]\nauthor = 'Root'\n")
    settings = resolve_settings({}, {})
    assert settings.author == "Root"
    assert settings.config_files == (repo / "pyproject.toml",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus = 1\n", "unknown key 'bogus'"),
        ("api_key = 'sk-x'\n", "secrets are read from the environment only"),
        ("concurrency = 'four'\n", "'concurrency' must be a whole number >= 1"),
        ("max_context = 100\n", "'max_context' must be a whole number >= 2000"),
        ("base_url = 'localhost'\n", "'base_url' must be an http(s) URL"),
        ("[prices]\nx = [1]\n", "prices.x must be [input, output]"),
        ("model = \n", "is not valid TOML"),
    ],
)
def test_bad_config_names_file_and_key(repo: Path, text: str, message: str) -> None:
    path = write(repo / "drafter.toml", text)
    with pytest.raises(ConfigError) as info:
        resolve_settings({}, {})
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_bad_environment_value() -> None:
    with pytest.raises(ConfigError, match="DRAFTER_CONCURRENCY must be a whole number"):
        resolve_settings({}, {"DRAFTER_CONCURRENCY": "many"})


def test_bad_config_exits_2_with_one_line(repo: Path) -> None:
    write(repo / "pyproject.toml", "[tool.drafter]\nconcurrency = 0\n")
    for args in (["config"], ["from-issue", str(EXAMPLE), "--dry-run"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: ") and "concurrency" in result.stderr
        assert "pyproject.toml" in result.stderr


def test_mask() -> None:
    assert mask("sk-proj-abcdefghijklmnop1234") == "sk-…1234"
    assert mask("short") == "***"


def test_config_command_shows_origins_and_masks_secrets(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(repo / "pyproject.toml", "[tool.drafter]\ntemplate = 'adr'\n")
    key = "sk-proj-abcdefghijklmnop1234"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_0123456789abcdefghij0123456789abcd")
    monkeypatch.setenv("DRAFTER_MODEL", "gpt-4o")
    result = CliRunner().invoke(app, ["config", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["settings"]["template"] == {
        "value": "adr",
        "origin": f"{repo / 'pyproject.toml'} [tool.drafter]",
    }
    assert data["settings"]["model"] == {"value": "gpt-4o", "origin": "env DRAFTER_MODEL"}
    # the default folder is the project's (beside its config file), wherever drafter runs from
    assert data["settings"]["out_dir"] == {"value": str(repo.resolve() / "docs/design"), "origin": "default"}
    # unset values show what a run would use, and why
    assert data["settings"]["base_url"] == {"value": "https://api.openai.com/v1", "origin": "default"}
    assert data["settings"]["max_retries"] == {"value": 3, "origin": "default"}
    assert data["secrets"]["OPENAI_API_KEY"] == "sk-…1234"
    assert data["secrets"]["GITLAB_TOKEN"] is None
    text = CliRunner().invoke(app, ["config"])
    assert text.exit_code == 0
    assert key not in text.stdout + result.stdout
    assert "ghp_0123456789" not in text.stdout
    assert "(env DRAFTER_MODEL)" in text.stdout


def test_commands_take_their_defaults_from_the_config(repo: Path) -> None:
    write(repo / "drafter.toml", "out_dir = 'designs'\ntemplate = 'adr'\nauthor = 'Config Author'\n")
    result = CliRunner().invoke(app, ["from-issue", str(EXAMPLE), "--model", "offline"])
    assert result.exit_code == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.parent == repo.resolve() / "designs"  # next to the config file, not in sub/dir
    text = path.read_text(encoding="utf-8")
    assert "Config Author" in text
    # a flag still wins over the file
    flagged = CliRunner().invoke(
        app, ["from-issue", str(EXAMPLE), "--model", "offline", "--out-dir", "elsewhere", "--force"]
    )
    assert flagged.exit_code == 0, flagged.stderr
    assert Path(flagged.stdout.strip()).parent == Path("elsewhere")


def test_env_out_dir_still_works(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAFTER_OUT_DIR", "from-env")
    result = CliRunner().invoke(app, ["from-issue", str(EXAMPLE), "--model", "offline"])
    assert result.exit_code == 0, result.stderr
    assert Path(result.stdout.strip()).parent == Path("from-env")


def test_paths_in_a_config_file_are_relative_to_it(repo: Path) -> None:
    write(repo / "drafter.toml", "out_dir = 'docs/design'\ntemplate = '.drafter/templates/team.md'\n")
    settings = resolve_settings({"model": None}, {"DRAFTER_TEMPLATE": ""}, Path.cwd())
    assert settings.out_dir == repo.resolve() / "docs" / "design"
    assert settings.template == str(repo.resolve() / ".drafter" / "templates" / "team.md")
    named = write(repo / "drafter.toml", "template = 'adr'\nout_dir = '/abs/place'\n")
    settings = resolve_settings({}, {}, Path.cwd())
    assert (settings.template, settings.out_dir) == ("adr", Path("/abs/place"))  # a name stays a name
    assert named.exists()
    # flags and the environment stay relative to the working directory
    settings = resolve_settings({"out_dir": Path("here")}, {}, Path.cwd())
    assert settings.out_dir == Path("here")
    settings = resolve_settings({}, {"DRAFTER_OUT_DIR": "there"}, Path.cwd())
    assert settings.out_dir == Path("there")


def test_from_a_subfolder_drafts_land_next_to_the_config(repo: Path) -> None:
    write(repo / "pyproject.toml", "[tool.drafter]\nout_dir = 'docs/design'\n")
    result = CliRunner().invoke(app, ["from-issue", str(EXAMPLE), "--model", "offline"])
    assert result.exit_code == 0, result.stderr
    assert Path(result.stdout.strip()).parent == repo.resolve() / "docs" / "design"
    assert not (Path.cwd() / "docs").exists()


def test_the_user_config_sits_below_the_repository_config(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = write(tmp_path / "user.toml", "author = 'From User'\nmodel = 'offline'\nconcurrency = 9\n")
    write(repo / "drafter.toml", "concurrency = 2\n")
    settings = resolve_settings({}, {}, Path.cwd(), user_config=user)
    assert (settings.author, settings.model, settings.concurrency) == ("From User", "offline", 2)
    assert settings.origin("author") == str(user)
    assert settings.config_files[-1] == user
    # the CLI finds it through DRAFTER_USER_CONFIG (else the platform's config folder)
    monkeypatch.setenv("DRAFTER_USER_CONFIG", str(user))
    data = json.loads(CliRunner().invoke(app, ["config", "-f", "json"]).stdout)
    assert data["settings"]["author"] == {"value": "From User", "origin": str(user)}
    assert data["user_config"] == str(user)
    # a broken user config is one line, exit 2
    write(user, "author = [\n")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 2
    assert str(user) in result.stderr and "Traceback" not in result.output


def test_user_config_file_defaults_to_the_platform_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drafter.config import user_config_file

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert user_config_file({}).parent.name == "drafter"
    assert user_config_file({"DRAFTER_USER_CONFIG": "~/x.toml"}) == Path("~/x.toml").expanduser()


def test_config_text_shows_no_bare_dashes() -> None:
    text = CliRunner().invoke(app, ["config"]).stdout
    assert "  -  " not in text
    assert "model" in text and "default: no OPENAI_API_KEY" in text


def test_the_tracker_cache_is_on_by_default_and_off_by_flag_env_or_file(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drafter.sources import SourceSettings

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-home"))
    settings = resolve_settings({}, {}, Path.cwd())
    assert settings.cache_dir is not None and settings.cache_dir.name == "drafter"
    assert SourceSettings.from_settings(settings).cache_dir == settings.cache_dir
    assert (
        resolve_settings({}, {"DRAFTER_CACHE_DIR": str(tmp_path / "c")}, Path.cwd()).cache_dir
        == tmp_path / "c"
    )
    assert resolve_settings({"no_cache": True}, {}, Path.cwd()).cache_dir is None
    off = resolve_settings({}, {"DRAFTER_NO_CACHE": "1"}, Path.cwd())
    assert off.cache_dir is None and off.origin("no_cache") == "env DRAFTER_NO_CACHE"
    assert resolve_settings({}, {"DRAFTER_NO_CACHE": "0"}, Path.cwd()).cache_dir is not None
    write(repo / "drafter.toml", "no_cache = true\n")
    assert resolve_settings({}, {}, Path.cwd()).cache_dir is None
    assert SourceSettings.from_settings(resolve_settings({}, {}, Path.cwd())).cache_dir is None
    write(repo / "drafter.toml", "no_cache = 'yes'\n")
    with pytest.raises(ConfigError, match="'no_cache' must be true or false"):
        resolve_settings({}, {}, Path.cwd())


def test_no_cache_flag_is_accepted_by_every_fetching_command() -> None:
    for command in ("from-issue", "fetch", "batch", "review", "redraft", "status", "eval"):
        assert "--no-cache" in CliRunner().invoke(app, [command, "--help"]).stdout, command
    result = CliRunner().invoke(app, ["fetch", str(EXAMPLE), "--no-cache", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["title"]


@pytest.mark.parametrize("config", [None, "pyproject.toml", "drafter.toml"])
def test_the_default_out_dir_is_the_projects_from_any_subfolder(repo: Path, config: str | None) -> None:
    """`drafter init` writes a config whose keys are all commented out: the default docs/design
    still belongs to the project (the config's folder, else the repository root), not to src/pkg."""
    if config is not None:
        write(repo / config, "# model = 'gpt-4o-mini'\n")
    settings = resolve_settings({}, {}, Path.cwd())
    assert settings.out_dir == repo.resolve() / "docs" / "design"
    assert settings.origin("out_dir") == "default"
    at_root = resolve_settings({}, {}, repo)
    assert at_root.out_dir == Path("docs/design")  # in the project's folder: relative, as typed
