"""Who is acting, and under which correlation, for the audit trail and the events a change emits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from canonical.models import System


def new_correlation_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Actor:
    """The acting user or system. Every service takes one as ``actor``."""

    user: AbstractBaseUser | None = None
    system: System | None = None
    correlation_id: str = field(default_factory=new_correlation_id)
    causation_id: str = ""

    @property
    def label(self) -> str:
        if self.user is not None and getattr(self.user, "is_authenticated", False):
            return f"user:{self.user.get_username()}"
        if self.system is not None:
            return f"system:{self.system.code}"
        return "hub"

    def caused_by(self, causation_id: str) -> Actor:
        return replace(self, causation_id=str(causation_id))

    @classmethod
    def hub(cls, *, correlation_id: str | None = None) -> Actor:
        return cls(correlation_id=correlation_id or new_correlation_id())
