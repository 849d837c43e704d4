"""The outbox's plain contact_method_id column becomes a ForeignKey of the same name and
column (state only), then gains its constraint and index; `purpose` names what a message
is for (issue 10)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_paging_rules"),
        ("incidents", "0011_paging_entry_kind"),
        ("notify", "0002_delivery_core"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="outboxmessage", name="contact_method_id"),
                migrations.AddField(
                    model_name="outboxmessage",
                    name="contact_method",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        db_constraint=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.contactmethod",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="contact_method",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.contactmethod",
            ),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="purpose",
            field=models.CharField(db_index=True, default="mail", max_length=20),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(fields=["incident", "created_at"], name="notify_outb_inciden_95b10e_idx"),
        ),
    ]
