"""Who a level's targets are at an instant: people as they are, schedules and a team's
schedules through the on-call rules (tocsin.oncall), without permission checks (the
engine pages on the organisation's behalf)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tocsin.accounts.models import Team, User
from tocsin.oncall import rules
from tocsin.oncall.models import Schedule
from tocsin.oncall.selectors import rules_many

_NEAR = dt.timedelta(days=1)


@dataclass(frozen=True)
class Found:
    """One person to page, and through which target ("schedule Payments primary")."""

    user: User
    via: str


@dataclass(frozen=True)
class Missed:
    """A target that names nobody right now (a gap, an empty team, a deactivated person)."""

    via: str
    why: str


def oncall_user_ids(schedules: Sequence[Schedule], at: dt.datetime) -> dict[int, int | None]:
    """Schedule id -> the id of the person on call at `at` (None in a gap)."""
    live = [s for s in schedules if s.archived_at is None]
    specs = rules_many(live, at, at + _NEAR) if live else {}
    answer: dict[int, int | None] = {s.pk: None for s in schedules}
    for schedule in live:
        found = rules.oncall_at(specs[schedule.pk], at, horizon=_NEAR)
        answer[schedule.pk] = found.shift.user if found.shift is not None else None
    return answer


def team_schedules(teams: Iterable[Team]) -> dict[int, list[Schedule]]:
    ids = [t.pk for t in teams]
    by_team: dict[int, list[Schedule]] = {pk: [] for pk in ids}
    if not ids:  # most levels name no team: not even an empty query (a storm's every step)
        return by_team
    for schedule in Schedule.objects.filter(team_id__in=ids, archived_at__isnull=True):
        by_team[schedule.team_id].append(schedule)  # type: ignore[index]
    return by_team


def resolve(
    *,
    users: Sequence[User] = (),
    schedules: Sequence[Schedule] = (),
    teams: Sequence[Team] = (),
    at: dt.datetime,
) -> tuple[list[Found], list[Missed]]:
    """Every person the targets name at `at`, each once (the first target naming them
    wins), in target order: people, then schedules, then teams."""
    found: list[Found] = []
    missed: list[Missed] = []
    by_team = team_schedules(teams)
    all_schedules = list(schedules) + [s for ss in by_team.values() for s in ss]
    oncall = oncall_user_ids(all_schedules, at) if all_schedules else {}
    on_call_ids = {pk for pk in oncall.values() if pk is not None}
    people = {u.pk: u for u in User.objects.filter(pk__in=on_call_ids)} if on_call_ids else {}
    seen: set[int] = set()

    def add(user: User | None, via: str, why: str) -> None:
        if user is None:
            missed.append(Missed(via=via, why=why))
        elif not user.is_active:
            missed.append(Missed(via=via, why=f"{user.display_name} is deactivated"))
        elif user.pk not in seen:
            seen.add(user.pk)
            found.append(Found(user=user, via=via))

    for user in users:
        add(user, f"person {user.display_name}", "")
    for schedule in schedules:
        pk = oncall.get(schedule.pk)
        add(people.get(pk) if pk else None, f"schedule {schedule.name}", "nobody is on call")
    for team in teams:
        team_found = [people.get(oncall.get(s.pk) or 0) for s in by_team[team.pk]]
        if not any(team_found):
            add(None, f"team {team.name}", "nobody on the team's schedules is on call")
        for schedule, member in zip(by_team[team.pk], team_found, strict=True):
            if member is not None:
                add(member, f"team {team.name} ({schedule.name})", "")
    return found, missed
