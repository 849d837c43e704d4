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

`insert_many(objs)` writes several new rows of one model in one multi-row INSERT (what
`bulk_create` does, without reading their primary keys back: for rows nobody touches
again in the same transaction, such as a major incident's checklist). `update(obj,
names)` does what `obj.save(update_fields=names)` does (each field through `pre_save`,
so a field that stamps itself on save is stamped; DatabaseError when no row was written), with the
UPDATE built once per model and field list.

Only for models without a parent model (multi-table inheritance), without database
defaults, generated fields or a `save()` of their own, and with no pre_save/post_save
receivers (Tocsin has none: DESIGN.md, no business rule in `save()` or a signal); the
first call checks the first three and refuses a model that has them.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import DatabaseError, connections, router
from django.db.models import Field, JSONField, Model
from django.db.models.fields import NOT_PROVIDED

M = TypeVar("M", bound=Model)

# (alias, model, primary key given) -> (the INSERT, its fields, the field read back)
_statements: dict[tuple[str, type[Model], bool], tuple[str, list[Field[Any, Any]], Any]] = {}

# (alias, field) -> the value types the field hands to the database unchanged
_passthrough: dict[tuple[str, Field[Any, Any]], frozenset[type]] = {}
_PROBES: tuple[tuple[Any, type], ...] = (("probe", str), (7, int), (True, bool))


def _unchanged(field: Field[Any, Any], db: Any) -> frozenset[type]:
    """The types of value that `field.get_db_prep_save(field.pre_save(obj, add))` returns
    as they are, on this database (found once by asking the field itself): a str for a
    text column, an int for an integer or a foreign key on SQLite, a bool, None for a
    nullable column. Such a value needs no conversion; the rest go through the field.
    A field with a `pre_save` of its own (a date stamped on save) or a JSON column always goes
    through it."""
    key = (db.alias, field)
    found = _passthrough.get(key)
    if found is not None:
        return found
    kinds: set[type] = set()
    if type(field).pre_save is Field.pre_save and not isinstance(field, JSONField):
        for sample, kind in (*_PROBES, (None, type(None))):
            try:
                if field.get_db_prep_save(sample, connection=db) is sample:
                    kinds.add(kind)
            except Exception:  # noqa: S112 - a type the field refuses is not passed through
                continue
    found = _passthrough[key] = frozenset(kinds)
    return found


def _params(obj: Model, fields: list[Field[Any, Any]], db: Any, *, add: bool) -> list[Any]:
    """The fields' values of `obj` as the database gets them (the ORM's conversions)."""
    params: list[Any] = []
    for field in fields:
        kinds = _unchanged(field, db)
        if kinds:
            value = getattr(obj, field.attname)
            if type(value) in kinds:
                params.append(value)
                continue
        params.append(field.get_db_prep_save(field.pre_save(obj, add), connection=db))
    return params


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
    params = _params(obj, fields, db, add=True)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        if returning is not None:
            row = cursor.fetchone()
            setattr(obj, returning.attname, row[0])
    obj._state.adding = False
    obj._state.db = alias
    return obj


# (alias, model, rows) -> (the multi-row INSERT, its fields)
_many: dict[tuple[str, type[Model], int], tuple[str, list[Field[Any, Any]]]] = {}


def insert_many(objs: list[M]) -> None:
    """Insert these new instances of one model (no primary key given) in one statement, as
    `Model.objects.bulk_create(objs)` would, except that their primary keys are not read
    back (the instances stay unsaved as far as Django is concerned)."""
    if not objs:
        return
    model = type(objs[0])
    if any(type(obj) is not model or obj.pk is not None for obj in objs):
        raise TypeError("fastinsert.insert_many: new instances of one model only")
    alias = router.db_for_write(model, instance=objs[0])
    db = connections[alias]
    key = (alias, model, len(objs))
    found = _many.get(key)
    if found is None:
        single, fields, _ = _build(model, db, pk_given=False)
        head = single.split(" VALUES ", 1)[0]
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        found = _many[key] = (f"{head} VALUES {', '.join([row] * len(objs))}", fields)
    sql, fields = found
    params = [value for obj in objs for value in _params(obj, fields, db, add=True)]
    with db.cursor() as cursor:
        cursor.execute(sql, params)


# (alias, model, field names) -> (the UPDATE, its fields)
_updates: dict[tuple[str, type[Model], tuple[str, ...]], tuple[str, list[Field[Any, Any]]]] = {}


def update(obj: Model, names: list[str]) -> None:
    """`obj.save(update_fields=names)` for a saved instance, with the UPDATE built once."""
    model = type(obj)
    alias = router.db_for_write(model, instance=obj)
    db = connections[alias]
    key = (alias, model, tuple(names))
    found = _updates.get(key)
    if found is None:
        _check(model)
        meta = model._meta
        fields: list[Any] = [meta.get_field(name) for name in names]
        if any(not getattr(f, "concrete", False) or f.primary_key for f in fields):
            raise TypeError(f"fastinsert.update: {names} are not all plain columns")
        quote = db.ops.quote_name
        sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
        found = _updates[key] = (
            f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {quote(meta.pk.column)} = %s",  # noqa: S608 - quoted metadata
            fields,
        )
    sql, fields = found
    params = _params(obj, fields, db, add=False)
    params.append(model._meta.pk.get_db_prep_value(obj.pk, connection=db))
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != 1:
            raise DatabaseError("Save with update_fields did not affect any rows.")
    obj._state.db = alias


def _check(model: type[Model]) -> None:
    meta = model._meta
    if meta.parents:
        raise TypeError(f"fastinsert: {model.__name__} has a parent model")
    if "save" in model.__dict__:
        raise TypeError(f"fastinsert: {model.__name__} has a save() of its own")


def _build(
    model: type[Model], db: Any, *, pk_given: bool
) -> tuple[str, list[Field[Any, Any]], Any]:
    meta = model._meta
    _check(model)
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
