"""The order timeline in the admin (linked from the order's change page): the same selector as
GET /api/v1/orders/{id}/timeline, rendered for staff, filterable by kind.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse

from canonical.models import Order
from connectors.services.exceptions import user_can_work
from hub.selectors.timeline import Kind, order_timeline

VIEW_PERMISSION = "canonical.view_order"
_RECORD_LABELS = {"shipment": "Shipments", "invoice": "Invoices", "return": "Returns", "credit_memo": "Credit memos",
                  "purchase_order": "Purchase orders"}
# An entry links to its admin page only for users who may open that page.
_LINK_PERMISSIONS = {
    Kind.STATUS_CHANGE: "canonical.view_businessevent",
    Kind.EVENT: "canonical.view_businessevent",
    Kind.DELIVERY_ATTEMPT: "connectors.view_delivery",
    Kind.INBOUND_MESSAGE: "connectors.view_inboundmessage",
    Kind.EXCEPTION: "connectors.view_integrationexception",
    Kind.AUDIT: "canonical.view_auditentry",
}


def _may_open(user, entry, may_open: dict[str, bool]) -> bool:
    if entry.kind == Kind.EXCEPTION:
        return user_can_work(user, entry.data["team"])  # the queues are scoped to the teams a user works
    return may_open[entry.kind]


def _order_timeline_page(request, pk: int):
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("The order timeline needs the 'canonical.view_order' permission.")
    order = Order.objects.select_related("customer").filter(pk=pk).first()
    if order is None:
        raise Http404(f"No order with id {pk}.")
    timeline = order_timeline(order=order)
    shown = [kind for kind in request.GET.getlist("kind") if kind in Kind.values] or list(Kind.values)
    correlation = request.GET.get("correlation", "")
    entries = [entry for entry in timeline.entries
               if entry.kind in shown and (not correlation or entry.correlation_id == correlation)]
    may_open = {kind: request.user.has_perm(permission) for kind, permission in _LINK_PERMISSIONS.items()}
    rows = [{"entry": entry, "link": entry.admin_url if _may_open(request.user, entry, may_open) else "",
             "data_json": json.dumps(entry.data, indent=2, sort_keys=True, default=str)}
            for entry in entries]
    opts = Order._meta
    context = {
        **admin.site.each_context(request),
        "title": f"Timeline of order {order.number}",
        "opts": opts,
        "original": order,
        "order": order,
        "timeline": timeline,
        "rows": rows,
        "record_groups": [(_RECORD_LABELS[kind], list(numbers.values()))
                          for kind, numbers in timeline.records.items() if kind != "order" and numbers],
        "kinds": [(value, label, timeline.counts[value], value in shown) for value, label in Kind.choices],
        "correlation": correlation,
    }
    return TemplateResponse(request, "admin/canonical/order/timeline.html", context)


order_timeline_page = admin.site.admin_view(_order_timeline_page)
