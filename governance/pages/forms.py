"""Forms of the governance board's pages."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from governance.diff import OpenAPIDocumentError, parse_document
from governance.models import ApiVersion, Consumer, Lifecycle, RatePlan, ReviewDecision

MAX_UPLOAD_BYTES = 2 * 1024 * 1024


class UploadForm(forms.Form):
    version = forms.CharField(
        required=False, max_length=60,
        help_text="Semantic version, e.g. 2.0.0. Leave empty to use the document's info.version.",
    )
    document_file = forms.FileField(required=False, label="OpenAPI file (JSON or YAML)")
    document_text = forms.CharField(
        required=False, label="…or paste the document", widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"})
    )
    changelog = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    waivers = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text='Style waivers as JSON or YAML: a list of {check_id, path, method, reason}.',
    )

    def clean(self):
        data = super().clean()
        upload = data.get("document_file")
        text = data.get("document_text") or ""
        if upload is not None:
            if upload.size > MAX_UPLOAD_BYTES:
                raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
            raw = upload.read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.") from None
        if not text.strip():
            raise forms.ValidationError("Choose an OpenAPI file or paste the document.")
        data["source"] = text
        waivers_text = (data.get("waivers") or "").strip()
        data["waiver_list"] = []
        if waivers_text:
            try:
                parsed = parse_document(waivers_text, name="The waivers")
            except OpenAPIDocumentError as exc:
                self.add_error("waivers", str(exc))
                return data
            if not isinstance(parsed, list):
                self.add_error("waivers", "Give the waivers as a list, e.g. "
                                          '[{"check_id": "…", "path": "/…", "method": "GET", "reason": "…"}].')
            else:
                data["waiver_list"] = parsed
        return data


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=ReviewDecision.choices)
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("decision") == ReviewDecision.REJECT and not (data.get("comment") or "").strip():
            self.add_error("comment", "Say why: a rejection goes back to the authors.")
        return data


def form_errors(form, sep: str = " ") -> str:
    """Every error of a bound form, as one line for a message."""
    return sep.join(str(e) for errors in form.errors.values() for e in errors)


def back_url(request, default: str) -> str:
    """The page a form posted ``next`` names, when it is on this site; else ``default``."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _aware(day, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at), timezone.get_current_timezone())


class DeprecationForm(forms.Form):
    deprecated_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Deprecation date")
    sunset_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Sunset date",
                                help_text="After this day the version may be retired and answer 410.")
    replacement = forms.ModelChoiceField(queryset=ApiVersion.objects.none(), required=False,
                                         empty_label="— no replacement —")
    notify = forms.BooleanField(required=False, initial=True, label="E-mail the affected consumers")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Note for the audit trail")

    def __init__(self, *args, version: ApiVersion, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version
        notice = version.product.minimum_deprecation_notice_days
        today = timezone.localdate()
        start = version.deprecated_at.date() if version.deprecated_at else today
        self.fields["deprecated_on"].initial = start
        self.fields["sunset_on"].initial = (version.sunset_at.date() if version.sunset_at
                                            else start + timedelta(days=notice))
        self.fields["sunset_on"].help_text = (
            f"At least {notice} days after the deprecation date ({version.product.name}'s minimum notice).")
        self.fields["replacement"].queryset = (
            ApiVersion.objects.filter(product=version.product, status=Lifecycle.PUBLISHED)
            .exclude(pk=version.pk).select_related("product").defer("openapi").order_by("-major", "-minor", "-patch")
        )
        self.fields["replacement"].label_from_instance = lambda v: f"{v.product.name} {v.version}"
        self.fields["replacement"].initial = version.replacement_id or (
            self.fields["replacement"].queryset.filter(major__gt=version.major).values_list("pk", flat=True).first())

    def clean(self):
        data = super().clean()
        if data.get("deprecated_on") and data.get("sunset_on"):
            data["deprecated_at"] = _aware(data["deprecated_on"], time(0, 0))
            data["sunset_at"] = _aware(data["sunset_on"], time(0, 0))
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class WaiverForm(forms.Form):
    """Waive one style finding of a draft: the finding's check, path and method, and why."""

    check_id = forms.CharField(max_length=80, widget=forms.HiddenInput)
    path = forms.CharField(max_length=500, widget=forms.HiddenInput)
    method = forms.CharField(max_length=10, required=False, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, error_messages={"required": "Give the reason for the waiver."})

    def waiver(self) -> dict:
        data = self.cleaned_data
        return {"check_id": data["check_id"], "path": data["path"], "method": data["method"] or None,
                "reason": data["reason"]}


class SubscribeForm(forms.Form):
    consumer = forms.ModelChoiceField(queryset=Consumer.objects.none(), empty_label="— choose a consumer —")
    rate_plan = forms.ModelChoiceField(queryset=RatePlan.objects.order_by("name"), required=False,
                                       empty_label="— the consumer's plan —",
                                       help_text="Limits for calls to this API; empty uses the consumer's "
                                                 "own plan, or the default plan.")
    note = forms.CharField(required=False, max_length=500, label="Note for the audit trail")

    def __init__(self, *args, consumers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consumer"].queryset = consumers
        self.fields["consumer"].label_from_instance = lambda c: f"{c.name} ({c.system.code})"


class SubscriptionDecisionForm(forms.Form):
    """Approve a pending subscription, or decline / revoke one; taking access away needs a reason."""

    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("revoke", "Decline or revoke")])
    note = forms.CharField(required=False, max_length=500)

    def clean(self):
        data = super().clean()
        if data.get("decision") == "revoke" and not (data.get("note") or "").strip():
            self.add_error("note", "Say why: the reason is kept in the audit trail.")
        return data
