"""Log output (hub.logging): an expected 403 is one warning line; a real error keeps its traceback."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import path, reverse

from canonical.context import Actor
from hub import roles

pytestmark = pytest.mark.django_db


def _request_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "django.request"]


def test_a_refused_page_is_logged_as_one_warning_line_without_a_traceback(django_user_model, caplog):
    roles.roles_apply(actor=Actor.hub())
    user = django_user_model.objects.create_user("steward", password="x-secret-pass-1", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.DATA_STEWARD))
    client = Client()
    client.force_login(user)
    with caplog.at_level(logging.INFO, logger="django.request"):
        assert client.get(reverse("credit-holds")).status_code == 403
    [record] = _request_records(caplog)
    assert record.levelno == logging.WARNING
    assert record.exc_info is None and "Traceback" not in caplog.text
    assert record.getMessage() == ("Forbidden (Permission denied): /portal/credit-holds/ "
                                   "(The credit hold queue needs the 'canonical.view_order' permission.)")


def _fails(request):
    raise RuntimeError("the database went away")


urlpatterns = [path("fails/", _fails)]


@pytest.mark.urls(__name__)
def test_a_real_error_keeps_its_level_and_traceback(caplog):
    with caplog.at_level(logging.INFO, logger="django.request"):
        assert Client(raise_request_exception=False).get("/fails/").status_code == 500
    [record] = _request_records(caplog)
    assert record.levelno == logging.ERROR and record.getMessage() == "Internal Server Error: /fails/"
    assert record.exc_info[0] is RuntimeError and "the database went away" in caplog.text
