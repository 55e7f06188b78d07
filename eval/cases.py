"""Question files (JSONL): one case per line; malformed lines are reported with their line number."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CATEGORIES = ("table", "fact", "compute", "compare", "narrative", "multiturn", "alias", "out_of_scope", "audit")


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    numbers: list[float] = Field(default_factory=list)
    unit: str = ""
    keywords: list[str] = Field(default_factory=list)
    refuse: bool = False

    @field_validator("unit", mode="before")
    @classmethod
    def _unit(cls, value):
        return "" if value is None else value  # "unit": null means no unit is checked, as an empty string does


class Case(BaseModel):
    model_config = ConfigDict(extra="ignore")  # "answer", "note" and other human fields are kept out of scoring
    id: str
    category: str = "other"
    turns: list[str]
    expect: Expect = Field(default_factory=Expect)
    evidence: list[str] = Field(default_factory=list)

    @field_validator("turns")
    @classmethod
    def _turns(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("turns must hold at least one question")
        return value


def load_cases(path: Path) -> tuple[list[Case], list[str]]:
    """(cases, errors): every bad line becomes an error naming its line number; the rest still load."""
    cases, errors, seen = [], [], set()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            case = Case.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            errors.append(f"第 {number} 行不是有效的 JSON：{exc.msg}")
            continue
        except ValidationError as exc:
            first = exc.errors()[0]
            errors.append(f"第 {number} 行格式不符：{'.'.join(str(p) for p in first['loc'])} {first['msg']}")
            continue
        if case.id in seen:
            errors.append(f"第 {number} 行：id “{case.id}” 重复")
            continue
        seen.add(case.id)
        cases.append(case)
    return cases, errors
