"""What the hand-written statements of the hot paths share (tocsin.alerts.sql, the
integration lookup in tocsin.catalog.selectors, tocsin.notify.sql).

A statement is a small class built once per database connection alias from the models'
metadata (table and column names quoted by the backend, never from input); `Columns`
reads a model's row into an instance with the value converters the ORM's compiler
applies. Building a query through the ORM costs more CPU than running it, for the
single-row reads and writes that a storm repeats for every alert or page
(docs/benchmarks.md, "What each hand-written statement buys").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model


def column(model: type[Model], name: str = "pk") -> str:
    """The database column of a model's concrete field (`pk`: its primary key's)."""
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    found = getattr(field, "column", None)
    if not isinstance(found, str):
        raise LookupError(f"{model.__name__}.{name} has no database column")
    return found


def quoted(db: BaseDatabaseWrapper, model: type[Model]) -> Callable[[str], str]:
    """name -> the model's column for that field, quoted for `db` ("pk": its primary
    key's)."""
    quote = db.ops.quote_name
    return lambda name: quote(column(model, name))


class Columns:
    """A model's concrete columns in a prepared SELECT, with their value converters
    (as the ORM's compiler applies them), and the instance from a row's values."""

    def __init__(
        self,
        model: type[Model],
        alias: str,
        db: BaseDatabaseWrapper,
        defer: tuple[str, ...] = (),
        only: tuple[str, ...] = (),
    ) -> None:
        """`defer`: fields left out, loaded by the instance if it is asked for them;
        `only`: these fields alone, in this order (read with `values`)."""
        quote = db.ops.quote_name
        fields: list[Any]
        if only:
            fields = [model._meta.get_field(name) for name in only]
        else:
            fields = [f for f in model._meta.concrete_fields if f.name not in defer]
        self.model = model
        self.names = [f.attname for f in fields]
        self.sql = [f"{alias}.{quote(f.column)}" for f in fields]
        self.width = len(fields)
        self.converters: list[tuple[int, list[Any], Any]] = []
        for index, f in enumerate(fields):
            col = f.get_col(alias)
            found = db.ops.get_db_converters(col) + col.get_db_converters(db)
            if found:
                self.converters.append((index, found, col))

    def values(self, db: BaseDatabaseWrapper, values: list[Any]) -> list[Any]:
        """A row's values as the ORM gives them (converted in place)."""
        for index, converters, col in self.converters:
            value = values[index]
            for converter in converters:
                value = converter(value, col, db)
            values[index] = value
        return values

    def instance(self, db: BaseDatabaseWrapper, values: list[Any]) -> Model:
        return self.model.from_db(db.alias, self.names, self.values(db, values))


_PREPARED: dict[tuple[str, type], Any] = {}


def prepared(db: BaseDatabaseWrapper, kind: type) -> Any:
    """One statement object of this kind (built by `kind(db)`, which sets `vendor`) per
    database connection alias."""
    statement = _PREPARED.get((db.alias, kind))
    if statement is None or statement.vendor != db.vendor:
        statement = _PREPARED[(db.alias, kind)] = kind(db)
    return statement
