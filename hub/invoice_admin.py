"""The invoices admin as the hub extends it: a "Dispute" action that calls the same workflow as
POST /api/v1/invoices/{id}/dispute (hub.workflows.disputes), so finance can record a dispute a
customer phoned in. canonical's admin cannot call hub code, so the hub re-registers it here.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from canonical.admin.common import LISTED_ON_CONFIRMATION
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
            context = {
                **self.admin_site.each_context(request),
                "title": "Dispute invoices",
                "intro": "The invoices move to disputed, the ERP hears of it (invoice.disputed) and one finance "
                         "exception per invoice is opened with its order and customer.",
                "opts": self.model._meta,
                "form": form,
                "action_name": "dispute",
                "invoices": list(queryset.select_related("customer", "order")[:LISTED_ON_CONFIRMATION]),
                "count": queryset.count(),
                "selected_ids": list(queryset.values_list("pk", flat=True)),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "form_url": request.get_full_path(),
                "media": self.media + form.media,
            }
            return TemplateResponse(request, "admin/canonical/invoice/dispute.html", context)
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
        text = f"{len(done)} disputed" + (f" ({', '.join(done)})" if done else "")
        if skipped:
            text += f", {len(skipped)} skipped ({'; '.join(skipped)})"
        level = messages.SUCCESS if not skipped else (messages.WARNING if done else messages.ERROR)
        self.message_user(request, text + ".", level)
        return None


admin.site.unregister(Invoice)
admin.site.register(Invoice, HubInvoiceAdmin)
