"""The learning app's models, one module per feature (each feature's own fields and
tables live in its module; this package only gathers them for Django)."""

from tocsin.learning.models.actions import ActionItem, ActionItemStatus
from tocsin.learning.models.articles import (
    Article,
    ArticleSolution,
    ArticleVersion,
    ArticleVisibility,
)
from tocsin.learning.models.postmortems import (
    Postmortem,
    PostmortemComment,
    PostmortemSettings,
    PostmortemStatus,
    PostmortemTemplate,
    ServicePostmortemRule,
)
from tocsin.learning.models.problems import Problem, ProblemIncident, ProblemStatus
from tocsin.learning.models.runbooks import (
    CallState,
    Runbook,
    RunbookRun,
    RunbookRunStep,
    RunbookStep,
)
from tocsin.learning.models.search import IncidentDocument

__all__ = [
    "ActionItem",
    "ActionItemStatus",
    "Article",
    "ArticleSolution",
    "ArticleVersion",
    "ArticleVisibility",
    "CallState",
    "IncidentDocument",
    "Postmortem",
    "PostmortemComment",
    "PostmortemSettings",
    "PostmortemStatus",
    "PostmortemTemplate",
    "Problem",
    "ProblemIncident",
    "ProblemStatus",
    "Runbook",
    "RunbookRun",
    "RunbookRunStep",
    "RunbookStep",
    "ServicePostmortemRule",
]
