"""The orders admin as the hub extends it: on a held order's page, why it is held (its
``order.credit_hold`` event, as the credit-hold queue reads it), the account's credit now, the open
credit-hold exception and the way to the queue where finance releases or rejects it; and the order's
exceptions among its related lists; and cancelling orders ("Cancel orders…" on the list, "Cancel
order…" on an order's page), with a reason, through the same workflow as POST
/api/v1/orders/{id}/cancel. canonical's admin cannot import the hub, so the hub re-registers it.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse

from canonical.admin.common import (
    action_confirmed,
    admin_change_url,
    changelist_link,
    done_and_skipped,
    request_actor,
    viewable_change_url,
    viewer_has_perm,
)
from canonical.models import ORDER_TRANSITIONS, Order, OrderStatus
from connectors.models import ACTIVE_EXCEPTION_STATUSES, Category, IntegrationException
from connectors.services.exceptions import each_in_its_own_transaction
from hub.pages.credit import credit_hold_queue_url
from hub.selectors.credit import credit_by_customer, held_orders, hold_reason_of
from hub.workflows.credit import RELEASE_PERMISSION
from hub.workflows.orders import order_cancel

_base = type(admin.site.get_model_admin(Order))


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Why the order is cancelled: carried by its order.cancelled event, with who cancelled it.",
    )


class HubOrderAdmin(_base):
    readonly_fields = (*_base.readonly_fields, "credit_hold")
    actions = [*(_base.actions or []), "cancel_orders"]

    def get_urls(self):
        cancel = path("<path:object_id>/cancel/", self.admin_site.admin_view(self.cancel_view),
                      name="canonical_order_cancel")
        return [cancel, *super().get_urls()]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        can_cancel = (obj is not None and self.has_change_permission(request)
                      and ORDER_TRANSITIONS.can(obj.status, OrderStatus.CANCELLED))
        context["cancel_url"] = reverse("admin:canonical_order_cancel", args=[obj.pk]) if can_cancel else ""
        return super().render_change_form(request, context, add, change, form_url, obj)

    def cancel_view(self, request, object_id):
        """'Cancel order…' on an order's page: the action's page for that one order."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        order = self.get_object(request, unquote(object_id))
        if order is None:
            self.message_user(request, f"There is no order with id {object_id!r}.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:canonical_order_changelist"))
        page = admin_change_url(order)
        return self.cancel_orders(request, self.get_queryset(request).filter(pk=order.pk), back_url=page) \
            or HttpResponseRedirect(page)

    @admin.action(description="Cancel orders…", permissions=["change"])
    def cancel_orders(self, request, queryset, back_url: str = ""):
        queryset = queryset.select_related("customer")
        one = queryset.count() == 1
        form, page = action_confirmed(
            self, request, queryset, form_class=CancelForm, action="cancel_orders",
            title="Cancel an order" if one else "Cancel orders",
            intro="Each order gives back the stock it holds, withdraws the purchase orders its supplier has not "
                  "acknowledged and moves to cancelled (order.cancelled tells the ERP and the warehouse). Orders "
                  "that have shipped, been invoiced or closed are left as they are.",
            describe=lambda order: f"{order.number} · {order.get_status_display().lower()} · {order.customer.name} "
                                   f"· {order.total_amount} {order.currency}",
            submit_label="Cancel the order" if one else "Cancel the orders", back_url=back_url,
        )
        if page is not None:
            return page
        actor, reason = request_actor(request), form.cleaned_data["reason"].strip()
        done, skipped = [], []
        for order, result, why in each_in_its_own_transaction(
            queryset.order_by("pk"), lambda order: order_cancel(order=order, actor=actor, reason=reason),
            gone=Order.DoesNotExist,
            illegal=lambda exc: f"it is {OrderStatus(exc.current).label.lower()} and cannot be cancelled any more",
        ):
            if why or not result.changed:
                skipped.append(f"{order.number}: {why or 'already cancelled'}")
            else:
                done.append(order.number)
        self.message_user(request, *done_and_skipped(done, skipped, verb="cancelled", skipped_as="left as they were"))
        return None

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
