"""Writes to the governance registry. Import services from here.

consumers     consumers and API keys (issue, revoke, rotate)
checks        the dry run of an upload: validation, breaking changes, semver verdict, style
registry      teams, products, and the version lifecycle (upload, review, publish, retire, block)
deprecation   deprecating a version: dates, the api.deprecated event, notices to consumers
subscriptions subscriptions and rate plans
contracts     event contracts and their schema versions
"""

from governance.services.checks import VersionCheck, api_version_check
from governance.services.consumers import (
    DEFAULT_ROTATION_OVERLAP,
    IssuedKey,
    KeyNotRotatable,
    api_key_issue,
    api_key_revoke,
    api_key_rotate,
    consumer_create,
)
from governance.services.contracts import (
    ContractRefused,
    event_contract_register,
    event_contracts_register_canonical,
)
from governance.services.deprecation import DeprecationNotice, affected_consumers, api_version_deprecate
from governance.services.registry import (
    GovernanceError,
    PublishResult,
    ReviewResult,
    SubmitResult,
    VersionRefused,
    api_product_create,
    api_version_block,
    api_version_publish,
    api_version_retire,
    api_version_review,
    api_version_submit,
    api_version_unblock,
    api_version_upload,
    api_version_waive,
    api_version_withdraw,
    team_create,
)
from governance.services.subscriptions import (
    consumer_subscribe_all,
    rate_plan_assign,
    subscription_approve,
    subscription_request,
    subscription_revoke,
)

__all__ = [
    "DEFAULT_ROTATION_OVERLAP",
    "ContractRefused",
    "DeprecationNotice",
    "GovernanceError",
    "IssuedKey",
    "KeyNotRotatable",
    "PublishResult",
    "ReviewResult",
    "SubmitResult",
    "VersionCheck",
    "VersionRefused",
    "affected_consumers",
    "api_key_issue",
    "api_key_revoke",
    "api_key_rotate",
    "api_product_create",
    "api_version_block",
    "api_version_check",
    "api_version_deprecate",
    "api_version_publish",
    "api_version_retire",
    "api_version_review",
    "api_version_submit",
    "api_version_unblock",
    "api_version_upload",
    "api_version_waive",
    "api_version_withdraw",
    "consumer_create",
    "consumer_subscribe_all",
    "event_contract_register",
    "event_contracts_register_canonical",
    "rate_plan_assign",
    "subscription_approve",
    "subscription_request",
    "subscription_revoke",
    "team_create",
]
