"""Errors the canonical services raise; the API turns each into a problem detail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class CanonicalError(Exception):
    status_code = 409
    slug = "conflict"
    title = "Conflict"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotSystemOfRecord(CanonicalError):
    status_code = 409
    slug = "not-system-of-record"
    title = "Not the system of record"

    def __init__(self, *, domain: str, writer: str, owner: str | None):
        if owner:
            detail = f"System '{writer}' cannot write {domain}: the system of record for {domain} is '{owner}'."
        else:
            detail = f"System '{writer}' cannot write {domain}: no system of record is configured for {domain}."
        super().__init__(detail, domain=domain, writer=writer, system_of_record=owner)


class UnknownReference(CanonicalError):
    status_code = 404
    slug = "unknown-reference"
    title = "Unknown reference"


class BusinessRuleViolation(CanonicalError):
    status_code = 422
    slug = "business-rule"
    title = "Business rule violated"


class NaturalKeyConflict(CanonicalError):
    status_code = 409
    slug = "natural-key-conflict"
    title = "Natural key already in use"


@contextmanager
def pointers_under(prefix: str) -> Iterator[None]:
    """Name the fields of a CanonicalError raised in the block under ``prefix`` (a JSON pointer).

    For a service given a part of a request body (a milestone's ``shipment``, an inbound message's
    ``invoice``): its errors point into that part, and the partner must be told where in the body.
    """
    try:
        yield
    except CanonicalError as exc:
        for error in exc.extra.get("errors") or []:
            if isinstance(error, dict) and isinstance(error.get("pointer"), str):
                error["pointer"] = prefix + ("" if error["pointer"] == "/" else error["pointer"])
        raise
