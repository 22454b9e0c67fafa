"""The two shapes every canonical endpoint takes.

* ``CanonicalReadViewSet``: ``GET /api/v1/<entity>/`` (filtered, cursor-paginated) and
  ``GET /api/v1/<entity>/<id>/``.
* ``ExternalRecordView``: ``GET`` and ``PUT /api/v1/systems/<system>/<entity>/<external_id>``,
  the record as a partner system knows it; PUT upserts through the entity's service.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from canonical.access import acting_system, domain_read_assert, write_as_assert
from canonical.context import Actor, new_correlation_id
from canonical.errors import UnknownReference
from canonical.models import System
from canonical.services.refs import (
    UpsertResult,
    external_ref_resolve,
    system_get,
    system_of_record_assert,
    unknown_reference,
)


def actor_for(request) -> Actor:
    user = request.user if not hasattr(request.user, "consumer") else None
    return Actor(
        user=user,
        system=acting_system(request.user),
        correlation_id=getattr(request, "correlation_id", "") or new_correlation_id(),
    )


def writing_system(request, code: str) -> System:
    """The system named in a write's URL, which must be the caller's own (system_get, then write_as_assert).

    The caller's system was read with its API key in this very request, so when the URL names it
    (and it is active) it is used as it is, without reading the same row again; any other code
    is looked up and refused exactly as before (unknown system 404, another system's records 403).
    """
    own = acting_system(request.user)
    if own is not None and own.code == code and own.is_active:
        return own
    target = system_get(code=code)
    write_as_assert(request.user, target)
    return target


class PartnerOrStaff(BasePermission):
    """API keys (partner systems) and active staff sessions; nobody else."""

    message = "Authenticate with an API key (Authorization: Bearer <key> or X-API-Key)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (acting_system(user) or getattr(user, "is_staff", False)))


class CanonicalReadViewSet(viewsets.ReadOnlyModelViewSet):
    """Read endpoints for one canonical entity. Subclasses set ``domain`` and ``queryset``."""

    domain: str = ""
    permission_classes = [PartnerOrStaff]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        domain_read_assert(request.user, self.domain)

    def get_queryset(self):
        queryset = super().get_queryset()
        system = acting_system(self.request.user)
        return self.scope_for_system(queryset, system) if system is not None else queryset

    def scope_for_system(self, queryset: models.QuerySet, system: System) -> models.QuerySet:
        """Row-level visibility for a partner system; all rows of a readable domain by default."""
        return queryset


# Hub ids are 64-bit: a larger id in a path is simply not found (not a database overflow).
MAX_HUB_ID = 2**63 - 1


def visible_record(*, user, queryset: models.QuerySet, viewset: type[CanonicalReadViewSet], pk: int, noun: str):
    """The record with hub id ``pk`` as ``viewset``'s read endpoint shows it to ``user`` (its row rules for
    a partner system); a record the caller may not see answers exactly like a missing one."""
    system = acting_system(user)
    if system is not None:
        queryset = viewset().scope_for_system(queryset, system)
    record = queryset.filter(pk=pk).first() if pk <= MAX_HUB_ID else None
    if record is None:
        raise UnknownReference(f"No {noun} with id {pk}.", **{noun: pk})
    return record


_SYSTEM_PARAM = OpenApiParameter("system", str, OpenApiParameter.PATH, description="Code of the external system.")
_EXTERNAL_ID_PARAM = OpenApiParameter(
    "external_id", str, OpenApiParameter.PATH, description="The id that system uses for the record."
)


class ExternalRecordView(APIView):
    """A record addressed by the id one external system uses for it.

    Subclasses set ``domain``, ``entity_type``, ``model``, ``serializer_class`` (the
    read representation), ``write_serializer_class`` and ``upsert`` (the service).
    """

    domain: str = ""
    entity_type: str = ""
    model: type[models.Model]
    serializer_class = None
    write_serializer_class = None
    upsert: Callable[..., UpsertResult] | None = None
    permission_classes = [PartnerOrStaff]

    def get_queryset(self) -> models.QuerySet:
        return self.model._default_manager.all()

    def scope_for_system(self, queryset: models.QuerySet, system: System) -> models.QuerySet:
        return queryset

    def get_object(self, system: System, external_id: str):
        record = external_ref_resolve(
            system=system, entity_type=self.entity_type, external_id=external_id, model=self.model
        )
        queryset = self.get_queryset()
        reader = acting_system(self.request.user)
        if reader is not None:
            queryset = self.scope_for_system(queryset, reader)
        found = queryset.filter(pk=record.pk).first()
        if found is None:  # exists, but not for this reader's eyes: answer exactly as if absent
            raise unknown_reference(system=system, entity_type=self.entity_type, external_id=external_id)
        return found

    def get(self, request, system: str, external_id: str):
        domain_read_assert(request.user, self.domain)
        record = self.get_object(system_get(code=system), external_id)
        return Response(self.serializer_class(record).data)

    def put(self, request, system: str, external_id: str):
        target = writing_system(request, system)
        # Ownership first: a non-owner learns who owns the domain, not what is wrong with its body.
        system_of_record_assert(system=target, domain=self.domain)
        serializer = self.write_serializer_class(data=request.data, context={"system": target, "request": request})
        serializer.is_valid(raise_exception=True)
        result = type(self).upsert(
            system=target, external_id=external_id, data=serializer.validated_data, actor=actor_for(request)
        )
        record = self.get_queryset().get(pk=result.instance.pk)
        return Response(
            self.serializer_class(record).data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )

    @classmethod
    def documented(cls, *, tag: str, noun: str):
        """Class decorator giving a subclass its OpenAPI description."""

        def decorate(view):
            return extend_schema_view(
                get=extend_schema(
                    tags=[tag],
                    summary=f"Get a {noun} by the id an external system uses for it",
                    parameters=[_SYSTEM_PARAM, _EXTERNAL_ID_PARAM],
                    responses={200: view.serializer_class},
                    operation_id=f"{view.entity_type}_by_external_id",
                ),
                put=extend_schema(
                    tags=[tag],
                    summary=f"Create or update a {noun} owned by the calling system (upsert)",
                    description=(
                        "Idempotent: the same body twice changes nothing and emits no second event. Only the "
                        f"system of record for {view.domain} may write; others get 409 naming the owner."
                    ),
                    parameters=[_SYSTEM_PARAM, _EXTERNAL_ID_PARAM],
                    request=view.write_serializer_class,
                    responses={200: view.serializer_class, 201: view.serializer_class},
                    operation_id=f"{view.entity_type}_upsert",
                ),
            )(view)

        return decorate
