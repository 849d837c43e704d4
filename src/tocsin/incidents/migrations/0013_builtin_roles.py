from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

BUILTIN = [
    ("commander", "Incident commander", "Leads the response and makes the decisions.", 10),
    ("comms_lead", "Communications lead", "Writes the updates to stakeholders and the public.", 20),
    ("scribe", "Scribe", "Keeps the timeline: what was seen, decided and done.", 30),
]


def add(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    role = apps.get_model("incidents", "IncidentRole")
    for key, name, description, position in BUILTIN:
        role.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "description": description,
                "position": position,
                "builtin": True,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0012_response_roles")]
    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
