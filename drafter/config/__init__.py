"""Configuration resolved in one place: flag > environment > config file > default.

Usage::

    settings = resolve_settings({"model": None, "out_dir": None}, os.environ, Path.cwd())
    settings.model, settings.origin("model")      # ("gpt-4o-mini", "env DRAFTER_MODEL")

The config file is the nearest ``pyproject.toml`` with a ``[tool.drafter]`` table and/or
``drafter.toml`` (top-level keys), searched from the working directory upward; the search stops at
the filesystem root or at the directory holding ``.git``. When one directory has both, the
``pyproject.toml`` values win over ``drafter.toml``. Secrets never come from a file: API keys and
tracker tokens are read from the environment only and shown masked. Nothing here runs at import
time; the CLI calls :func:`resolve_settings` once per command and passes the frozen result down.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drafter.config.redaction import TOKEN_VARIABLES
from drafter.errors import ConfigError

CONFIG_FILE = "drafter.toml"
PYPROJECT = "pyproject.toml"
DEFAULT_OUT_DIR = "docs/design"
DEFAULT_MAX_CONTEXT = 60_000  # characters of issue thread given to the model

# key -> (environment variable or None, kind, default)
_KEYS: dict[str, tuple[str | None, str, Any]] = {
    "model": ("DRAFTER_MODEL", "str", None),
    "template": ("DRAFTER_TEMPLATE", "str", None),
    "out_dir": ("DRAFTER_OUT_DIR", "str", DEFAULT_OUT_DIR),
    "base_url": ("OPENAI_BASE_URL", "url", None),
    "author": ("DRAFTER_AUTHOR", "str", None),
    "concurrency": ("DRAFTER_CONCURRENCY", "int>=1", 4),
    "max_context": ("DRAFTER_MAX_CONTEXT", "int>=2000", DEFAULT_MAX_CONTEXT),
    "max_wait": ("DRAFTER_MAX_WAIT", "float>=0", 60.0),
    "max_tokens": ("DRAFTER_MAX_TOKENS", "int>=1", None),
    "timeout": ("DRAFTER_TIMEOUT", "int>=1", None),
    "max_retries": ("DRAFTER_MAX_RETRIES", "int>=0", None),
    "prices": (None, "prices", None),
    "no_cache": ("DRAFTER_NO_CACHE", "bool", False),
    "deadline": ("DRAFTER_DEADLINE", "float>=0", None),
}
# Shown masked by `drafter config`, redacted from traces; read from the environment only.
SECRET_VARS = TOKEN_VARIABLES


def mask(value: str) -> str:
    """A secret as ``sk-…abcd`` (long values) or ``***``; never more than 7 characters of it."""
    if len(value) < 16:
        return "***"
    return f"{value[:3]}…{value[-4:]}"


@dataclass(frozen=True)
class Settings:
    """The effective settings of one run, and where each value came from.

    ``origins`` maps each key to ``flag``, ``env NAME``, ``<path> [tool.drafter]``, ``<path>`` or
    ``default``. ``secrets`` maps each configured secret variable to its masked value.
    """

    model: str | None = None
    template: str | None = None
    out_dir: Path = Path(DEFAULT_OUT_DIR)
    base_url: str | None = None
    author: str | None = None
    concurrency: int = 4
    max_context: int = DEFAULT_MAX_CONTEXT
    max_wait: float = 60.0
    max_tokens: int | None = None
    timeout: int | None = None
    max_retries: int | None = None
    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    no_cache: bool = False
    # Seconds for the model's part of each draft (--deadline); None or 0: no deadline.
    deadline: float | None = None
    # The template a run uses without a --template flag (env > config files; None: the built-in).
    # A draft from any other template carries its name in its file name (document.writer).
    default_template: str | None = None
    # The tracker answers' cache (drafter.sources.cache): the user cache folder, None when off.
    cache_dir: Path | None = None
    origins: Mapping[str, str] = field(default_factory=dict)
    config_files: tuple[Path, ...] = ()
    # The user's own config file drafter looked for (read when it exists).
    user_config: Path | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def origin(self, key: str) -> str:
        """Where ``key``'s value came from."""
        return self.origins.get(key, "default")

    def secret_values(self) -> list[str]:
        """The exact values of the configured secrets (for redaction only; never print them)."""
        return [self.env[name] for name in self.secrets if self.env.get(name)]

    def to_dict(self) -> dict[str, Any]:
        """Every key with its value and origin; secrets masked (``drafter config --format json``)."""
        values: dict[str, Any] = {}
        for key in _KEYS:
            value = getattr(self, key)
            if isinstance(value, Path):
                value = str(value)
            elif key == "prices":
                value = {name: list(price) for name, price in value.items()}
            values[key] = {"value": value, "origin": self.origin(key)}
        return {
            "config_files": [str(p) for p in self.config_files],
            "user_config": str(self.user_config) if self.user_config is not None else None,
            "cache_dir": str(self.cache_dir) if self.cache_dir is not None else None,
            "settings": values,
            "secrets": {name: self.secrets.get(name) for name in SECRET_VARS},
        }


