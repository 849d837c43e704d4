"""The full-text index of problems (tocsin.learning.problem_search.PROBLEM_INDEX)."""

from django.db import migrations

from tocsin.learning import fts
from tocsin.learning.problem_search import PROBLEM_INDEX


class Migration(migrations.Migration):
    dependencies = [("learning", "0001_initial")]

    operations = fts.operations(PROBLEM_INDEX)
