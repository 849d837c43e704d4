"""The search document of each incident (similar incidents, issue 12 point 5).

Similar incidents rank by full-text over an incident's title, description, category,
service and alert labels. The incident table holds only the title and description: the
category and service names live in the catalog and the alert labels on the alerts. So
each incident has one row here, its text gathered in one place, and the full-text index
(`tocsin.learning.similar.INCIDENT_INDEX`, tocsin.learning.fts) is built over this table.

Why a table of its own rather than an index on the incident table: an index over several
tables cannot be one FTS5 table or one GIN expression; denormalising the names here keeps
the index (and the query) a single-table one on both databases, keeps the incident table
(and the hot ingest path) free of triggers from an app above it, and lets the learning
app own its schema. The row is written in the incident's own transactions through the
incident hooks (`on_created`, `on_updated`, `on_resolved`; see similar.py), so it is never
behind a committed change of the text. Renaming a service or a category does not rewrite
the rows of past incidents (their next triage or resolve does).

The primary key is the incident's id (column `id`), so a search answers incident ids.
"""

from __future__ import annotations

from django.db import models

from tocsin.incidents.models import Incident


class IncidentDocument(models.Model):
    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, primary_key=True, db_column="id", related_name="+"
    )
    title = models.CharField(max_length=200)
    # category, subcategory, service and affected services' names, alert label names and
    # values: words, space-separated
    labels = models.TextField(blank=True)
    description = models.TextField(blank=True)

    class Meta:
        db_table = "learning_incident_document"

    def __str__(self) -> str:
        return f"document of incident {self.incident_id}"
