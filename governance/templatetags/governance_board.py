"""Template tags of the governance board's pages."""

from __future__ import annotations

from django import template

from governance.selectors import board_queue_counts

register = template.Library()


@register.simple_tag
def board_queue_count() -> int:
    """Versions in review plus subscription requests: the number on the review queue's tab."""
    return sum(board_queue_counts().values())
