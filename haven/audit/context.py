"""Who is acting, and from where: the audit trail's "who" and "from where".

Views and API endpoints build an ``Actor`` from the request (``haven.accounts.actors``) and pass it
to services explicitly; management commands use ``Actor.system``. Services never see a request.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from haven.accounts.models import User


@dataclass(frozen=True)
class Actor:
    user: User | None
    printed_name: str
    # Roles the user holds, by site public id; the audit entry records those at the record's site.
    roles: Mapping[uuid.UUID, tuple[str, ...]] = field(default_factory=dict)
    token_id: uuid.UUID | None = None
    ip: str | None = None
    user_agent: str = ""

    @classmethod
    def system(cls, name: str) -> Actor:
        """An actor for work no person started in the app, e.g. a command run by an operator."""
        return cls(user=None, printed_name=name)

    def roles_at(self, site_id: uuid.UUID | None) -> tuple[str, ...]:
        if site_id is not None:
            return self.roles.get(site_id, ())
        return tuple(sorted({role for roles in self.roles.values() for role in roles}))
