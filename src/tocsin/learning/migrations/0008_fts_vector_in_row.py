"""PostgreSQL: the full-text vectors of articles and problems kept in the row
(`STORAGE MAIN`, see tocsin.learning.fts `_pg_create`) rather than in the TOAST table,
where most of them went (an article's vector is about 2 kB). Ranking and phrase checks
read the vector of every candidate, and a TOAST fetch was half of their time.

The column and its index are made again, so the existing rows are written with the new
storage (a few seconds for a knowledge base of thousands of articles). SQLite: nothing to
do. The incident documents' vectors (under 1.5 kB) were never moved out of the row.

The incident documents' vector column gets a statistics target of 1,000 (the 10,000 most
common words with their frequencies, `INCIDENT_INDEX.pg_statistics`), and is analysed
once here (a sample of 300,000 rows: about 20 seconds at a million incidents); autovacuum
keeps it current after that."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from tocsin.learning import fts
from tocsin.learning.article_index import ARTICLE_INDEX
from tocsin.learning.problem_search import PROBLEM_INDEX
from tocsin.learning.similar import INCIDENT_INDEX


def rebuild(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in (ARTICLE_INDEX, PROBLEM_INDEX):
        for statement in fts._pg_drop(index) + fts._pg_create(index):
            schema_editor.execute(statement)
    table, column = INCIDENT_INDEX.table, INCIDENT_INDEX.pg_column
    schema_editor.execute(
        f"ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS {INCIDENT_INDEX.pg_statistics}"
    )
    schema_editor.execute(f"ANALYZE {table} ({column})")


class Migration(migrations.Migration):
    dependencies = [("learning", "0007_incident_document")]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop, elidable=False)]
