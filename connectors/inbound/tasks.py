"""Worker tasks for inbound messages (django-q2). They take ids and call the service."""

from __future__ import annotations

from connectors.services.inbound import inbound_process, inbound_process_stale


def inbound_process_task(message_id: int) -> str:
    outcome = inbound_process(message_id=message_id)
    return "skipped: not waiting" if outcome is None else f"answered {outcome.status_code}"


def inbound_process_stale_task() -> int:
    """Scheduled: pick up accepted messages whose task was lost with a killed worker."""
    return inbound_process_stale()
