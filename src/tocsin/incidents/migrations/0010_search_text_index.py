"""PostgreSQL: trigram indexes for the queue's search (bench/ui).

The search is `UPPER(title) LIKE UPPER('%text%') OR UPPER(description) LIKE …` (Django's
`icontains`); GIN indexes of those very expressions with `pg_trgm` let PostgreSQL find
the matches of a text of three characters or more without reading every incident, and
it rechecks each match with LIKE, so the results are what they were. `pg_trgm` ships
with PostgreSQL and is a trusted extension: a database's owner may create it.

SQLite has no such index for LIKE; there the search reads every row once
(`selectors.incident_page`), and this migration does nothing.
"""

from typing import Any

from django.db import migrations

# (index name, column)
INDEXES = (
    ("incident_title_trgm", "title"),
    ("incident_description_trgm", "description"),
)


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES:
        # The expression as Django writes it for icontains, or the planner cannot use it.
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "incidents_incident" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _column in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0009_portal_index"),
    ]

    operations = [migrations.RunPython(create, drop)]
