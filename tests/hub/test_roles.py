"""Staff roles (setup_roles) and the demo logins (demo_users)."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command

from canonical.models import AuditEntry
from hub import roles
from hub.management.commands.demo_users import DEMO_USERS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Demo users are hashed several times per test; the real hasher's cost is not what is under test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def labels(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_each_role_is_a_group_with_exactly_the_permissions_of_its_role():
    run("setup_roles")
    expected = {role: {f"{p.content_type.app_label}.{p.codename}" for p in perms}
                for role, perms in roles.role_permissions_resolve().items()}
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLE_PERMISSIONS)
    for role in roles.ROLE_PERMISSIONS:
        assert labels(Group.objects.get(name=role)) == expected[role]
    finance = labels(Group.objects.get(name=roles.FINANCE))
    assert {"canonical.release_credit_hold", "canonical.change_credit_terms", "canonical.change_invoice",
            "canonical.view_customer"} <= finance
    assert "canonical.change_order" not in finance
    operations = labels(Group.objects.get(name=roles.OPERATIONS))
    canonical_views = {f"canonical.{p.codename}" for p in Permission.objects.filter(
        content_type__app_label="canonical", codename__startswith="view_")}
    assert canonical_views <= operations
    assert "canonical.change_order" in operations
    # What the flows own has no change permission to give (the admin refuses it for every role).
    assert not {"canonical.change_orderline", "canonical.change_shipment"} & operations
    assert "canonical.release_credit_hold" not in operations
    steward = labels(Group.objects.get(name=roles.DATA_STEWARD))
    assert {"canonical.change_customer", "canonical.change_externalref"} <= steward
    assert "canonical.view_order" not in steward
    assert "canonical.change_credit_terms" not in steward
    board = labels(Group.objects.get(name=roles.GOVERNANCE_BOARD))
    assert {"governance.change_consumer", "governance.change_apikey"} <= board
    engineer = labels(Group.objects.get(name=roles.INTEGRATION_ENGINEER))
    assert {"canonical.change_system", "canonical.change_systemofrecord", "governance.add_apikey"} <= engineer
    assert canonical_views <= engineer


def test_setup_roles_is_idempotent_and_takes_back_permissions_added_by_hand():
    first = run("setup_roles")
    assert first.count("created") == len(roles.ROLE_PERMISSIONS)
    finance = Group.objects.get(name=roles.FINANCE)
    stray = Permission.objects.get(content_type__app_label="canonical", codename="delete_order")
    finance.permissions.add(stray)
    second = run("setup_roles")
    assert "finance" in second and "updated (+0 -1)" in second
    assert "canonical.delete_order" not in labels(finance)
    assert AuditEntry.objects.filter(action="role.permissions_set", object_id=str(finance.pk)).count() == 2
    third = run("setup_roles")
    assert third.count("unchanged") == len(roles.ROLE_PERMISSIONS)


def test_a_permission_that_does_not_exist_is_an_error_naming_it(monkeypatch):
    monkeypatch.setitem(roles.ROLE_PERMISSIONS, roles.FINANCE,
                        [*roles.ROLE_PERMISSIONS[roles.FINANCE], "canonical.approve_everything", "nosuchapp.view_*"])
    with pytest.raises(CommandError, match=r"finance: canonical\.approve_everything, nosuchapp\.view_\*"):
        run("setup_roles")
    assert not Group.objects.filter(name=roles.FINANCE).exists()


def test_demo_users_are_created_in_their_groups_and_the_logins_are_printed(client):
    run("setup_roles")
    out = run("demo_users")
    assert "http://127.0.0.1:8000/admin/" in out
    user_model = get_user_model()
    for demo in DEMO_USERS:
        assert f"{demo.username}" in out and demo.password in out
        user = user_model.objects.get(username=demo.username)
        assert user.is_staff and user.is_active and user.check_password(demo.password)
        assert user.is_superuser == (demo.role is None)
        assert list(user.groups.values_list("name", flat=True)) == ([demo.role] if demo.role else [])
    finance = user_model.objects.get(username="finance")
    assert finance.has_perm("canonical.release_credit_hold")
    assert not user_model.objects.get(username="ops").has_perm("canonical.release_credit_hold")
    assert client.login(username="steward", password="steward-demo-pass")
    assert client.get("/admin/").status_code == 200


def test_running_demo_users_again_keeps_changed_passwords_unless_reset():
    run("setup_roles")
    run("demo_users")
    ops = get_user_model().objects.get(username="ops")
    ops.set_password("my-own-secret-password-42")
    ops.save()
    again = run("demo_users")
    assert "(changed; --reset restores it)" in again
    assert get_user_model().objects.count() == len(DEMO_USERS)
    ops.refresh_from_db()
    assert ops.check_password("my-own-secret-password-42")
    run("demo_users", "--reset")
    ops.refresh_from_db()
    assert ops.check_password("ops-demo-pass")


def test_demo_users_refuses_a_production_configuration_unless_forced(settings):
    run("setup_roles")
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="HUB_PRODUCTION is on"):
        run("demo_users")
    assert not get_user_model().objects.exists()
    run("demo_users", "--force")
    assert get_user_model().objects.filter(username="admin", is_superuser=True).exists()


def test_demo_users_needs_the_role_groups_first():
    with pytest.raises(CommandError, match="setup_roles"):
        run("demo_users")


@pytest.mark.parametrize(("role", "queues"), [
    (roles.OPERATIONS, ["operations", "supplier_management"]),
    (roles.FINANCE, ["finance"]),
    (roles.DATA_STEWARD, ["data_stewardship"]),
    (roles.GOVERNANCE_BOARD, []),
    (roles.INTEGRATION_ENGINEER, ["integration"]),
])
def test_each_role_works_its_own_exception_queues(role, queues):
    from connectors.selectors import teams_worked_by

    run("setup_roles")
    user = get_user_model().objects.create_user(f"{role}-user", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    assert teams_worked_by(user) == queues


def test_the_board_can_review_and_the_integration_engineer_can_configure_connectors():
    run("setup_roles")
    board = labels(Group.objects.get(name=roles.GOVERNANCE_BOARD))
    assert {"governance.review_apiversion", "governance.add_apiversion", "governance.change_apiversion"} <= board
    engineer = labels(Group.objects.get(name=roles.INTEGRATION_ENGINEER))
    assert {"connectors.change_connector", "connectors.add_mapping", "connectors.change_subscription"} <= engineer
    assert "governance.review_apiversion" not in engineer
