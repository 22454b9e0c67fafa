"""Which API product and version a partner URL belongs to, and what the caller may do with it.

``/api/v<major>/<rest>`` belongs to the product whose ``path_prefixes`` holds the longest prefix
of ``<rest>``; the version is the newest live release of that major. It is all read on every
call, so a board decision reaches every web process at once (an in-process copy could not know
when another process changed the registry), in one SQL statement: the route, the serving
version, the caller's subscription and the rate plan that applies, sent in the same round trip
as the lookup of the caller's API key (governance.policy.middleware). This runs before every
partner call, so it is plain SQL rather than ORM querysets (whose compilation costs more than
the query), and on PostgreSQL a statement prepared once per connection (planning it costs
several times more than running it).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection

from canonical.services.prepared import Read
from governance.models import (
    LIVE_STATES,
    ApiKey,
    ApiProduct,
    ApiSubscription,
    ApiVersion,
    Consumer,
    RatePlan,
    SubscriptionStatus,
)

API_PATH = re.compile(r"^/api/v(?P<major>[0-9]+)/(?P<rest>.*)$")


@dataclass(frozen=True)
class Route:
    product_id: int
    product_slug: str
    major: int


def longest_prefix(rest: str, table: Iterable[tuple[str, object]]):
    """The value whose prefix is the longest one ``rest`` starts with (None when none does)."""
    best_length, best = -1, None
    for prefix, value in table:
        if rest.startswith(prefix) and len(prefix) > best_length:
            best_length, best = len(prefix), value
    return best


@dataclass(frozen=True)
class Resolution:
    """What the policy needs to decide: the route, the serving version, the subscription, the limits."""

    route: Route
    version_id: int | None = None
    status: str = ""
    subscription: str = ""  # 'active', 'pending' or '' (none)
    plan_name: str = ""
    limits: list[tuple[str, int, int]] = field(default_factory=list)


def _sql(vendor: str) -> str:
    """The statement, with {rest}, {major} and {prefix} where its parameters go (see _statement).

    The consumer and its plan are those of the API key with the prefix given, read in the
    statement itself, so that it goes in the same round trip as the key's own lookup.
    """
    q = connection.ops.quote_name
    product, version = q(ApiProduct._meta.db_table), q(ApiVersion._meta.db_table)
    subscription, plan = q(ApiSubscription._meta.db_table), q(RatePlan._meta.db_table)
    key, consumer = q(ApiKey._meta.db_table), q(Consumer._meta.db_table)
    consumer_id = f"(SELECT k.consumer_id FROM {key} k WHERE k.prefix = {{prefix}})"
    consumer_plan = (f"(SELECT c.rate_plan_id FROM {consumer} c INNER JOIN {key} k ON k.consumer_id = c.id "
                     f"WHERE k.prefix = {{prefix}})")
    if vendor == "postgresql":
        prefixes = (f"{product} p CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN "
                    f"jsonb_typeof(p.path_prefixes) = 'array' THEN p.path_prefixes ELSE '[]' END) AS pre(prefix)")
        prefix = "pre.prefix"
    else:
        prefixes, prefix = f"{product} p, json_each(p.path_prefixes) AS pre", "pre.value"
    live = ", ".join(f"'{state}'" for state in LIVE_STATES)
    active, pending = SubscriptionStatus.ACTIVE.value, SubscriptionStatus.PENDING.value
    of_the_major = (f"FROM {subscription} s INNER JOIN {version} sv ON sv.id = s.version_id "
                    f"WHERE s.consumer_id = {consumer_id} AND sv.product_id = x.product_id AND sv.major = x.major")
    return (
        f"SELECT y.product_id, y.slug, y.version_id, y.status, y.sub_status, "
        f"rp.name, rp.burst, rp.per_minute, rp.per_day FROM ("
        f"SELECT r.id AS product_id, r.slug, x.id AS version_id, x.status, "
        # The caller's best subscription to the major (active before pending), and its active one's plan.
        f"(SELECT s.status {of_the_major} AND s.status IN ('{active}', '{pending}') ORDER BY s.status LIMIT 1) "
        f"AS sub_status, "
        f"(SELECT s.rate_plan_id {of_the_major} AND s.status = '{active}' "
        f"ORDER BY sv.minor DESC, sv.patch DESC, s.id LIMIT 1) AS sub_plan "
        # r: the product whose longest prefix starts the URL's rest.
        f"FROM (SELECT p.id, p.slug FROM {prefixes} "
        f"WHERE substr({{rest}}, 1, length({prefix})) = {prefix} ORDER BY length({prefix}) DESC LIMIT 1) r "
        # x: its newest live version of the major.
        f"LEFT JOIN {version} x ON x.id = (SELECT v.id FROM {version} v WHERE v.product_id = r.id "
        f"AND v.major = {{major}} AND v.status IN ({live}) ORDER BY v.minor DESC, v.patch DESC, v.prerelease LIMIT 1)"
        # rp: the subscription's plan, else the consumer's, else the default plan.
        f") y LEFT JOIN {plan} rp ON rp.id = COALESCE(y.sub_plan, {consumer_plan}, "
        f"(SELECT d.id FROM {plan} d WHERE d.is_default = TRUE LIMIT 1))"
    )


_PLACEHOLDER = re.compile(r"\{(rest|major|prefix)\}")
# PostgreSQL prepares the statement (canonical.services.prepared) and cannot infer every type.
_PG_TYPES = {"rest": "::text", "major": "::integer", "prefix": "::text"}


@functools.cache
def _statement(vendor: str) -> tuple[str, tuple[str, ...]]:
    """The statement with %s placeholders, and the names of the values they take in order."""
    sql = _sql(vendor)
    names = tuple(_PLACEHOLDER.findall(sql))
    typed = _PLACEHOLDER.sub(lambda m: "%s" + (_PG_TYPES[m.group(1)] if vendor == "postgresql" else ""), sql)
    return typed, names


def resolve_read(path: str, *, key_prefix: str) -> Read | None:
    """The statement that resolves ``path`` for the consumer whose API key has ``key_prefix``; None
    when ``path`` is no API URL. For reads_together, after the key's own lookup (api_key_read).

    Its answer is None when no product claims the URL, else the Resolution. It means something
    only once the key is known good (the caller checks the key it reads in the same round trip).
    """
    match = API_PATH.match(path)
    if match is None:
        return None
    major = int(match["major"])
    # Only a prefix of the rest matters, and prefixes are plain text: what cannot travel as SQL text
    # (NUL, unpaired surrogates from undecodable bytes) is cut or replaced, and the view judges the URL.
    rest = match["rest"].split("\x00", 1)[0].encode("utf-8", "replace").decode("utf-8")
    sql, names = _statement(connection.vendor)
    values = {"rest": rest, "major": major, "prefix": key_prefix}
    return Read(sql, [values[name] for name in names], (None,) * 9,
                answer=lambda rows: _resolution(major, rows[0]) if rows else None)


def _resolution(major: int, row: tuple) -> Resolution:
    product_id, slug, version_id, status, sub_status, plan_name, burst, per_minute, per_day = row
    limits = [(name, seconds, limit) for name, seconds, limit in
              (("second", 1, burst), ("minute", 60, per_minute), ("day", 86_400, per_day)) if limit]
    return Resolution(route=Route(product_id, slug, major), version_id=version_id, status=status or "",
                      subscription=sub_status or "", plan_name=plan_name or "", limits=limits)


def version_details(version_id: int) -> ApiVersion:
    """The full version row, for the answers that name it (refusals, deprecation headers)."""
    return (
        ApiVersion.objects.select_related("product__owner_team", "replacement__product")
        .defer("openapi", "compatibility_report", "style_findings", "style_waivers", "changelog",
               "replacement__openapi", "replacement__compatibility_report", "replacement__style_findings",
               "replacement__style_waivers", "replacement__changelog")
        .get(pk=version_id)
    )


def base_path(version: ApiVersion) -> str:
    """Where a version is served, e.g. /api/v2/ or /api/v2/inbound/."""
    prefixes = [p for p in version.product.path_prefixes or [] if isinstance(p, str)]
    return f"/api/v{version.major}/{min(prefixes, key=len) if prefixes else ''}"
