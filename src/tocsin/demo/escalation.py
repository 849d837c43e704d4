"""The demo's functional and hierarchical escalation set-up (issue 11): hand-off note
templates for the second-line teams and an executive list."""

from __future__ import annotations

from tocsin.accounts.models import Team, User
from tocsin.demo.alerts import DEMO_ACTOR
from tocsin.escalation.functional import handoff_template_set
from tocsin.escalation.hierarchy import executives_set

TEMPLATES = {
    "Network": "What was tried: \nSite / circuit: \nTraceroute or ping result: \n"
    "Why escalate: \nCustomer impact: ",
    "Platform": "What was tried: \nService and host: \nLogs or error ids: \n"
    "Why escalate: \nCustomer impact: ",
}
EXECUTIVES = ["ada", "tom"]


def write_escalation() -> None:
    for team in Team.objects.filter(name__in=TEMPLATES):
        handoff_template_set(team=team, text=TEMPLATES[team.name], actor=DEMO_ACTOR)
    people = list(User.objects.filter(username__in=EXECUTIVES).order_by("username"))
    executives_set(people=people, actor=DEMO_ACTOR)
