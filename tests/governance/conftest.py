"""Fixtures for the registry, lifecycle, policy and page tests."""

from __future__ import annotations

import copy

import pytest
from django.contrib.auth.models import Permission

from canonical.context import Actor
from governance.services import (
    api_key_issue,
    api_version_review,
    api_version_submit,
    api_version_upload,
    consumer_create,
    subscription_request,
)
from tests.factories import ApiProductFactory, SystemFactory, TeamFactory

POLICY_MIDDLEWARE = "governance.policy.middleware.GovernancePolicyMiddleware"
BOARD_PERMISSIONS = ["view_apiproduct", "add_apiversion", "change_apiversion", "review_apiversion",
                     "view_apiversion", "view_consumer", "change_apisubscription"]


@pytest.fixture
def policy(settings):
    """The runtime policy switched on, whatever the settings of this checkout say."""
    if POLICY_MIDDLEWARE not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, POLICY_MIDDLEWARE]
    settings.HUB_POLICY_ENABLED = True
    settings.HUB_USAGE_FLUSH_SECONDS = 0  # write usage at every call, so tests can read it at once
    return settings


def list_op(operation_id: str, tag: str = "orders", **fields) -> dict:
    """A style-clean GET operation, for paths added to orders_doc."""
    return {"get": {"operationId": operation_id, "summary": operation_id, "tags": [tag],
                    "responses": {"200": {"description": "ok"}, "400": {
                        "description": "Problem", "content": {"application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}}}}}, **fields}}


def orders_doc(version: str = "1.0.0", *, extra_paths: dict | None = None, drop: tuple[str, ...] = ()) -> dict:
    """A small, style-clean orders API: list and get an order."""
    problem = {"description": "Problem", "content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}}
    paths = {
        "/v1/orders": {"get": {"operationId": "listOrders", "summary": "List orders", "tags": ["orders"],
                               "responses": {"200": {"description": "Orders", "content": {"application/json": {
                                   "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}}}}},
                                   "400": problem}}},
        "/v1/orders/{id}": {"get": {"operationId": "getOrder", "summary": "Get an order", "tags": ["orders"],
                                    "parameters": [{"name": "id", "in": "path", "required": True,
                                                    "schema": {"type": "string"}}],
                                    "responses": {"200": {"description": "The order", "content": {
                                        "application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
                                        "404": problem}}},
    }
    paths.update(copy.deepcopy(extra_paths or {}))
    for path in drop:
        paths.pop(path)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Orders", "version": version},
        "paths": paths,
        "components": {"schemas": {
            "Order": {"type": "object", "required": ["id", "status"],
                      "properties": {"id": {"type": "string"}, "status": {"type": "string"}}},
            "Problem": {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                                         "status": {"type": "integer"}, "detail": {"type": "string"}}},
        }},
    }


@pytest.fixture
def board_member(django_user_model):
    user = django_user_model.objects.create_user("board", "board@example.com", "pw-board-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="governance",
                                                        codename__in=BOARD_PERMISSIONS))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def board_actor(board_member):
    return Actor(user=board_member)


@pytest.fixture
def author_actor(django_user_model):
    """The product team's member who uploads versions: the board approves them (never their author)."""
    user = django_user_model.objects.create_user("author", "author@example.com", "pw-author-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="governance",
                                                        codename__in=BOARD_PERMISSIONS))
    return Actor(user=user)


@pytest.fixture
def product(db):
    return ApiProductFactory(name="Orders API", slug="orders", owner_team=TeamFactory(
        name="Order team", slug="order-team", contact_email="orders@example.com"))


@pytest.fixture
def publish(board_actor, author_actor):
    """Upload and submit a document as its author, approve it as the board: the whole way to
    published, through the services."""

    def run(product, document: dict, version: str | None = None, **upload):
        created = api_version_upload(product=product, source=document, version=version or "", actor=author_actor,
                                     **upload)
        api_version_submit(version=created, actor=author_actor)
        for _ in range(product.required_approvals):
            api_version_review(version=created, decision="approve", actor=board_actor)
        created.refresh_from_db()
        return created

    return run


@pytest.fixture
def consumer_with_key(db):
    """(consumer, raw key) for a CRM partner application with no subscription yet."""

    def make(name: str = "crm-app", *, system_code: str = "crm", email: str = "crm-team@example.com"):
        system = SystemFactory(code=system_code, kind="crm")
        consumer = consumer_create(name=name, system=system, contact_email=email, actor=Actor.hub())
        return consumer, api_key_issue(consumer=consumer, actor=Actor.hub()).raw_key

    return make


@pytest.fixture
def subscribe():
    def run(consumer, version, **kwargs):
        return subscription_request(consumer=consumer, version=version, actor=Actor.hub(), **kwargs)

    return run
