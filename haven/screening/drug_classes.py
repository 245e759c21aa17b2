"""The drug-class table (pure): codes, names, examples and configurable washout periods."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_TABLE = Path(__file__).resolve().parent / "drug_classes.yaml"


class _DrugClass(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    examples: tuple[str, ...] = ()
    washout_days: int = Field(ge=0, le=365)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    classes: dict[str, _DrugClass]


@dataclass(frozen=True)
class DrugClass:
    code: str
    name: str
    examples: tuple[str, ...]
    washout_days: int


@cache
def drug_classes(path: Path = DEFAULT_TABLE) -> dict[str, DrugClass]:
    table = _Table.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    return {
        code: DrugClass(code=code, name=c.name, examples=c.examples, washout_days=c.washout_days)
        for code, c in table.classes.items()
    }


def washout_days(path: Path = DEFAULT_TABLE) -> dict[str, int]:
    return {code: c.washout_days for code, c in drug_classes(path).items()}
