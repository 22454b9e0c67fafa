"""How processing an inbound message fails: one error type carrying the answer and the queue category."""

from __future__ import annotations


class InboundFailure(Exception):
    """A message could not be processed. Becomes the partner's problem detail and the exception's facts.

    ``errors`` are field errors in the problem-detail shape: {"pointer", "field", "messages"}.
    """

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        slug: str,
        category: str,
        title: str | None = None,
        errors: list[dict] | None = None,
        severity: str = "medium",
        **extra,
    ):
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.slug = slug
        self.category = category
        self.title = title
        self.errors = errors or []
        self.severity = severity
        self.extra = extra


def flatten_field_errors(detail, pointer: str = "") -> list[dict]:
    """A DRF ValidationError's nested detail → [{pointer, field, messages}], pointers under ``pointer``."""
    errors: list[dict] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            errors += flatten_field_errors(value, pointer if key == "non_field_errors" else f"{pointer}/{key}")
    elif isinstance(detail, list) and detail and all(isinstance(item, str) for item in detail):
        errors.append(_error(pointer, [str(item) for item in detail]))
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if item:
                errors += flatten_field_errors(item, f"{pointer}/{index}")
    elif detail:
        errors.append(_error(pointer, [str(detail)]))
    return errors


def _error(pointer: str, messages: list[str]) -> dict:
    return {"pointer": pointer or "/", "field": pointer.rsplit("/", 1)[-1] or None, "messages": messages}


def summary(errors: list[dict], limit: int = 5) -> str:
    parts = [f"{e['pointer']}: {'; '.join(e['messages'])}" for e in errors[:limit]]
    more = f" (and {len(errors) - limit} more)" if len(errors) > limit else ""
    return "; ".join(parts) + more
