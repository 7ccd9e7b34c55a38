"""The archive's tables, each specified once: the record a row stores, the columns derived from it,
the keys and the indexes.

Everything else about a table follows from that specification here: its CREATE TABLE, the INSERT
and UPDATE with named placeholders, how a record becomes column values and how a row becomes a
record again; docs/archive-schema.md is written from it too (`discovery.archive.doc`). Each field of
the record is a column of the same name: a model, list or dict is JSON text (the browser and a
reader's SQL sort and filter on the scalars), a bool is 0 or 1, a time is ISO 8601 text, an enum
its value, and a field that may be None may be NULL. So a new field of a record is a new column, and
the one other thing to write is the migration that adds it to older archives
(`discovery.archive.migrations`).
"""

import inspect
import json
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cached_property
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from discovery.archive.errors import ArchiveError
from discovery.errors import validation_message
from discovery.records import (
    CandidateRecord,
    ExchangeRecord,
    IslandEvent,
    RunRecord,
    SummaryRecord,
    TransferRecord,
)

Record = TypeVar("Record", bound=BaseModel)

# Python type -> SQL type of a scalar column (bool before int: a bool is an int to Python)
_SQL_TYPES = ((bool, "INTEGER"), (int, "INTEGER"), (float, "REAL"), (str, "TEXT"), (datetime, "TEXT"))


@dataclass(frozen=True)
class Derived:
    """A column that is no field of the table's record: written from the record (`value`), never
    read back. Without `value` it is the table's key, a number the archive assigns."""

    name: str
    kind: Any  # its Python type, which gives its SQL type and nullability as a field's annotation does
    meaning: str  # what docs/archive-schema.md says it holds
    value: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Column:
    """One column of a table, as the archive creates it."""

    name: str
    kind: Any  # the Python type of its values, None left out
    sql: str  # TEXT, INTEGER or REAL
    nullable: bool
    json: bool  # JSON text of a model, list or dict
    derived: Derived | None  # None: a field of the table's record, read back into it
    assigned: bool  # the archive numbers the rows with it (SQLite's rowid): never written

    @classmethod
    def of(cls, name: str, annotation: Any, derived: Derived | None, key: tuple[str, ...]) -> "Column":
        kind, nullable = _optional(annotation)
        is_json = get_origin(kind) in (list, dict) or (inspect.isclass(kind) and issubclass(kind, BaseModel))
        sql = "TEXT" if is_json else _sql_type(name, kind)
        assigned = key == (name,) and sql == "INTEGER"
        return cls(name, kind, sql, nullable, is_json, derived, assigned)

    def encode(self, record: BaseModel, dumped: dict[str, Any]) -> Any:
        """This column's value for `record`; `dumped` is its JSON columns as `model_dump` gives them."""
        if self.derived is not None:
            return self.derived.value(record)  # type: ignore[misc]  (an assigned key is never written)
        if self.json:
            return None if dumped[self.name] is None else json.dumps(dumped[self.name])
        value = getattr(record, self.name)
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, datetime):
            return value.isoformat()
        return int(value) if isinstance(value, bool) else value


