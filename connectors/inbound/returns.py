"""Return-to-credit messages: the warehouse's ``return.receipt`` and the ERP's ``credit_memo.posted``."""

from __future__ import annotations

from canonical.api.serializers.billing import CreditMemoUpsertInput, ReturnReceiptInput
from canonical.errors import pointers_under
from canonical.models import CreditMemo, EntityType
from canonical.services.billing import credit_memo_upsert
from canonical.services.refs import external_ref_find
from canonical.services.returns import return_for_receiver, return_receipt_record, return_receiver_assert
from connectors.inbound.registry import HandlerContext, HandlerResult


def _return_summary(rma) -> dict:
    return {"id": rma.pk, "number": rma.number, "status": rma.status}


def return_receipt_message(ctx: HandlerContext, payload: dict) -> HandlerResult:
    from connectors.inbound.handlers import _valid  # the handlers module registers this one

    return_receiver_assert(system=ctx.system)
    rma = return_for_receiver(system=ctx.system, reference=payload["rma"])
    ctx.links.update(order=rma.order, customer=rma.customer)
    serializer = ReturnReceiptInput(
        data={k: payload[k] for k in ("received_at", "lines")}, context={"system": ctx.system, "rma": rma}
    )
    data = _valid(serializer)
    outcome = return_receipt_record(system=ctx.system, rma=rma, data=data, actor=ctx.actor)
    rma = outcome.instance
    rma.refresh_from_db()
    lines = sorted(rma.lines.values_list("order_line__line_number", "quantity_received"))
    return HandlerResult(
        201 if outcome.created else 200,
        {
            "return": _return_summary(rma),
            "lines": [{"line_number": number, "quantity_received": str(quantity)} for number, quantity in lines],
            "created": outcome.created,
            "changed": sorted(outcome.changes),
        },
    )


def credit_memo_posted_message(ctx: HandlerContext, payload: dict) -> HandlerResult:
    from connectors.inbound.handlers import validated

    known = external_ref_find(
        system=ctx.system, entity_type=EntityType.CREDIT_MEMO, external_id=payload["external_id"], model=CreditMemo
    )
    if known is not None:
        ctx.links.update(customer=known.customer, invoice=known.invoice)
    data = validated(CreditMemoUpsertInput, payload["credit_memo"], ctx, "/credit_memo")
    ctx.links.update(customer=data["customer"], invoice=data["invoice"])
    if data["rma"] is not None:
        ctx.links["order"] = data["rma"].order
    with pointers_under("/credit_memo"):
        outcome = credit_memo_upsert(system=ctx.system, external_id=payload["external_id"], data=data,
                                     actor=ctx.actor)
    memo = outcome.instance
    result = {
        "credit_memo": {"id": memo.pk, "number": memo.number, "amount": str(memo.amount)},
        "created": outcome.created,
        "changed": [] if outcome.created else sorted(outcome.changes),
    }
    if memo.rma_id is not None:
        memo.rma.refresh_from_db()
        result["return"] = _return_summary(memo.rma)
    return HandlerResult(201 if outcome.created else 200, result)
