"""The search documents of incidents (similar incidents) and their full-text index
(tocsin.learning.similar.INCIDENT_INDEX).

Existing incidents get their document here in one INSERT … SELECT: title, description,
and the names of their category, subcategory and service (the alert labels and affected
services of past incidents join their document when it is next written: a triage or a
resolve)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from tocsin.learning import fts
from tocsin.learning.similar import INCIDENT_INDEX

BACKFILL = """
INSERT INTO learning_incident_document (id, title, labels, description)
SELECT i.id, i.title,
       TRIM(COALESCE(c.name, '') || ' ' || COALESCE(sc.name, '') || ' ' || COALESCE(s.name, '')),
       i.description
FROM incidents_incident i
LEFT JOIN catalog_category c ON c.id = i.category_id
LEFT JOIN catalog_category sc ON sc.id = i.subcategory_id
LEFT JOIN catalog_service s ON s.id = i.service_id
"""


def backfill(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    schema_editor.execute(BACKFILL)


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0015_alter_timelineentry_kind'),
        ('learning', '0006_postmortems'),
    ]

    operations = [
        migrations.CreateModel(
            name='IncidentDocument',
            fields=[
                ('incident', models.OneToOneField(db_column='id', on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='incidents.incident')),
                ('title', models.CharField(max_length=200)),
                ('labels', models.TextField(blank=True)),
                ('description', models.TextField(blank=True)),
            ],
            options={
                'db_table': 'learning_incident_document',
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False),
        *fts.operations(INCIDENT_INDEX),
    ]