def find_config(start: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The nearest config tables, highest precedence first: ``pyproject.toml`` then ``drafter.toml``.

    Searches ``start`` and its parents; stops at the filesystem root or the directory with ``.git``.
    """
    folder = start.resolve()
    while True:
        found: list[tuple[Path, dict[str, Any]]] = []
        pyproject = folder / PYPROJECT
        if pyproject.is_file():
            tool = _load(pyproject).get("tool", {})
            table = tool.get("drafter") if isinstance(tool, dict) else None
            if table is not None:
                if not isinstance(table, dict):
                    raise ConfigError(f"{pyproject}: [tool.drafter] must be a table")
                found.append((pyproject, table))
        own = folder / CONFIG_FILE
        if own.is_file():
            found.append((own, _own_table(_load(own))))
        if found or (folder / ".git").exists() or folder.parent == folder:
            return found
        folder = folder.parent


def _own_table(data: dict[str, Any]) -> dict[str, Any]:
    """A drafter.toml's settings: top-level keys, or the same keys under ``[tool.drafter]``."""
    tool = data.get("tool")
    if set(data) == {"tool"} and isinstance(tool, dict) and isinstance(tool.get("drafter"), dict):
        return dict(tool["drafter"])
    return data


def _load(path: Path) -> dict[str, Any]:
    import tomllib  # only when a config file exists: --help and validate start without it

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", hint="fix the file or remove it") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start})", hint="re-save it as UTF-8 TOML"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"", "0", "false", "no", "off"})


def flag(text: str) -> bool:
    """A yes/no setting read from the environment, parsed one way everywhere: ``1``, ``true``,
    ``yes``, ``on`` are on; empty, ``0``, ``false``, ``no``, ``off`` (any case) are off; anything
    else is off too (a typo must not turn on debugging output)."""
    return text.strip().lower() in TRUE


def _where(path: Path) -> str:
    return f"{path} [tool.drafter]" if path.name == PYPROJECT else str(path)


def _check(key: str, value: Any, kind: str, where: str) -> Any:
    """Validate one file value (already typed by TOML); raise ConfigError naming file and key."""

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where}: '{key}' must be {expected}, got {value!r}", hint="fix the config file")

    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind in ("str", "url"):
        if not isinstance(value, str) or not value.strip():
            raise bad("a non-empty string")
        if kind == "url" and not value.startswith(("http://", "https://")):
            raise bad("an http(s) URL")
        return value.strip()
    if kind.startswith("int"):
        low = int(kind.split(">=")[1])
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise bad(f"a whole number >= {low}")
        return value
    if kind.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
            raise bad("a finite number >= 0")
        return float(value)
    if kind == "prices":
        if not isinstance(value, dict):
            raise bad(
                'a table of MODEL = [input, output] USD per 1M tokens, such as "gpt-4o-mini" = [0.15, 0.6]'
            )
        prices: dict[str, tuple[float, float]] = {}
        for name, pair in value.items():
            ok = (
                isinstance(pair, list)
                and len(pair) == 2
                and all(isinstance(p, int | float) and not isinstance(p, bool) and p >= 0 for p in pair)
            )
            if not ok:
                raise ConfigError(
                    f"{where}: prices.{name} must be [input, output] USD per 1M tokens, got {pair!r}",
                    hint="for example [0.15, 0.6]",
                )
            prices[str(name).lower()] = (float(pair[0]), float(pair[1]))
        return prices
    raise AssertionError(kind)  # pragma: no cover


def _parse_env(key: str, name: str, text: str, kind: str) -> Any:
    text = text.strip()
    if kind == "bool":
        return flag(text)
    if kind in ("str", "url"):
        if kind == "url" and not text.startswith(("http://", "https://")):
            raise ConfigError(f"{name} must be an http(s) URL, got {text!r}", hint=f"fix or unset {name}")
        return text
    low = float(kind.split(">=")[1])
    try:
        number = int(text) if kind.startswith("int") else float(text)
    except ValueError:
        number = None
    if number is None or not math.isfinite(number) or number < low:
        what = "a whole number" if kind.startswith("int") else "a number"
        raise ConfigError(f"{name} must be {what} >= {low:g}, got {text!r}", hint=f"fix or unset {name}")
    return number


