"""Impact x urgency → priority, through the matrix an administrator can edit."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record
from tocsin.core.errors import Invalid
from tocsin.core.memo import has_memo, memo
from tocsin.incidents.models import Level, Priority, PriorityMatrixCell

# DEFAULT_MATRIX[urgency][impact]
DEFAULT_MATRIX: dict[int, dict[int, int]] = {
    1: {1: 1, 2: 1, 3: 2, 4: 3},
    2: {1: 1, 2: 2, 3: 3, 4: 3},
    3: {1: 2, 2: 3, 3: 3, 4: 4},
    4: {1: 3, 2: 3, 3: 4, 4: 4},
}


def matrix() -> dict[int, dict[int, int]]:
    """The matrix in force, as {urgency: {impact: priority}}."""
    result = {u: dict(row) for u, row in DEFAULT_MATRIX.items()}
    for cell in PriorityMatrixCell.objects.all():
        result[cell.urgency][cell.impact] = cell.priority
    return result


def priority_for(impact: int, urgency: int) -> int:
    # inside an engine batch the whole matrix is read once (tocsin.core.memo)
    if has_memo():
        return memo("priority_matrix", matrix)[urgency][impact]
    cell = PriorityMatrixCell.objects.filter(impact=impact, urgency=urgency).first()
    if cell is not None:
        return cell.priority
    return DEFAULT_MATRIX[urgency][impact]


@transaction.atomic
def priority_matrix_set(
    *, impact: int, urgency: int, priority: int, actor: Actor
) -> PriorityMatrixCell:
    """Set one cell of the matrix (recorded in the audit log when it changes)."""
    for field, value, allowed in (
        ("impact", impact, Level.values),
        ("urgency", urgency, Level.values),
        ("priority", priority, Priority.values),
    ):
        if value not in allowed:
            raise Invalid(field, f"must be one of {', '.join(map(str, allowed))}")
    cell = PriorityMatrixCell.objects.select_for_update().filter(impact=impact, urgency=urgency)
    current = cell.first()
    before = current.priority if current is not None else DEFAULT_MATRIX[urgency][impact]
    if current is None:
        current = PriorityMatrixCell.objects.create(
            impact=impact, urgency=urgency, priority=priority
        )
    elif current.priority != priority:
        current.priority = priority
        current.save(update_fields=["priority"])
    audit_record(
        actor=actor,
        action="priority_matrix.update",
        obj=current,
        before={"priority": before},
        after={"priority": priority},
    )
    return current


@transaction.atomic
def priority_matrix_set_many(*, changes: Iterable[tuple[int, int, int]], actor: Actor) -> None:
    """Set several cells (impact, urgency, priority) at once: all of them or none."""
    for impact, urgency, priority in changes:
        priority_matrix_set(impact=impact, urgency=urgency, priority=priority, actor=actor)
