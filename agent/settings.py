"""recbot's settings: one object, built once at the edge (CLI/TUI) and passed down.

Where a value comes from, first match wins: a command-line flag, then the environment
(``RECBOT_*``, and ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` for the OpenAI backend), then
the config file, then the defaults below. The config file is ``config.json`` in the
platform's user config dir (``~/.config/recbot`` on Linux; ``RECBOT_CONFIG_DIR`` moves
it); a ``config.json`` in the data dir, where older versions kept it, is still read
beneath it. ``RECBOT_DATA_DIR`` moves the data only. A config file that is not a JSON
object of known settings is a ``ConfigError`` naming the file: nothing runs on a guess.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

ENV_PREFIX = "RECBOT_"
LLM_MODES = ("auto", "compact", "full")
RANKER_ENGINES = ("implicit", "spark")
CHROMA_AUTH_HEADERS = ("Authorization", "X-Chroma-Token")
# chromadb's DEFAULT_TENANT / DEFAULT_DATABASE, spelled out: settings must not import chromadb
CHROMA_DEFAULT_TENANT = "default_tenant"
CHROMA_DEFAULT_DATABASE = "default_database"
CONFIG_FILE = "config.json"
MAX_LLM_TIMEOUT = 86_400.0   # a day: beyond it the clocks and sockets underneath overflow


class ConfigError(ValueError):
    """A config file or setting that cannot be used; one line naming it and the fix."""


def default_config_dir(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(ENV_PREFIX + "CONFIG_DIR"):
        return Path(env[ENV_PREFIX + "CONFIG_DIR"]).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("recbot", appauthor=False))


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("recbot", appauthor=False))


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    """Where all state lives: models, indexes, sessions, downloaded datasets (RECBOT_DATA_DIR)."""

    dataset: str = "builtin"
    """Which ratings/catalog to use: "builtin", a fetched name, a directory or a zip
    (RECBOT_DATASET, or `recbot data use`)."""

    datasets_url: str = "https://files.grouplens.org/datasets/movielens"
    """Where `recbot data fetch` downloads GroupLens sets from (RECBOT_DATASETS_URL)."""

    chroma_url: str | None = None
    """A Chroma server (http://host:port) instead of the local store in the data dir
    (RECBOT_CHROMA_URL)."""

    chroma_token: str | None = field(default=None, repr=False)
    """A token for a Chroma server that asks for one (RECBOT_CHROMA_TOKEN); never logged
    or shown."""

    chroma_auth_header: str = "Authorization"
    """How the token is sent: "Authorization" (as ``Bearer <token>``) or "X-Chroma-Token"
    (RECBOT_CHROMA_AUTH_HEADER); the server's CHROMA_AUTH_TOKEN_TRANSPORT_HEADER."""

    chroma_tenant: str = CHROMA_DEFAULT_TENANT
    """The tenant on the Chroma server (RECBOT_CHROMA_TENANT); it must exist."""

    chroma_database: str = CHROMA_DEFAULT_DATABASE
    """The database in that tenant (RECBOT_CHROMA_DATABASE); it must exist."""

    whisper_model: str | None = None
    """Whisper model: a size name faster-whisper has cached ("base.en") or a local
    CTranslate2 directory; default the bundled tiny.en (RECBOT_WHISPER_MODEL)."""

    whisper_language: str | None = None
    """The speech's language for transcription ("es"; RECBOT_WHISPER_LANGUAGE); default
    detected per file (tiny.en for English, the multilingual base for the rest)."""

    embed_model: str | None = None
    """A sentence-transformers model directory; default the bundled all-MiniLM-L6-v2
    (RECBOT_EMBED_MODEL)."""

    llm: str = "auto"
    """LLM backend: "openai" (any OpenAI-compatible server), "local" (embedded GGUF through
    llama-cpp-python), "none", or "auto": openai when a base URL is set, else none
    (RECBOT_LLM)."""

    llm_base_url: str | None = None
    """OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1 for Ollama
    (RECBOT_LLM_BASE_URL)."""

    llm_model: str | None = None
    """Model name on that server (RECBOT_LLM_MODEL); default gpt-4o-mini on api.openai.com,
    else the server's only model (required when it serves several).
    For the local backend: a GGUF path or a bundled model key (RECBOT_LLM_MODEL)."""

    llm_api_key: str | None = None
    """API key for the server (OPENAI_API_KEY or RECBOT_LLM_API_KEY)."""

    llm_timeout: float = 30.0
    """Seconds before an LLM call is abandoned and the deterministic answer is used
    (RECBOT_LLM_TIMEOUT)."""

    llm_mode: str = "auto"
    """How the LLM takes part: "compact" (one call choosing films and the fact that leads
    each explanation; for small, slow models), "full" (a rerank call, then reasons the model
    phrases itself, checked against the evidence), or "auto": compact for the local
    backend, full for openai (RECBOT_LLM_MODE)."""

    ranker_engine: str = "implicit"
    """Who trains the MF model the chat and `recbot rank` use: "implicit" (in-process) or
    "spark" (Spark MLlib ALS, `pip install 'recbot[spark]'` and Java 17; the trained model
    is cached like the other and serves the chat without Spark) (RECBOT_RANKER_ENGINE)."""

    spark_master: str | None = None
    """Where Spark trains: local[*] (the default), a cluster (spark://host:7077, yarn,
    k8s://…) or Spark Connect (sc://host:15002) (RECBOT_SPARK_MASTER)."""

    @property
    def sessions_path(self) -> Path:
        return self.data_dir / "sessions.sqlite"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ingest.sqlite"

    @property
    def plots_path(self) -> Path:
        """The user's plot text (``recbot data enrich``), for every dataset: MovieLens sets
        share their movieIds."""
        return self.data_dir / "plots.csv"

    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    config_path: Path = field(default_factory=lambda: default_config_dir() / CONFIG_FILE)
    """The config file read at start and written by ``recbot data use`` (RECBOT_CONFIG_DIR)."""

    @classmethod
    def load(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        """Defaults < config file (the data dir's old one beneath it) < environment <
        explicit overrides (flags). Raises ConfigError for a malformed file or value."""
        env = os.environ if env is None else env
        overrides = {k: v for k, v in overrides.items() if v is not None}
        config_path = default_config_dir(env) / CONFIG_FILE
        config = read_config(config_path)
        data_dir = Path(overrides.pop("data_dir", None) or env.get(ENV_PREFIX + "DATA_DIR")
                        or config.get("data_dir") or default_data_dir()).expanduser()
        values: dict = read_config(data_dir / CONFIG_FILE)   # the legacy place, beneath
        values.update(config)
        values.update(data_dir=data_dir, config_path=config_path)
        for name in ("dataset", "datasets_url", "chroma_url", "chroma_token",
                     "chroma_auth_header", "chroma_tenant", "chroma_database", "whisper_model",
                     "whisper_language", "embed_model", "llm", "llm_base_url", "llm_model", "llm_api_key",
                     "llm_timeout", "llm_mode", "ranker_engine", "spark_master"):
            if ENV_PREFIX + name.upper() in env:
                values[name] = env[ENV_PREFIX + name.upper()]
        # The OpenAI client's own variables, beneath recbot's
        if ENV_PREFIX + "LLM_BASE_URL" not in env and env.get("OPENAI_BASE_URL"):
            values["llm_base_url"] = env["OPENAI_BASE_URL"]
        if ENV_PREFIX + "LLM_API_KEY" not in env and env.get("OPENAI_API_KEY"):
            values["llm_api_key"] = env["OPENAI_API_KEY"]
        if "llm_timeout" in values:
            where = "RECBOT_LLM_TIMEOUT" if ENV_PREFIX + "LLM_TIMEOUT" in env else "llm_timeout"
            values["llm_timeout"] = llm_timeout_seconds(values["llm_timeout"], where)
        if values.get("llm_mode", "auto") not in LLM_MODES:
            raise ConfigError(f"llm_mode must be one of {', '.join(LLM_MODES)}, "
                             f"not {values['llm_mode']!r}")
        if values.get("ranker_engine", "implicit") not in RANKER_ENGINES:
            raise ConfigError(f"ranker_engine must be one of {', '.join(RANKER_ENGINES)}, "
                              f"not {values['ranker_engine']!r}")
        values.update(overrides)
        _check_chroma(values)
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in values.items() if k in known})

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)