def user_config_file(env: Mapping[str, str]) -> Path:
    """The user's own ``drafter.toml``: ``DRAFTER_USER_CONFIG`` if set, else ``drafter.toml`` in
    the platform's config folder (``~/.config/drafter`` on Linux, ``~/Library/Application
    Support/drafter`` on macOS; platformdirs knows each platform's rule, ``XDG_CONFIG_HOME``
    included)."""
    explicit = env.get("DRAFTER_USER_CONFIG", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return platformdirs.user_config_path("drafter", appauthor=False) / CONFIG_FILE


def user_cache_dir(env: Mapping[str, str]) -> Path:
    """Where the tracker answers' cache lives: ``DRAFTER_CACHE_DIR`` if set, else the platform's
    user cache folder (``~/.cache/drafter`` on Linux, honouring ``XDG_CACHE_HOME``;
    ``~/Library/Caches/drafter`` on macOS)."""
    explicit = env.get("DRAFTER_CACHE_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return platformdirs.user_cache_path("drafter", appauthor=False)


def _default_anchor(project: list[tuple[Path, dict[str, Any]]], cwd: Path) -> Path:
    """Where the default ``docs/design`` lives: beside the project's config file, else at the
    repository root (the folder with ``.git``), else in the working directory. Run from
    ``src/pkg/``, drafts still land in the project's ``docs/design/``. In the working directory
    itself the path stays relative, as the user would write it."""
    here = cwd.resolve()
    if project:
        folder = project[0][0].parent.resolve()
        return Path() if folder == here else folder
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return Path() if candidate == here else candidate
    return Path()


def _relative_to_file(key: str, value: Any, path: Path) -> Any:
    """A path in a config file means a path next to that file, wherever drafter runs from: run
    from ``src/pkg/``, ``out_dir = "docs/design"`` still means the repository's ``docs/design``.
    A template is a path when it ends in ``.md`` or names a folder; otherwise it is a name."""
    if key == "out_dir" or (key == "template" and (value.endswith(".md") or "/" in value)):
        candidate = Path(value).expanduser()
        located = candidate if candidate.is_absolute() else path.parent.resolve() / candidate
        return located if key == "out_dir" else str(located)
    return value


def resolve_settings(
    flags: Mapping[str, Any] | None,
    env: Mapping[str, str],
    cwd: Path | None = None,
    *,
    user_config: Path | None = None,
) -> Settings:
    """Resolve every setting: ``flags`` (``None`` = not given) > ``env`` > the repository's config
    file > the user's config file (``user_config``, see :func:`user_config_file`) > default.

    Paths in a config file are relative to that file; paths in flags and the environment are
    relative to the working directory. Raises :class:`ConfigError` for a config file that is not
    valid TOML, has an unknown key or a value of the wrong type, and for an environment variable
    that does not parse.
    """
    flags = flags or {}
    tables = find_config(cwd or Path.cwd())
    project = list(tables)
    if user_config is not None and user_config.is_file():
        tables.append((user_config, _own_table(_load(user_config))))
    from_files: dict[str, tuple[Any, str]] = {}
    for path, table in reversed(tables):  # lowest precedence first, so later ones overwrite
        where = _where(path)
        for key, value in table.items():
            if key not in _KEYS:
                secret = any(word in key.lower() for word in ("key", "token", "secret", "password"))
                hint = (
                    "secrets are read from the environment only (OPENAI_API_KEY, GITHUB_TOKEN, ...)"
                    if secret
                    else f"known keys: {', '.join(_KEYS)}"
                )
                raise ConfigError(f"{where}: unknown key '{key}'", hint=hint)
            checked = _check(key, value, _KEYS[key][1], where)
            from_files[key] = (_relative_to_file(key, checked, path), where)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    unflagged_template: str | None = None
    for key, (var, kind, default) in _KEYS.items():
        if key == "template":
            if var is not None and env.get(var, "").strip():
                unflagged_template = _parse_env(key, var, env[var], kind)
            elif key in from_files:
                unflagged_template = from_files[key][0]
        flag = flags.get(key)
        if flag is not None:
            values[key], origins[key] = flag, "flag"
        elif var is not None and env.get(var, "").strip():
            values[key], origins[key] = _parse_env(key, var, env[var], kind), f"env {var}"
        elif key in from_files:
            values[key], origins[key] = from_files[key]
        else:
            values[key], origins[key] = default, "default"
    if values["prices"] is None:
        values["prices"] = {}
    secrets = {name: mask(env[name].strip()) for name in SECRET_VARS if env.get(name, "").strip()}
    return Settings(
        model=values["model"],
        template=values["template"],
        out_dir=_default_anchor(project, cwd or Path.cwd()) / DEFAULT_OUT_DIR
        if origins["out_dir"] == "default"
        else Path(values["out_dir"]),
        base_url=values["base_url"],
        author=values["author"],
        concurrency=int(values["concurrency"]),
        max_context=int(values["max_context"]),
        max_wait=float(values["max_wait"]),
        max_tokens=values["max_tokens"],
        timeout=values["timeout"],
        max_retries=values["max_retries"],
        prices=values["prices"],
        no_cache=bool(values["no_cache"]),
        deadline=float(values["deadline"]) if values["deadline"] else None,
        default_template=unflagged_template,
        cache_dir=None if values["no_cache"] else user_cache_dir(env),
        origins=origins,
        config_files=tuple(path for path, _ in tables),
        user_config=user_config,
        secrets=secrets,
        env=dict(env),
    )


def git_author() -> str | None:
    """``git config user.name``, if git is installed and it is set."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        return None
    try:
        out = subprocess.run(
            ["git", "config", "user.name"], capture_output=True, text=True, timeout=3, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
