"""Errors of the mapping engine: every failing field named by its pointer, with the reason."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One field that could not be mapped: where in the input (``pointer``), why, and the output it was for."""

    pointer: str
    reason: str
    target: str = ""

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.reason}"

    def as_problem_error(self) -> dict:
        """The shape hub.problems uses for field errors."""
        field = self.pointer.rsplit("/", 1)[-1] or None
        error = {"pointer": self.pointer or "/", "field": field, "messages": [self.reason]}
        if self.target:
            error["target"] = self.target
        return error


class MappingError(Exception):
    """The input could not be mapped. ``errors`` lists every failing field, not just the first."""

    def __init__(self, errors: list[FieldError], *, mapping: str = ""):
        self.errors = list(errors)
        self.mapping = mapping
        prefix = f"Mapping '{mapping}' failed" if mapping else "Mapping failed"
        super().__init__(f"{prefix}: " + "; ".join(str(error) for error in self.errors))

    def as_problem_errors(self) -> list[dict]:
        return [error.as_problem_error() for error in self.errors]


class MappingSpecError(ValueError):
    """The mapping specification itself is invalid (a configuration error, not bad input)."""

    def __init__(self, problems: list[str], *, mapping: str = ""):
        self.problems = list(problems)
        self.mapping = mapping
        prefix = f"Mapping spec '{mapping}' is invalid" if mapping else "Mapping spec is invalid"
        super().__init__(f"{prefix}: " + "; ".join(self.problems))
