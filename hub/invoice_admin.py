"""The invoices admin as the hub extends it: a "Dispute" action that calls the same workflow as
POST /api/v1/invoices/{id}/dispute (hub.workflows.disputes), so finance can record a dispute a
customer phoned in. canonical's admin cannot call hub code, so the hub re-registers it here.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin

from canonical.admin.common import LISTED_ON_CONFIRMATION, action_page, done_and_skipped
from canonical.models import Invoice
from connectors.admin.exceptions import request_actor
from connectors.services.exceptions import each_in_its_own_transaction
from hub.workflows.disputes import REASON_MAX_LENGTH, invoice_dispute


class DisputeForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="What the customer contests; kept on the invoice and in the finance exception.",
    )
    disputed_amount = forms.DecimalField(
        required=False, min_value=Decimal("0.01"), max_digits=18, decimal_places=2,
        help_text="The part contested, in the invoice's currency; empty for the whole invoice. An invoice "
                  "worth less is skipped, saying so.",
    )


_base = type(admin.site.get_model_admin(Invoice))


class HubInvoiceAdmin(_base):
    actions = [*(_base.actions or []), "dispute"]

    @admin.action(description="Dispute (opens a finance exception)", permissions=["change"])
    def dispute(self, request, queryset):
        form = DisputeForm(request.POST if "apply" in request.POST else None)
        if not form.is_bound or not form.is_valid():
            return action_page(
                self, request, queryset, form=form, action="dispute", title="Dispute invoices",
                intro="The invoices move to disputed, the ERP hears of it (invoice.disputed) and one finance "
                      "exception per invoice is opened with its order and customer.",
                template="admin/canonical/invoice/dispute.html",
                invoices=list(queryset.select_related("customer", "order")[:LISTED_ON_CONFIRMATION]),
            )
        actor = request_actor(request)
        done, skipped = [], []
        for invoice, _, why in each_in_its_own_transaction(
            queryset.order_by("pk"),
            lambda invoice: invoice_dispute(invoice=invoice, reason=form.cleaned_data["reason"], actor=actor,
                                            disputed_amount=form.cleaned_data["disputed_amount"]),
            gone=Invoice.DoesNotExist, illegal=lambda exc: f"it is {exc.current} and cannot be disputed",
        ):
            if why:
                skipped.append(f"{invoice.number}: {why}")
            else:
                done.append(invoice.number)
        self.message_user(request, *done_and_skipped(done, skipped, verb="disputed"))
        return None


admin.site.unregister(Invoice)
admin.site.register(Invoice, HubInvoiceAdmin)
