"""The demo organisation's postmortems (issue 12, point 1).

The history's resolved P1 and P2 incidents already have drafts (the rules drafted them
when they were resolved). Here the three oldest of them are written up, reviewed (a
comment from a manager) and published, a few days after each incident, through the real
services inside `travel()` blocks; the others stay drafts, the oldest of them overdue.
Deterministic: the same incidents, texts and times on every load."""

from __future__ import annotations

import datetime as dt

from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor
from tocsin.core.clock import now, travel
from tocsin.incidents.models import Incident, Status
from tocsin.learning import postmortems
from tocsin.learning.models import Postmortem, PostmortemStatus

PUBLISHED = 3

# What the reviews found, one per published postmortem (blameless: systems, not people).
LESSONS = (
    {
        "_What in the system made this possible?_": (
            "A configuration change was rolled out to every node at once; nothing checked "
            "it on a few nodes first."
        ),
        "_What made it more likely, or worse, or longer?_": (
            "- The dashboard that shows the failure is not linked from the alert.\n"
            "- The rollback procedure lived in one person's notes."
        ),
        "_What should we keep doing?_": (
            "- The alert fired within two minutes.\n- The commander posted updates on time."
        ),
        "_What slowed us down or confused us?_": (
            "- Two teams investigated the same symptom without knowing of each other."
        ),
        "_What could have made this much worse, and did not?_": (
            "- It happened in office hours, with the service owner at hand."
        ),
    },
    {
        "_What in the system made this possible?_": (
            "A certificate expired; its renewal job had been failing silently for weeks."
        ),
        "_What made it more likely, or worse, or longer?_": (
            "- No alert on the renewal job's failures.\n- The expiry date was in no calendar."
        ),
        "_What should we keep doing?_": "- Customers were told within fifteen minutes.",
        "_What slowed us down or confused us?_": (
            "- The error message named the load balancer, not the certificate."
        ),
        "_What could have made this much worse, and did not?_": (
            "- The backup certificate had a later expiry date."
        ),
    },
    {
        "_What in the system made this possible?_": (
            "The database ran out of connections: a new batch job opened one per record."
        ),
        "_What made it more likely, or worse, or longer?_": (
            "- The connection limit is the same in test and production, so the test passed."
        ),
        "_What should we keep doing?_": "- Paging reached the on-call engineer at once.",
        "_What slowed us down or confused us?_": (
            "- The runbook's first step pointed at a dashboard that no longer exists."
        ),
        "_What could have made this much worse, and did not?_": (
            "- The job ran at night, when few customers were online."
        ),
    },
)


def _reviewer() -> User | None:
    return User.objects.filter(role=Role.MANAGER, is_active=True).order_by("pk").first()


def _drafts() -> list[Postmortem]:
    """A postmortem for every resolved or closed P1/P2 (drafted now if the rules did not
    when the history was written)."""
    for incident in Incident.objects.filter(
        priority__lte=2, status__in=[Status.RESOLVED, Status.CLOSED], postmortem__isnull=True
    ).order_by("number"):
        with travel(incident.resolved_at or now()):
            postmortems.postmortem_create(incident=incident, actor=Actor.system("demo"))
    return list(Postmortem.objects.select_related("incident", "owner").order_by("incident__number"))


def write_postmortems(end: dt.datetime | None = None) -> None:
    end = end or now()
    reviewer = _reviewer()
    drafts = [p for p in _drafts() if p.status == PostmortemStatus.DRAFT]
    # once is enough: a second call finds them published and changes nothing
    published = Postmortem.objects.filter(status=PostmortemStatus.PUBLISHED).count()
    for postmortem in drafts:
        if published >= PUBLISHED:
            break
        resolved = postmortem.incident.resolved_at
        if resolved is None or resolved + dt.timedelta(days=4) > end:
            continue
        author = Actor.for_user(postmortem.owner) if postmortem.owner else Actor.system("demo")
        lesson = LESSONS[published % len(LESSONS)]
        text = postmortem.markdown
        for prompt, answer in lesson.items():
            text = text.replace(prompt, answer)
        with travel(resolved + dt.timedelta(days=1, hours=2)):
            postmortem = postmortems.postmortem_edit(
                postmortem=postmortem, actor=author, markdown=text
            )
        with travel(resolved + dt.timedelta(days=2)):
            postmortem = postmortems.postmortem_transition(
                postmortem=postmortem, actor=author, to=PostmortemStatus.IN_REVIEW
            )
        review = Actor.for_user(reviewer) if reviewer else Actor.system("demo")
        with travel(resolved + dt.timedelta(days=2, hours=5)):
            postmortems.postmortem_comment_add(
                postmortem=postmortem,
                actor=review,
                body="Clear and blameless. Please turn the contributing factors into "
                "**action items** with owners.",
            )
        with travel(resolved + dt.timedelta(days=3)):
            postmortems.postmortem_transition(
                postmortem=postmortem, actor=review, to=PostmortemStatus.PUBLISHED
            )
        published += 1
