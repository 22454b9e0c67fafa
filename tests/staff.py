"""Logged-in staff clients for page tests: a user with some permissions, or a member of a hub role."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client

from canonical.context import Actor
from hub import roles

PASSWORD = "x-secret-pass-1"


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff_client(username: str, *codenames: str, app_label: str = "canonical") -> Client:
    """A staff user holding the ``app_label`` permissions named by ``codenames``, logged in."""
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
    return _logged_in(user)


def role_member(role: str) -> Client:
    """A staff user in the hub role's group (the roles applied first), named after it, logged in."""
    roles.roles_apply(actor=Actor.hub())
    user = get_user_model().objects.create_user(role, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return _logged_in(user)
