"""The runtime policy every partner call under /api/v<N>/ passes through, in this order:

1. key: unknown, revoked or expired → 401 (answered by the view, with the same ApiKeyAuthentication);
2. subscription: no active subscription of the consumer to the product's major → 403;
3. lifecycle: retired → 410 with a link to the replacement; blocked → 403;
4. rate plan: over a limit → 429 with Retry-After; every call counted against a plan, answered or
   refused, carries RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers);
5. the call itself; deprecated versions answer with Deprecation (RFC 9745), Sunset (RFC 8594)
   and Link headers; then usage is counted per consumer, version, day and status class.

Why a Django middleware rather than a DRF permission/throttle in a base view: the partner API is
served by views of several apps (canonical, connectors, and whatever comes next), and a middleware
covers every one of them without each view having to inherit a mixin; it also sees the final
response (its status for usage counting, its headers for deprecation) whatever produced it.
The key is checked here once, and the principal handed to DRF through the request's forced
authentication, so an API-key call is not authenticated twice.

Staff sessions (no API key on the request) pass straight to the view, which decides on its own;
so do URLs that belong to no registered product. ``HUB_POLICY_ENABLED = False`` turns it off.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date
from rest_framework import exceptions

from canonical.services.prepared import reads_together
from governance.authentication import ApiKeyAuthentication, api_key_read, key_prefix, raw_key_from
from governance.models import ApiVersion, Lifecycle, SubscriptionStatus
from governance.policy.limits import clock, counter
from governance.policy.routing import Resolution, base_path, resolve_read, version_details
from governance.policy.usage import usage_buffer
from hub.problems import ProblemJsonResponse


def policy_enabled() -> bool:
    return getattr(settings, "HUB_POLICY_ENABLED", True)


def carries_api_key(request) -> bool:
    return "HTTP_AUTHORIZATION" in request.META or "HTTP_X_API_KEY" in request.META


def _notice_url(request, version: ApiVersion) -> str:
    return request.build_absolute_uri(
        reverse("governance:notice", args=[version.product.slug, version.version])
    )


def _refuse_unsubscribed(consumer, version: ApiVersion, pending: bool) -> ProblemJsonResponse:
    product = version.product
    team = product.owner_team
    if pending:
        detail = (f"The subscription of '{consumer.name}' to {product.name} {version.version} "
                  f"({version.label}) is waiting for the API governance board's approval.")
    else:
        detail = (f"'{consumer.name}' has no active subscription to {product.name} {version.version} "
                  f"({version.label}). Ask the API governance board to subscribe it "
                  f"(contact {team.contact_email}).")
    return ProblemJsonResponse(
        403, detail=detail, slug="subscription-required", title="No subscription",
        product=product.slug, version=version.version,
        subscribe=f"manage.py create_consumer --system {consumer.system.code} --name \"{consumer.name}\" "
                  f"--subscribe {version.label}",
    )


def _refuse_retired(request, version: ApiVersion) -> ProblemJsonResponse:
    replacement = version.replacement
    when = f" on {version.retired_at:%Y-%m-%d}" if version.retired_at else ""
    detail = f"{version.product.name} {version.version} was retired{when} and no longer answers."
    headers = {}
    extra = {}
    if replacement is not None:
        detail += f" Use {replacement.product.name} {replacement.version} at {base_path(replacement)}."
        headers["Link"] = f'<{_notice_url(request, replacement)}>; rel="successor-version"'
        extra["replacement"] = {"product": replacement.product.slug, "version": replacement.version,
                                "base_path": base_path(replacement)}
    return ProblemJsonResponse(410, detail=detail, slug="api-version-retired", title="API version retired",
                               headers=headers, product=version.product.slug, version=version.version, **extra)


def deprecation_headers(request, version: ApiVersion) -> dict[str, str]:
    notice = _notice_url(request, version)
    links = [f'<{notice}>; rel="deprecation"; type="text/html"']
    headers = {"Deprecation": f"@{int(version.deprecated_at.timestamp())}"}
    if version.sunset_at is not None:
        headers["Sunset"] = http_date(version.sunset_at.timestamp())
        links.append(f'<{notice}>; rel="sunset"; type="text/html"')
    if version.replacement_id:
        links.append(f'<{_notice_url(request, version.replacement)}>; rel="successor-version"')
    headers["Link"] = ", ".join(links)
    return headers


class GovernancePolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.authenticator = ApiKeyAuthentication()

    def __call__(self, request):
        if not request.path_info.startswith("/api/v") or not policy_enabled() or not carries_api_key(request):
            return self.get_response(request)
        try:
            # The key and what the policy decides with, in one round trip: the resolution is read
            # for the consumer of the key with this prefix, and used once the key is known good.
            raw = raw_key_from(request)
            if raw is None:  # another scheme (Basic, a session): the view's authenticators decide
                return self.get_response(request)
            prefix = key_prefix(raw)
            read = resolve_read(request.path_info, key_prefix=prefix)
            if read is None:
                return self.get_response(request)
            key, resolution = reads_together(api_key_read(prefix), read)
            authenticated = self.authenticator.authenticate(request, key=key)
        except exceptions.AuthenticationFailed:
            # The view answers 401 with the same authenticator; some views (inbound messages) must
            # first store what was sent, even with a bad key, so the refusal is theirs to make.
            return self.get_response(request)
        if authenticated is None:
            return self.get_response(request)
        principal, key = authenticated
        # DRF's Request takes these instead of running its authenticators again.
        request._force_auth_user, request._force_auth_token = principal, key
        consumer = principal.consumer
        if resolution is None:
            return self.get_response(request)  # no product claims this URL
        if resolution.version_id is None:
            route = resolution.route
            return ProblemJsonResponse(
                404, detail=f"There is no published version {route.major} of the '{route.product_slug}' API.",
                slug="api-version-unknown", product=route.product_slug, major=route.major,
            )
        response = self._refusal(request, consumer, resolution)
        if response is None:
            rate = counter().hit(consumer.pk, resolution.limits, clock()) if resolution.limits else None
            if rate is not None and not rate.allowed:
                response = ProblemJsonResponse(
                    429, detail=f"Rate plan '{resolution.plan_name}' allows {rate.limit} requests per "
                                f"{rate.period}; try again in {rate.retry_after} s.",
                    slug="rate-limited", headers={"Retry-After": str(rate.retry_after)},
                    rate_plan=resolution.plan_name, period=rate.period, limit=rate.limit,
                )
            else:
                response = self.get_response(request)
                if resolution.status == Lifecycle.DEPRECATED:
                    for name, value in deprecation_headers(request, version_details(resolution.version_id)).items():
                        response[name] = (f"{response[name]}, {value}" if name == "Link" and name in response
                                          else value)
            if rate is not None:
                for name, value in rate.headers().items():
                    response[name] = value
        usage_buffer.add(consumer_id=consumer.pk, version_id=resolution.version_id,
                         status_code=response.status_code, at=timezone.now())
        return response

    def _refusal(self, request, consumer, resolution: Resolution):
        """The subscription's or the lifecycle's refusal, or None (the rate plan is counted after it)."""
        if resolution.subscription != SubscriptionStatus.ACTIVE:
            return _refuse_unsubscribed(consumer, version_details(resolution.version_id),
                                        pending=resolution.subscription == SubscriptionStatus.PENDING)
        if resolution.status == Lifecycle.RETIRED:
            return _refuse_retired(request, version_details(resolution.version_id))
        if resolution.status == Lifecycle.BLOCKED:
            version = version_details(resolution.version_id)
            return ProblemJsonResponse(
                403, detail=f"{version.product.name} {version.version} is blocked by the API governance board: "
                            f"{version.block_reason}", slug="api-version-blocked", title="API version blocked",
                product=version.product.slug, version=version.version,
            )
        return None
