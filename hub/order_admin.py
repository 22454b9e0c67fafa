"""The orders admin as the hub extends it: on a held order's page, why it is held (its
``order.credit_hold`` event, as the credit-hold queue reads it), the account's credit now, the open
credit-hold exception and the way to the queue where finance releases or rejects it; and the order's
exceptions among its related lists. canonical's admin cannot import the hub, so the hub re-registers it.
"""

from __future__ import annotations

from django.contrib import admin
from django.template.loader import render_to_string

from canonical.admin.common import changelist_link, viewable_change_url, viewer_has_perm
from canonical.models import Order, OrderStatus
from connectors.models import ACTIVE_EXCEPTION_STATUSES, Category, IntegrationException
from hub.pages.credit import credit_hold_queue_url
from hub.selectors.credit import credit_by_customer, held_orders, hold_reason_of
from hub.workflows.credit import RELEASE_PERMISSION

_base = type(admin.site.get_model_admin(Order))


class HubOrderAdmin(_base):
    readonly_fields = (*_base.readonly_fields, "credit_hold")

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and obj.status == OrderStatus.CREDIT_HOLD:
            fieldsets.insert(1, ("Credit hold", {"fields": ("credit_hold",)}))
        return fieldsets

    def related_links(self, obj: Order) -> list[str | None]:
        return [*super().related_links(obj),
                changelist_link(IntegrationException, "exceptions", order__id__exact=obj.pk)]

    @admin.display(description="Held")
    def credit_hold(self, obj: Order) -> str:
        held = held_orders(order=obj.pk).first()
        if held is None:
            return "Not on credit hold."
        exception = (
            IntegrationException.objects.filter(order=obj, category=Category.CREDIT_HOLD,
                                                status__in=ACTIVE_EXCEPTION_STATUSES)
            .order_by("-pk").first()
        )
        queue = credit_hold_queue_url(obj.pk)
        return render_to_string("admin/canonical/order/credit_hold.html", {
            "why": hold_reason_of(held.hold_payload),
            "held_since": held.held_since,
            "credit": credit_by_customer([obj.customer]).get(obj.customer_id),
            "exception": exception,
            "exception_url": viewable_change_url(exception),
            "queue_url": queue,
            "can_decide": viewer_has_perm(RELEASE_PERMISSION),
        })


admin.site.unregister(Order)
admin.site.register(Order, HubOrderAdmin)
