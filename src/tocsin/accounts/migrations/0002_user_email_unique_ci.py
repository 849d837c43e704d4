"""One person per email address, case-insensitively (issue 7, point 20).

A database in which two people already share an address (in any case) cannot take the
constraint: the migration stops before changing anything and names the addresses and
usernames, so that an administrator can give each person an address of their own (in
the web UI, the API or `tocsin manage shell`) and migrate again.
"""

from typing import Any

import django.db.models.functions.text
from django.core.management.base import CommandError
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def refuse_duplicates(apps: Any, schema_editor: Any) -> None:
    User = apps.get_model("accounts", "User")
    shared = (
        User.objects.exclude(email="")
        .annotate(address=Lower("email"))
        .values("address")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("address")
    )
    problems = []
    for row in shared:
        names = User.objects.filter(email__iexact=row["address"]).order_by("pk")
        usernames = ", ".join(names.values_list("username", flat=True))
        problems.append(f"{row['address']} ({usernames})")
    if problems:
        raise CommandError(
            "Cannot make email addresses unique: several people share "
            + "; ".join(problems)
            + ". Give each person an address of their own, then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("email"),
                condition=models.Q(("email", ""), _negated=True),
                name="accounts_user_email_ci_unique",
                violation_error_message="another person already has this email address",
            ),
        ),
    ]
