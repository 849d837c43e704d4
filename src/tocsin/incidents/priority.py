"""Impact x urgency → priority, through the matrix an administrator can edit."""

from __future__ import annotations

from tocsin.incidents.models import PriorityMatrixCell

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
    cell = PriorityMatrixCell.objects.filter(impact=impact, urgency=urgency).first()
    if cell is not None:
        return cell.priority
    return DEFAULT_MATRIX[urgency][impact]
