import datetime as dt

from django.db import migrations
from django.utils import timezone


def summarised_through_yesterday(apps, schema_editor):
    """Day summaries are now kept only for days that are over, up to the day kept in their
    watermark's build_after (reports.summaries.through). Summaries built before this
    were kept in step with every day's facts, so every day up to yesterday is right; the
    worker summarises today again once it is over (summaries.keep_up)."""
    FactsWatermark = apps.get_model("reports", "FactsWatermark")
    yesterday = timezone.now().astimezone(dt.UTC).date() - dt.timedelta(days=1)
    FactsWatermark.objects.filter(
        key="summaries", refreshed_to__isnull=False, build_after__isnull=True
    ).update(build_after=yesterday.toordinal())


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0004_day_summaries"),
    ]

    operations = [
        migrations.RunPython(summarised_through_yesterday, migrations.RunPython.noop),
    ]
