"""One new row through an INSERT built once, not by the ORM on every call.

`Model.objects.create(...)` compiles its INSERT afresh each time: the fields, their
columns quoted, the placeholders, the RETURNING clause. A paging storm writes about ten
new rows an incident (the incident, its timeline entries, its climb, its page, the page's
message, ...), and that compilation was a measured share of the worker's time per alert
(docs/benchmarks.md, paging, issue 10). `insert(obj)` does what `obj.save(force_insert=
True)` does for the plain models it is used on, with the statement built once per model
and database alias: each field's value through its own `pre_save` and
`get_db_prep_save` (the ORM's conversions: dates, JSON, defaults), the primary key read
back with RETURNING (SQLite 3.35+, PostgreSQL) and set on the object, which is then
saved as far as Django is concerned.

Only for models without a parent model (multi-table inheritance), without database
defaults, generated fields or a `save()` of their own, and with no pre_save/post_save
receivers (Tocsin has none: DESIGN.md, no business rule in `save()` or a signal); the
first call checks the first three and refuses a model that has them.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connections, router
from django.db.models import Field, Model
from django.db.models.fields import NOT_PROVIDED

M = TypeVar("M", bound=Model)

# (alias, model, primary key given) -> (the INSERT, its fields, the field read back)
_statements: dict[tuple[str, type[Model], bool], tuple[str, list[Field[Any, Any]], Any]] = {}


def insert(obj: M) -> M:
    """Insert `obj` (a new instance) as `obj.save(force_insert=True)` would; returns it."""
    model = type(obj)
    alias = router.db_for_write(model, instance=obj)
    db = connections[alias]
    pk_given = obj.pk is not None
    key = (alias, model, pk_given)
    found = _statements.get(key)
    if found is None:
        found = _statements[key] = _build(model, db, pk_given=pk_given)
    sql, fields, returning = found
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection=db) for field in fields]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        if returning is not None:
            row = cursor.fetchone()
            setattr(obj, returning.attname, row[0])
    obj._state.adding = False
    obj._state.db = alias
    return obj


def _build(
    model: type[Model], db: Any, *, pk_given: bool
) -> tuple[str, list[Field[Any, Any]], Any]:
    meta = model._meta
    if meta.parents:
        raise TypeError(f"fastinsert: {model.__name__} has a parent model")
    if "save" in model.__dict__:
        raise TypeError(f"fastinsert: {model.__name__} has a save() of its own")
    fields: list[Field[Any, Any]] = []
    for field in meta.local_concrete_fields:
        if getattr(field, "generated", False) or field.db_default is not NOT_PROVIDED:
            raise TypeError(f"fastinsert: {model.__name__}.{field.name} is filled by the database")
        if field is meta.auto_field and not pk_given:
            continue
        fields.append(field)
    quote = db.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608 - quoted metadata
    returning = meta.auto_field if meta.auto_field is not None and not pk_given else None
    if returning is not None:
        sql += f" RETURNING {quote(returning.column)}"
    return sql, fields, returning
