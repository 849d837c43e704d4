"""The learning app's models, one module per feature (each feature's own fields and
tables live in its module; this package only gathers them for Django)."""

from tocsin.learning.models.actions import ActionItem, ActionItemStatus
from tocsin.learning.models.articles import Article, ArticleVisibility
from tocsin.learning.models.postmortems import Postmortem, PostmortemStatus
from tocsin.learning.models.problems import Problem, ProblemIncident, ProblemStatus
from tocsin.learning.models.runbooks import Runbook, RunbookStep
from tocsin.learning.models.search import IncidentDocument

__all__ = [
    "ActionItem",
    "ActionItemStatus",
    "Article",
    "ArticleVisibility",
    "IncidentDocument",
    "Postmortem",
    "PostmortemStatus",
    "Problem",
    "ProblemIncident",
    "ProblemStatus",
    "Runbook",
    "RunbookStep",
]
