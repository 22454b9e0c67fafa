"""The small, safe set of value transforms a mapping rule may name. No expressions, no eval."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime


class TransformFailed(ValueError):
    pass


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TransformFailed(f"'{name}' needs text, got {_kind(value)}")
    return value


def _number(name: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise TransformFailed(f"'{name}' needs a number, got {_kind(value)}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise TransformFailed(f"'{value}' is not a number") from None
    if not number.is_finite():
        raise TransformFailed(f"'{value}' is not a finite number")
    return number


def to_int(value: Any) -> int:
    number = _number("int", value)
    if number != number.to_integral_value():
        raise TransformFailed(f"'{value}' is not a whole number")
    return int(number)


def to_decimal(value: Any) -> str:
    # Kept as text so that the value survives JSON without binary floating-point rounding.
    return str(_number("decimal", value))


def to_date(value: Any) -> str:
    text = _text("date", value).strip()
    try:
        parsed = parse_date(text)
        if parsed is None:
            moment = parse_datetime(text)
            parsed = moment.date() if moment is not None else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise TransformFailed(f"'{value}' is not a date (YYYY-MM-DD)")
    return parsed.isoformat()


def to_datetime_iso(value: Any) -> str:
    """ISO 8601 with offset. A value without an offset is read as UTC, the hub's clock."""
    text = _text("datetime_iso", value).strip()
    try:
        moment = parse_datetime(text)
        if moment is None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = parse_date(text)
            moment = dt.datetime(day.year, day.month, day.day) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise TransformFailed(f"'{value}' is not an ISO 8601 date-time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.isoformat()


def to_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | Decimal):
        return str(value)
    raise TransformFailed(f"'str' needs a single value, got {_kind(value)}")


TRANSFORMS: dict[str, Callable[[Any], Any]] = {
    "upper": lambda value: _text("upper", value).upper(),
    "lower": lambda value: _text("lower", value).lower(),
    "strip": lambda value: _text("strip", value).strip(),
    "int": to_int,
    "decimal": to_decimal,
    "date": to_date,
    "datetime_iso": to_datetime_iso,
    "str": to_str,
}
