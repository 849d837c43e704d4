from django.db import migrations

# DEFAULT_MATRIX[urgency][impact], and SLA targets (response, resolution) in minutes.
MATRIX = {
    1: {1: 1, 2: 1, 3: 2, 4: 3},
    2: {1: 1, 2: 2, 3: 3, 4: 3},
    3: {1: 2, 2: 3, 3: 3, 4: 4},
    4: {1: 3, 2: 3, 3: 4, 4: 4},
}
TARGETS = {1: (15, 240), 2: (30, 480), 3: (120, 4320), 4: (480, 10080)}


def seed(apps, schema_editor):
    Cell = apps.get_model("incidents", "PriorityMatrixCell")
    Target = apps.get_model("incidents", "SlaTarget")
    Calendar = apps.get_model("incidents", "BusinessCalendar")
    for urgency, row in MATRIX.items():
        for impact, priority in row.items():
            Cell.objects.get_or_create(impact=impact, urgency=urgency, defaults={"priority": priority})
    for priority, (response, resolution) in TARGETS.items():
        Target.objects.get_or_create(
            priority=priority,
            defaults={"response_minutes": response, "resolution_minutes": resolution},
        )
    Calendar.objects.get_or_create(name="Office hours (Mon–Fri 09–17)")


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
