"""Where a hub workflow takes over a canonical write.

canonical imports none of the apps above it (see the conventions), so a setting names the hub's
function, which does the canonical write and what follows from it; an empty setting leaves the
plain canonical service (the canonical tests use that).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


def write_service(setting: str, default: Callable) -> Callable:
    """The function ``settings.<setting>`` names (a dotted path), or ``default`` when it is empty."""
    path = getattr(settings, setting, "")
    return _imported(path) if path else default


@cache
def _imported(path: str) -> Callable:
    return import_string(path)
