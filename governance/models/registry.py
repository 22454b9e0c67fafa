"""The API catalog: owner teams, API products, their versions with one lifecycle, and board reviews."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from canonical.models import System
from canonical.state import TransitionTable


class Layer(models.TextChoices):
    SYSTEM = "system", "System API"
    PROCESS = "process", "Process API"
    EXPERIENCE = "experience", "Experience API"


class Lifecycle(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"
    DEPRECATED = "deprecated", "Deprecated"
    RETIRED = "retired", "Retired"
    BLOCKED = "blocked", "Blocked"


# The one table every lifecycle change goes through (governance.services.registry).
# A rejected review sends a version back to draft; blocking is the board's emergency stop from
# any live state, and unblocking returns the version to the state it was blocked from (or retires it).
LIFECYCLE = TransitionTable(
    "API version lifecycle",
    {
        Lifecycle.DRAFT: {Lifecycle.IN_REVIEW, Lifecycle.BLOCKED},
        Lifecycle.IN_REVIEW: {Lifecycle.PUBLISHED, Lifecycle.DRAFT, Lifecycle.BLOCKED},
        Lifecycle.PUBLISHED: {Lifecycle.DEPRECATED, Lifecycle.BLOCKED},
        Lifecycle.DEPRECATED: {Lifecycle.RETIRED, Lifecycle.BLOCKED},
        Lifecycle.RETIRED: set(),
        Lifecycle.BLOCKED: {Lifecycle.DRAFT, Lifecycle.PUBLISHED, Lifecycle.DEPRECATED, Lifecycle.RETIRED},
    },
)

# States in which the runtime policy answers for a version (serving, or refusing with a reason).
LIVE_STATES = (Lifecycle.PUBLISHED, Lifecycle.DEPRECATED, Lifecycle.RETIRED, Lifecycle.BLOCKED)
# States that accept new subscriptions.
SUBSCRIBABLE_STATES = (Lifecycle.PUBLISHED,)


class Team(models.Model):
    """A team that owns API products; the contact is who consumers and the board write to."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_teams",
        help_text="The person accountable for the team's APIs.",
    )
    contact_name = models.CharField(max_length=120, blank=True)
    contact_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiProduct(models.Model):
    """An API offered to consumers, with its owner, layer and the rules its versions follow."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    domain = models.CharField(
        max_length=60, help_text="Business domain, e.g. orders, customers, inventory, integration."
    )
    layer = models.CharField(max_length=12, choices=Layer.choices)
    description = models.TextField(blank=True)
    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="products")
    system_of_record = models.ForeignKey(
        System, null=True, blank=True, on_delete=models.PROTECT, related_name="api_products",
        help_text="The system whose data the API exposes, where there is one.",
    )
    required_approvals = models.PositiveSmallIntegerField(
        default=1, help_text="Board approvals a version needs before it is published."
    )
    minimum_deprecation_notice_days = models.PositiveSmallIntegerField(
        default=90, validators=[MinValueValidator(1)],
        help_text="The sunset date must be at least this many days after the deprecation date.",
    )
    requires_subscription_approval = models.BooleanField(
        default=False, help_text="New subscriptions wait for the board's approval."
    )
    path_prefixes = models.JSONField(
        default=list, blank=True,
        help_text=(
            "For APIs the hub serves: URL prefixes after /api/v<major>/ that belong to this product "
            "(the longest matching prefix wins; '' takes whatever no other product claims)."
        ),
    )
    documentation_url = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API product"

    def __str__(self) -> str:
        return self.name


class ApiVersion(models.Model):
    """One version of an API product: its OpenAPI document, reports and lifecycle dates."""

    product = models.ForeignKey(ApiProduct, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=60, help_text="Semantic version, e.g. 1.4.0.")
    major = models.PositiveIntegerField()
    minor = models.PositiveIntegerField()
    patch = models.PositiveIntegerField()
    prerelease = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=12, choices=Lifecycle.choices, default=Lifecycle.DRAFT)
    openapi = models.JSONField(help_text="The OpenAPI 3.x document, validated on upload.")
    changelog = models.TextField(blank=True)

    compared_with = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The version the breaking-change report was computed against.",
    )
    compatibility_report = models.JSONField(
        default=dict, blank=True, help_text="Findings against the previous version and the semver verdict."
    )
    style_findings = models.JSONField(default=list, blank=True)
    style_waivers = models.JSONField(
        default=list, blank=True, help_text="[{check_id, path, method, reason, by, at}] kept with the version."
    )

    review_round = models.PositiveSmallIntegerField(
        default=0, help_text="Incremented on each submission; only this round's approvals count."
    )
    blocked_from = models.CharField(max_length=12, choices=Lifecycle.choices, blank=True)
    block_reason = models.TextField(blank=True)
    replacement = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces",
        help_text="The version consumers should move to.",
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    deprecated_at = models.DateTimeField(null=True, blank=True)
    sunset_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["product", "-major", "-minor", "-patch", "prerelease"]
        verbose_name = "API version"
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="governance_version_unique_per_product"),
            models.CheckConstraint(
                condition=models.Q(sunset_at__isnull=True)
                | models.Q(deprecated_at__isnull=False, sunset_at__gt=models.F("deprecated_at")),
                name="governance_version_sunset_after_deprecation",
            ),
        ]
        indexes = [models.Index(fields=["product", "major", "status"], name="governance_version_serving")]
        permissions = [("review_apiversion", "Can review (approve or reject) API versions")]

    def __str__(self) -> str:
        return f"{self.product.name} {self.version}"

    @property
    def label(self) -> str:
        return f"{self.product.slug}@{self.version}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATES


class ReviewDecision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class Review(models.Model):
    """One board member's decision on one submission (review round) of a version."""

    version = models.ForeignKey(ApiVersion, on_delete=models.CASCADE, related_name="reviews")
    round = models.PositiveSmallIntegerField()
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_reviews")
    decision = models.CharField(max_length=8, choices=ReviewDecision.choices)
    comment = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "round", "reviewer"], name="governance_review_once_per_round"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} {self.version} by {self.reviewer}"
