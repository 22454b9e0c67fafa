"""State machines written once, as tables of allowed transitions.

Order status, exception status and API lifecycle each declare one
``TransitionTable``; every status change goes through ``check`` so an illegal
move is refused with its from and to states named.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class IllegalTransition(ValueError):
    def __init__(self, machine: str, current: str, target: str, allowed: Iterable[str]):
        self.machine = machine
        self.current = current
        self.target = target
        self.allowed = sorted(allowed)
        allowed_text = ", ".join(self.allowed) or "none (final state)"
        super().__init__(
            f"{machine} cannot move from '{current}' to '{target}'; allowed from '{current}': {allowed_text}."
        )

    def problem_members(self) -> dict:
        """The members every illegal-transition problem detail carries, whichever API answers it."""
        return {"current_status": self.current, "requested_status": self.target, "allowed": self.allowed,
                "from": self.current, "to": self.target}


class TransitionTable:
    def __init__(self, machine: str, allowed: Mapping[str, Iterable[str]]):
        self.machine = machine
        self._allowed = {state: frozenset(targets) for state, targets in allowed.items()}
        unknown = {t for targets in self._allowed.values() for t in targets} - set(self._allowed)
        if unknown:
            raise ValueError(f"{machine}: targets {sorted(unknown)} are not states of the table")

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self._allowed)

    def allowed_from(self, current: str) -> frozenset[str]:
        return self._allowed.get(current, frozenset())

    def can(self, current: str, target: str) -> bool:
        return target in self.allowed_from(current)

    def check(self, current: str, target: str) -> None:
        if not self.can(current, target):
            raise IllegalTransition(self.machine, current, target, self.allowed_from(current))

    def is_final(self, state: str) -> bool:
        return not self.allowed_from(state)
