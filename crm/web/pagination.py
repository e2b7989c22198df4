"""Page-by-page lists without counting the whole table: fetch one row more than shown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from sqlalchemy import Select

from crm.extensions import db

MAX_PAGE = 10_000


@dataclass(frozen=True)
class Page:
    items: list[Any]
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_PAGE else 1


def paginate(statement: Select, number: int, per_page: int) -> Page:
    rows = list(
        db.session.execute(statement.limit(per_page + 1).offset((number - 1) * per_page)).scalars()
    )
    return Page(
        items=rows[:per_page], number=number, per_page=per_page, has_next=len(rows) > per_page
    )