CONFIG_KEYS = ("data_dir", "dataset", "datasets_url", "chroma_url", "whisper_model",
               "whisper_language",
               "embed_model", "llm", "llm_base_url", "llm_model", "llm_api_key", "llm_timeout",
               "llm_mode", "chroma_token", "chroma_auth_header", "chroma_tenant",
               "chroma_database", "ranker_engine", "spark_master")


CONFIG_EXAMPLES = {"dataset": "builtin", "llm": "none", "llm_base_url": "http://127.0.0.1:11434/v1",
                   "chroma_url": "http://127.0.0.1:8000", "data_dir": "~/recbot-data",
                   "chroma_auth_header": "X-Chroma-Token", "chroma_tenant": "default_tenant",
                   "chroma_database": "default_database"}


def llm_timeout_seconds(value, where: str = "llm_timeout") -> float:
    """``value`` as the LLM timeout in seconds: a number above 0 and at most a day. 0,
    negative, nan and inf are a ConfigError naming ``where`` (the variable or the file)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or not 0 < seconds <= MAX_LLM_TIMEOUT:   # nan compares false
        raise ConfigError(f"{where}: llm_timeout must be a number of seconds above 0 and at "
                          f"most {MAX_LLM_TIMEOUT:.0f}, e.g. 30, not {value!r}")
    return seconds


def _check_chroma(values: dict) -> None:
    """The Chroma server settings in canonical form: the header spelled as Chroma spells
    it, an empty token, tenant or database as unset (so an empty variable clears it)."""
    header = values.get("chroma_auth_header") or "Authorization"
    by_lower = {h.lower(): h for h in CHROMA_AUTH_HEADERS}
    if header.strip().lower() not in by_lower:
        raise ConfigError(f"chroma_auth_header must be Authorization (the token sent as "
                          f"Bearer <token>) or X-Chroma-Token, not {header!r}")
    values["chroma_auth_header"] = by_lower[header.strip().lower()]
    values["chroma_token"] = values.get("chroma_token") or None
    values["chroma_tenant"] = values.get("chroma_tenant") or CHROMA_DEFAULT_TENANT
    values["chroma_database"] = values.get("chroma_database") or CHROMA_DEFAULT_DATABASE


def read_config(path: Path) -> dict:
    """The settings in a config file ({} when there is none). A file that is unreadable,
    not JSON, not an object, or names an unknown setting is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ConfigError(f"{path}: cannot read the config file ({reason})") from None
    try:
        data = json.loads(text)
    except ValueError as err:
        where = f"line {err.lineno} column {err.colno}: " if hasattr(err, "lineno") else ""
        message = getattr(err, "msg", str(err))
        raise ConfigError(f"{path}: not valid JSON ({where}{message}); fix it or delete "
                          f"the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a JSON object of settings, e.g. "
                          f'{{"llm": "none"}}')
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}; known: "
                          f"{', '.join(CONFIG_KEYS)}")
    for key, value in data.items():
        if value is None:
            continue
        if key == "llm_timeout":
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise ConfigError(f"{path}: llm_timeout must be a number of seconds")
            llm_timeout_seconds(value, str(path))
        elif not isinstance(value, str):
            raise ConfigError(f"{path}: {key} must be a string, e.g. "
                              f'"{key}": "{CONFIG_EXAMPLES.get(key, "...")}"')
    return data


def write_config(path: Path, **values) -> None:
    """Merge ``values`` into the config file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = read_config(path)
    data.update(values)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