def _optional(annotation: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    if get_origin(annotation) not in (Union, types.UnionType):
        return annotation, False
    kinds = [kind for kind in get_args(annotation) if kind is not type(None)]
    if len(kinds) != 1:
        raise TypeError(f"no archive column holds {annotation}: one type, or one type or None")
    return kinds[0], len(kinds) < len(get_args(annotation))


def _sql_type(name: str, kind: Any) -> str:
    for python, sql in _SQL_TYPES:
        if inspect.isclass(kind) and issubclass(kind, python):
            return sql
    raise TypeError(f"column {name}: no SQL type for {kind}")


@dataclass(frozen=True)
class Table(Generic[Record]):
    """One table: the record its rows store, the columns derived from it, its primary key, the
    columns that must be unique and the indexes (name -> columns) that SQL sorts and filters by."""

    name: str
    record: type[Record]
    key: tuple[str, ...]
    derived: tuple[Derived, ...] = ()
    unique: tuple[str, ...] = ()
    indexes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @cached_property
    def columns(self) -> tuple[Column, ...]:
        """The archive's key first where it is no field, then the record's fields, then what is derived."""
        fields = [
            Column.of(name, info.annotation, None, self.key)
            for name, info in self.record.model_fields.items()
        ]
        derived = [Column.of(d.name, d.kind, d, self.key) for d in self.derived]
        return (*[c for c in derived if c.assigned], *fields, *[c for c in derived if not c.assigned])

    @cached_property
    def _written(self) -> tuple[Column, ...]:
        return tuple(column for column in self.columns if not column.assigned)

    @cached_property
    def _json_fields(self) -> set[str]:
        return {column.name for column in self.columns if column.json and column.derived is None}

    def create(self) -> list[str]:
        """The statements that make the table and its indexes in a new archive."""
        definitions = []
        for column in self.columns:
            constraint = (
                " PRIMARY KEY" if self.key == (column.name,) else "" if column.nullable else " NOT NULL"
            )
            unique = " UNIQUE" if column.name in self.unique else ""
            definitions.append(f"{column.name} {column.sql}{constraint}{unique}")
        if len(self.key) > 1:
            definitions.append(f"PRIMARY KEY ({', '.join(self.key)})")
        body = ",\n    ".join(definitions)
        return [
            f"CREATE TABLE {self.name} (\n    {body}\n)",
            *(f"CREATE INDEX {index} ON {self.name} ({', '.join(on)})" for index, on in self.indexes.items()),
        ]

    @cached_property
    def insert(self) -> str:
        """INSERT of one row, its values named after the columns (see `values`)."""
        names = [column.name for column in self._written]
        return f"INSERT INTO {self.name} ({', '.join(names)}) VALUES ({', '.join(f':{n}' for n in names)})"

    @cached_property
    def replace(self) -> str:
        """INSERT that replaces the row with the same key."""
        return self.insert.replace("INSERT", "INSERT OR REPLACE", 1)

    def update(self, by: str) -> str:
        """UPDATE of every written column of the row whose column `by` has the record's value."""
        assignments = ", ".join(f"{c.name} = :{c.name}" for c in self._written if c.name != by)
        return f"UPDATE {self.name} SET {assignments} WHERE {by} = :{by}"

    @cached_property
    def select(self) -> str:
        """SELECT of the columns a record is read from (a clause may follow)."""
        names = [column.name for column in self.columns if column.derived is None]
        return f"SELECT {', '.join(names)} FROM {self.name}"

    def values(self, record: Record) -> dict[str, Any]:
        """The named values of `insert`, `replace` and `update` for `record`."""
        dumped = record.model_dump(
            mode="json", include=self._json_fields
        )  # NaN stays NaN (JSON would null it)
        return {column.name: column.encode(record, dumped) for column in self._written}

    def read(self, row: Mapping[str, Any], where: str) -> Record:
        """The record a row of `select` stores, its JSON columns decoded; whatever is wrong in it
        (invalid JSON, a value of the wrong type) is one line that starts with `where` (the archive
        and the row) and names the column."""
        fields = dict(row)
        for name in self._json_fields:
            if fields[name] is not None:
                try:
                    fields[name] = json.loads(fields[name])
                except (TypeError, ValueError) as error:
                    raise ArchiveError(
                        f"{where} is unreadable: {name} is not valid JSON ({error})"
                    ) from error
        try:
            return self.record.model_validate(fields)
        except ValidationError as error:
            raise ArchiveError(f"{where} is unreadable ({validation_message(error)})") from error


RUN = Table(
    "run",
    RunRecord,
    key=("id",),
    derived=(
        Derived(
            "evaluator", str, "`config.evaluator`, as a column of its own to filter on", lambda r: r.evaluator
        ),
    ),
)
CANDIDATES = Table(
    "candidates",
    CandidateRecord,
    key=("seq",),
    derived=(
        Derived("seq", int, "the order candidates were added in"),
        Derived(
            "fitness",
            float | None,
            "`figures.fitness`: the mean fitness at the best beta; NULL until scored",
            lambda c: c.fitness,
        ),
        Derived(
            "ranking",
            float | None,
            "what the leaderboard sorts by: `figures.fitness_low`, or `figures.fitness` where there is no "
            "interval; NULL until scored",
            lambda c: c.figures.ranking if c.figures else None,
        ),
    ),
    unique=("id",),
    indexes={
        "candidates_status": ("status", "ranking"),
        "candidates_generation": ("generation",),
        "candidates_name": ("name",),
        "candidates_code_hash": ("code_hash",),
    },
)
EXCHANGES = Table("exchanges", ExchangeRecord, key=("id",))
TRANSFERS = Table("transfers", TransferRecord, key=("variant", "candidate_id"))
ISLAND_EVENTS = Table("island_events", IslandEvent, key=("generation", "island", "kind"))
SUMMARIES = Table("summaries", SummaryRecord, key=("run_id", "generation"))
TABLES = (RUN, CANDIDATES, EXCHANGES, TRANSFERS, ISLAND_EVENTS, SUMMARIES)
