"""The portal lists a reporter's incidents, latest change first: an index in that order
lets the database read the first page instead of sorting all of them (bench/ui)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0008_timeline_pin"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["reporter", "-updated_at"], name="incident_reporter_updated"
            ),
        ),
    ]
