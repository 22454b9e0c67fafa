"""Step (e) of inbound processing: parse, validate against the schema, map, and run the handler.

Every way this can fail ends as an InboundFailure (see failure_from), which the pipeline in
connectors.services.inbound turns into the partner's problem detail and an exception.
"""

from __future__ import annotations

import json
import logging
import math

from canonical.errors import CanonicalError
from canonical.json_depth import TOO_DEEP, JSONTooDeep, json_depth_check
from canonical.models import SystemKind
from canonical.state import IllegalTransition
from connectors.inbound.errors import InboundFailure, summary
from connectors.inbound.registry import (
    HandlerContext,
    HandlerResult,
    message_type_get,
    message_types,
    schema_errors,
    schema_validator,
)
from connectors.mapping import MappingError, MappingSpecError, apply_mapping, spec_validate
from connectors.models import Category, Connector, InboundMessage, MappingDirection, Severity
from connectors.models import Mapping as MappingModel

logger = logging.getLogger("connectors.inbound")


def inbound_mapping_for(connector: Connector | None, message_type: str) -> MappingModel | None:
    """The connector's active inbound mapping for ``message_type``, the newest version.

    A connector loaded for a message (connectors.services.inbound) carries ``inbound_mapping_ids``
    ({message type: mapping id or None}); a message type it names without a mapping costs no query.
    """
    if connector is None:
        return None
    known = getattr(connector, "inbound_mapping_ids", {})
    if message_type in known and known[message_type] is None:
        return None
    return (
        MappingModel.objects.filter(
            connector=connector, message_type=message_type, direction=MappingDirection.INBOUND, is_active=True
        )
        .order_by("-version")
        .first()
    )


class _NotANumber(ValueError):
    pass


def _refuse_constant(name: str):
    raise _NotANumber(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # e.g. 1e999: Python reads it as infinity
        raise _NotANumber(f"{text} is too large for a number")
    return value


def _parse(body: bytes | str) -> object:
    try:
        # Python's decoder reads NaN and Infinity, and 1e999 as infinity; JSON and jsonb have neither.
        document = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite)
        json_depth_check(document)
        return document
    except _NotANumber as exc:
        raise InboundFailure(400, f"The body is not valid JSON: {exc}.", slug="malformed-json",
                             title="Malformed request body", category=Category.VALIDATION) from None
    except (RecursionError, JSONTooDeep):
        raise InboundFailure(400, TOO_DEEP, slug="malformed-json", title="Malformed request body",
                             category=Category.VALIDATION) from None
    except UnicodeDecodeError as exc:
        raise InboundFailure(400, f"The body is not UTF-8 text: {exc.reason} at byte {exc.start}.",
                             slug="malformed-json", title="Malformed request body", category=Category.VALIDATION) from exc
    except ValueError as exc:
        raise InboundFailure(
            400, f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
            slug="malformed-json", title="Malformed request body", category=Category.VALIDATION,
        ) from exc


def _validation_failure(errors: list[dict], what: str) -> InboundFailure:
    return InboundFailure(
        400, f"{what} does not match its schema: {summary(errors)}", slug="validation-error",
        title="Validation failed", category=Category.VALIDATION, errors=errors,
    )


def message_apply(message: InboundMessage, body: bytes | str, ctx: HandlerContext) -> HandlerResult:
    """Parse, validate, map and hand the message to its type's handler; raises on any failure."""
    message_type = message_type_get(message.message_type)
    if message_type is None:
        known = ", ".join(t.name for t in message_types())
        raise InboundFailure(
            404, f"'{message.message_type}' is not a message type the hub accepts; known types: {known}.",
            slug="unknown-message-type", category=Category.VALIDATION,
        )
    document = _parse(body)
    mapping = inbound_mapping_for(message.connector, message.message_type)
    if mapping is None:
        errors = schema_errors(message_type.validator, document)
        if errors:
            raise _validation_failure(errors, f"The {message.message_type} message")
        payload = document
    else:
        payload = _mapped(mapping, document, message.message_type, message_type.validator)
    if message.system.kind == SystemKind.SUPPLIER:
        ctx.links["supplier"] = message.system
    return message_type.handler(ctx, payload)


def _mapped(mapping: MappingModel, document, message_type: str, validator) -> dict:
    try:
        spec = spec_validate(mapping.spec, name=str(mapping))
    except MappingSpecError as exc:
        raise InboundFailure(
            500, f"The hub's mapping for {message_type} is misconfigured; the integration team has been told.",
            slug="mapping-misconfigured", category=Category.MAPPING, severity=Severity.HIGH,
            errors=[{"pointer": "/", "messages": exc.problems}],
        ) from exc
    if "source_schema" in spec:
        errors = schema_errors(schema_validator(spec["source_schema"]), document)
        if errors:
            raise _validation_failure(errors, "The message")
    try:
        payload = apply_mapping(mapping, document)
    except MappingError as exc:
        raise InboundFailure(
            422, str(exc), slug="mapping-error", title="The message could not be mapped",
            category=Category.MAPPING, errors=exc.as_problem_errors(), mapping=str(mapping),
        ) from exc
    errors = schema_errors(validator, payload, label="mapped")
    if errors:
        raise InboundFailure(
            422, f"Mapped through {mapping}, the message is not a valid {message_type}: {summary(errors)}",
            slug="mapping-error", title="The message could not be mapped", category=Category.MAPPING,
            errors=errors, mapping=str(mapping),
        )
    return payload


def failure_from(exc: Exception) -> InboundFailure:
    """Any error raised while applying a message, as the InboundFailure the partner and staff see."""
    if isinstance(exc, InboundFailure):
        return exc
    if isinstance(exc, IllegalTransition):
        return InboundFailure(
            409, str(exc), slug="illegal-transition", title="Illegal status transition",
            category=Category.BUSINESS_RULE, **exc.problem_members(),
        )
    if isinstance(exc, CanonicalError):
        extra = dict(exc.extra)
        errors = extra.pop("errors", None)
        category = Category.VALIDATION if exc.status_code in (400, 404) else Category.BUSINESS_RULE
        return InboundFailure(
            exc.status_code, exc.detail, slug=exc.slug, title=exc.title, category=category, errors=errors, **extra
        )
    logger.exception("inbound processing failed unexpectedly")
    return InboundFailure(
        500, "The hub failed to process the message; it is kept and the integration team has been told.",
        slug="server-error", category=Category.BUSINESS_RULE, severity=Severity.HIGH,
        errors=[{"pointer": "/", "messages": [f"{type(exc).__name__}: {exc}"[:500]]}],
    )
