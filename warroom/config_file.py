"""Reading a TOML config file into a pydantic model, with one error style for every file.

The hub's config file and the user's config file both say what is wrong the same way: the file,
the key (as written in TOML, ``limits.rate`` or ``name``) and what to change, on one line each,
never a traceback. Shared here so both files keep the same voice.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

#: What a pydantic error type means for someone editing a TOML file.
_PLAIN: dict[str, str] = {
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "string_type": "expected text in quotes",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
    "list_type": "expected a list",
    "greater_than": "too small",
    "greater_than_equal": "too small",
    "less_than_equal": "too large",
    "string_too_short": "must not be empty",
    "string_too_long": "too long",
    "literal_error": "not one of the choices",
    "enum": "not one of the choices",
}


def read_toml(path: Path) -> dict[str, Any]:
    """The file's tables; ``OSError`` or ``ValueError`` with the file named on failure."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc


def key_name(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as written in TOML: ``name``, ``[limits] rate``, ``[webhooks 2] url``."""
    parts = [f" {part + 1}" if isinstance(part, int) else f".{part}" for part in loc]
    if len(parts) <= 1:
        return "".join(parts).strip(". ")
    section = "".join(parts[:-1]).lstrip(".")
    return f"[{section}] {parts[-1].strip('. ')}"


def explain(
    error: ValidationError, source: str | Path | None = None, model: type[BaseModel] | None = None
) -> str:
    """Every problem of ``error`` as ``FILE: KEY: what is wrong``, one per line.

    With ``model``, an unknown key's message lists the keys its table may have.
    """
    prefix = f"{source}: " if source else ""
    lines: list[str] = []
    unknown: dict[str, list[str]] = {}
    for problem in error.errors():
        loc = tuple(problem["loc"])
        kind = problem["type"]
        if kind == "extra_forbidden":
            section = ".".join(str(part) for part in loc[:-1])
            unknown.setdefault(section, []).append(str(loc[-1]))
            continue
        key = key_name(loc) or "(file)"
        if kind in ("value_error", "assertion_error") and "error" in problem.get("ctx", {}):
            what = str(problem["ctx"]["error"])
        else:
            what = _PLAIN.get(kind, problem["msg"])
            if kind == "missing":
                what = "is required"
            elif "input" in problem and not isinstance(problem["input"], dict | list):
                what = f"{what} (got {problem['input']!r})"
        lines.append(f"{prefix}{key}: {what}")
    for section, keys in unknown.items():
        where = f"[{section}] " if section else ""
        table = _table(model, section)
        known = f"; known: {known_keys(table)}" if table else ""
        lines.append(f"{prefix}{where}unknown setting(s) {', '.join(keys)}{known}")
    return "\n".join(lines)


def _table(model: type[BaseModel] | None, section: str) -> type[BaseModel] | None:
    """The model of the table at dotted ``section`` of ``model``, when it is one."""
    for part in section.split(".") if section else ():
        field = model.model_fields.get(part) if model else None
        kind = field.annotation if field else None
        model = kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None
    return model


def known_keys(model: type[BaseModel]) -> str:
    """The keys a table may have, for an "unknown setting" message."""
    return ", ".join(sorted(k for k, f in model.model_fields.items() if not f.exclude))
