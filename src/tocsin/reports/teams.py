"""Team pages of the reports: who sees them and the list's figures.

Who sees a team's page: staff (agents, responders, managers, administrators) see every
team's, as they see every incident; that includes each team's manager. Anyone else
(reporters, and a team's manager whose role is reporter) gets 404, since the figures
lead to incidents they may not see. docs/reports.md says the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, Q

from tocsin.accounts.models import Team, User
from tocsin.core.errors import NotFound
from tocsin.reports.metrics import Filters, RateStat
from tocsin.reports.selectors import access_reports


def access_team_report(user: User | Any, team_id: int) -> Team:
    """The team whose page this is, for someone who may see it; else 404."""
    access_reports(user)
    team = Team.objects.select_related("manager").filter(pk=team_id).first()
    if team is None:
        raise NotFound("not found")
    return team


@dataclass
class TeamRow:
    team: Team
    mine: bool
    volume: int
    open: int
    ack_mean: float | None
    resolve_mean: float | None
    escalated: RateStat
    response: RateStat
    resolution: RateStat


def team_rows(user: User | Any, filters: Filters) -> list[TeamRow]:
    """Every team with its headline figures over the period (one grouped query); the
    teams the person manages first."""
    grouped = {
        row["team_id"]: row
        for row in filters.facts()
        .filter(team_id__isnull=False)
        .values("team_id")
        .annotate(
            volume=Count("pk"),
            open=Count("pk", filter=Q(is_open=True)),
            ack_mean=Avg("ack_s"),
            resolve_mean=Avg("resolve_s"),
            escalated=Count("pk", filter=Q(escalated_functional=True)),
            response_decided=Count("pk", filter=Q(response_sla__isnull=False)),
            response_met=Count("pk", filter=Q(response_sla=True)),
            resolution_decided=Count("pk", filter=Q(resolution_sla__isnull=False)),
            resolution_met=Count("pk", filter=Q(resolution_sla=True)),
        )
        .order_by()
    }
    rows = []
    for team in Team.objects.select_related("manager").order_by("name"):
        g = grouped.get(team.pk, {})
        volume = int(g.get("volume", 0))
        rows.append(
            TeamRow(
                team=team,
                mine=team.manager_id is not None and team.manager_id == getattr(user, "pk", None),
                volume=volume,
                open=int(g.get("open", 0)),
                ack_mean=g.get("ack_mean"),
                resolve_mean=g.get("resolve_mean"),
                escalated=RateStat.of(int(g.get("escalated", 0)), volume),
                response=RateStat.of(
                    int(g.get("response_met", 0)), int(g.get("response_decided", 0))
                ),
                resolution=RateStat.of(
                    int(g.get("resolution_met", 0)), int(g.get("resolution_decided", 0))
                ),
            )
        )
    rows.sort(key=lambda r: not r.mine)  # stable: mine first, then by name
    return rows
