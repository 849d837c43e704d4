# The built-in stakeholder-update templates named the internal service ({service}) in text
# that also goes to outside addresses. They now use {public_service}: the status page's
# component for the service when one is mapped, else the service's name. Only a template
# whose text is still exactly the seeded one is changed; an edited one is left as its
# administrator wrote it.

from django.db import migrations

SEEDED = {
    "Investigating": (
        "We are investigating a problem affecting {service} ({impact} impact). "
        "We will post the next update by {next_update}."
    ),
    "Identified": (
        "We have identified the cause of the problem affecting {service} and are working "
        "on a fix. Next update by {next_update}."
    ),
    "Monitoring": (
        "A fix for the problem affecting {service} is in place and we are monitoring the "
        "results. Next update by {next_update}."
    ),
    "Resolved": "The problem affecting {service} has been resolved. Thank you for your patience.",
}


def _swap(apps, old: str, new: str) -> None:  # type: ignore[no-untyped-def]
    UpdateTemplate = apps.get_model("comms", "UpdateTemplate")
    for name, body in SEEDED.items():
        UpdateTemplate.objects.filter(name=name, body=body.replace("{service}", old)).update(
            body=body.replace("{service}", new)
        )


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    _swap(apps, "{service}", "{public_service}")


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    _swap(apps, "{public_service}", "{service}")


class Migration(migrations.Migration):
    dependencies = [
        ("comms", "0007_status_subscriber_secret"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
