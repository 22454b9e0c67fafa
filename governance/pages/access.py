"""Who may see and act on the board's pages: signed-in staff with the governance permissions."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from canonical.context import Actor, new_correlation_id

VIEW = "governance.view_apiproduct"
UPLOAD = "governance.add_apiversion"
CHANGE = "governance.change_apiversion"
REVIEW = "governance.review_apiversion"
SUBSCRIPTIONS = "governance.change_apisubscription"


def board_required(permission: str = VIEW):
    """Staff with ``permission`` only; others are sent to sign in, or refused with 403."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not (user.is_active and user.is_staff and user.has_perm(VIEW) and user.has_perm(permission)):
                raise PermissionDenied(f"The governance pages need the '{permission}' permission.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def acting(request) -> Actor:
    return Actor(user=request.user, correlation_id=getattr(request, "correlation_id", None) or new_correlation_id())


def can(request, permission: str) -> bool:
    return request.user.has_perm(permission)
