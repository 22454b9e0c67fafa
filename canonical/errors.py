"""Errors the canonical services raise; the API turns each into a problem detail."""

from __future__ import annotations


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
