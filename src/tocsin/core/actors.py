"""Who made a change: a person, an API token (and its owner), an integration, or the system."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tocsin.accounts.models import ApiToken, User


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" | "token" | "integration" | "system"
    user: User | None = None
    token: ApiToken | None = None
    label: str = ""
    request_id: str = ""

    @classmethod
    def for_user(cls, user: User, request_id: str = "") -> Actor:
        return cls(kind="user", user=user, label=user.username, request_id=request_id)

    @classmethod
    def for_token(cls, token: ApiToken, request_id: str = "") -> Actor:
        return cls(
            kind="token",
            user=token.user,
            token=token,
            label=f"{token.user.username} (token {token.name or token.prefix})",
            request_id=request_id,
        )

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls(kind="system", label=label)

    @classmethod
    def integration(cls, label: str) -> Actor:
        return cls(kind="integration", label=label)

    def timeline_fields(self) -> dict[str, Any]:
        return {
            "actor_kind": self.kind,
            "actor_user": self.user,
            "actor_token": self.token,
            "actor_label": self.label,
            "request_id": self.request_id[:64],
        }
