"""One API version: its page, its diff, uploading a new one (dry run first), and lifecycle actions."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from canonical.state import IllegalTransition
from governance.diff import compare_openapi
from governance.models import ApiProduct, ApiVersion, Lifecycle
from governance.pages.access import CHANGE, REVIEW, SUBSCRIPTIONS, UPLOAD, acting, board_required, can
from governance.pages.diffview import finding_rows
from governance.pages.forms import ReasonForm, SubscribeForm, UploadForm, WaiverForm, form_errors
from governance.selectors import days_until, subscribable_consumers, subscriptions_of, versions_of
from governance.services import (
    GovernanceError,
    api_version_block,
    api_version_check,
    api_version_retire,
    api_version_submit,
    api_version_unblock,
    api_version_upload,
    api_version_waive,
    api_version_withdraw,
)
from governance.services.registry import approvals_of, findings_of


def _version(slug: str, version: str) -> ApiVersion:
    return get_object_or_404(
        ApiVersion.objects.select_related("product__owner_team", "compared_with", "replacement__product",
                                          "created_by"),
        product__slug=slug, version=version,
    )


def version_url(version: ApiVersion) -> str:
    return reverse("governance:version", args=[version.product.slug, version.version])


@board_required()
def version_detail(request, slug: str, version: str):
    found = _version(slug, version)
    report = found.compatibility_report or {}
    can_change = can(request, CHANGE)
    can_subscribe = can(request, SUBSCRIPTIONS)
    waivable = found.status == Lifecycle.DRAFT and can_change
    style_findings = [
        {**finding, "waiver_form": WaiverForm(initial={
            "check_id": finding["check_id"], "path": finding["location"].get("path"),
            "method": finding["location"].get("method") or ""}, prefix=f"w{index}")
         if waivable and not finding.get("waived") and finding["location"].get("path") else None}
        for index, finding in enumerate(found.style_findings)
    ]
    context = {
        "version": found,
        "product": found.product,
        "verdict": report.get("verdict"),
        "counts": (report.get("report") or {}).get("counts", {}),
        "style_findings": style_findings,
        "style_blockers": sum(1 for f in style_findings if f["severity"] == "error" and not f.get("waived")),
        "reviews": found.reviews.select_related("reviewer").order_by("-at"),
        "approvals": approvals_of(found),
        "sunset_days": days_until(found.sunset_at),
        "can_change": can_change,
        "can_review": can(request, REVIEW),
        "can_subscribe": can_subscribe,
        "reason_form": ReasonForm(),
        "subscriptions": list(subscriptions_of(found)),
        "subscribe_form": (SubscribeForm(consumers=subscribable_consumers(found))
                           if can_subscribe and found.status == Lifecycle.PUBLISHED else None),
    }
    return render(request, "governance/version.html", context)


@board_required()
def version_openapi(request, slug: str, version: str):
    found = _version(slug, version)
    response = HttpResponse(json.dumps(found.openapi, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'inline; filename="{slug}-{version}.openapi.json"'
    return response


@board_required()
def version_diff(request, slug: str, version: str):
    """Findings of this version against another (the one its report was made against, or ?against=)."""
    new = _version(slug, version)
    others = [v for v in versions_of(new.product) if v.pk != new.pk]
    against = request.GET.get("against") or (new.compared_with.version if new.compared_with else "")
    old = next((v for v in others if v.version == against), None)
    context = {"version": new, "product": new.product, "others": others, "old": old}
    if old is not None:
        old_full = ApiVersion.objects.only("openapi").get(pk=old.pk)
        if new.compared_with_id == old.pk and new.compatibility_report.get("report"):
            findings = findings_of(new)
            verdict = new.compatibility_report.get("verdict")
        else:
            report = compare_openapi(old_full.openapi, new.openapi)
            findings = [f.to_dict() for f in report.findings]
            verdict = report.verdict(old.version, new.version).to_dict()
        context.update(rows=finding_rows(findings, old_full.openapi, new.openapi), verdict=verdict,
                       counts={s: sum(1 for f in findings if f["severity"] == s) for s in ("error", "warning", "info")})
    return render(request, "governance/diff.html", context)


@board_required(UPLOAD)
def version_upload(request, slug: str):
    """GET: the form. POST action=check: the dry-run report, nothing stored. POST action=upload: store it."""
    product = get_object_or_404(ApiProduct, slug=slug)
    form = UploadForm(request.POST or None, request.FILES or None)
    context = {"product": product, "form": form}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        arguments = {"product": product, "source": data["source"], "version": data["version"],
                     "waivers": data["waiver_list"]}
        if request.POST.get("action") == "upload":
            try:
                created = api_version_upload(changelog=data["changelog"], actor=acting(request), **arguments)
            except GovernanceError as exc:
                check = getattr(exc, "check", None)
                context.update(check=check, refused=exc)
            else:
                messages.success(request, f"{created} is stored as a draft. Submit it for review when ready.")
                return redirect(version_url(created))
        else:
            context["check"] = api_version_check(**arguments)
        check = context.get("check")
        if check is not None:
            context["source_text"] = data["source"]
            if check.previous is not None and check.report is not None and check.document is not None:
                context["rows"] = finding_rows([f.to_dict() for f in check.report.findings],
                                               check.previous.openapi, check.document)
    return render(request, "governance/upload.html", context)


def offer_deprecation(request, published) -> None:
    """Publishing a new major offers to deprecate the older majors that are still published."""
    for older in published.older_majors:
        if older.status == Lifecycle.PUBLISHED:
            messages.info(request, f"{older} is an older major version and still published: "
                                   f"plan its deprecation from the product page.")


def _act(request, slug: str, version: str, action, success):
    """Run ``action`` on the version; ``success``: a template ({version}, {result}) or a function of
    (version, result) giving the message, for a text that holds what someone typed (a path with {id})."""
    found = _version(slug, version)
    try:
        result = action(found)
    except (GovernanceError, IllegalTransition) as exc:
        reasons = getattr(exc, "reasons", [])
        messages.error(request, " ".join([str(exc), *reasons]))
    else:
        messages.success(request, success(found, result) if callable(success)
                         else success.format(version=found, result=result))
    return redirect(version_url(found))


@require_POST
@board_required(CHANGE)
def version_submit(request, slug: str, version: str):
    def submit(found):
        result = api_version_submit(version=found, actor=acting(request))
        if result.published is not None:
            messages.info(request, f"{found.product.name} needs no approvals: {found.version} is published.")
            offer_deprecation(request, result.published)
        return result

    return _act(request, slug, version, submit, "{version} is submitted to the board for review.")


@require_POST
@board_required(CHANGE)
def version_waive(request, slug: str, version: str):
    """Waive one style finding of a draft, with the reason (the form sits next to the finding)."""
    found = _version(slug, version)
    prefix = request.POST.get("prefix", "")
    form = WaiverForm(request.POST, prefix=prefix if prefix.startswith("w") and prefix[1:].isdigit() else None)
    if not form.is_valid():
        messages.error(request, f"Not waived: {form_errors(form)}")
        return redirect(version_url(found) + "#style-heading")
    return _act(request, slug, version,
                lambda v: api_version_waive(version=v, waivers=[form.waiver()], actor=acting(request)),
                lambda _version, _result: f"Waived {form.cleaned_data['check_id']} for "
                                          f"{form.cleaned_data['path']}: the reason is kept with the version.")


@require_POST
@board_required(CHANGE)
def version_withdraw(request, slug: str, version: str):
    return _act(request, slug, version, lambda v: api_version_withdraw(version=v, actor=acting(request)),
                "{version} is back in draft.")


@require_POST
@board_required(CHANGE)
def version_retire(request, slug: str, version: str):
    note = request.POST.get("note", "")
    return _act(request, slug, version, lambda v: api_version_retire(version=v, actor=acting(request), note=note),
                "{version} is retired: calls to it now get 410 Gone.")


@require_POST
@board_required(CHANGE)
def version_block(request, slug: str, version: str):
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Blocking needs a reason; consumers see it in the 403 they get.")
        return redirect(version_url(_version(slug, version)))
    reason = form.cleaned_data["reason"]
    return _act(request, slug, version, lambda v: api_version_block(version=v, reason=reason, actor=acting(request)),
                "{version} is blocked: every call gets 403 until it is unblocked.")


@require_POST
@board_required(CHANGE)
def version_unblock(request, slug: str, version: str):
    return _act(request, slug, version, lambda v: api_version_unblock(version=v, actor=acting(request)),
                "{version} is unblocked.")

