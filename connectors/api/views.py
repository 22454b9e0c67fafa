"""POST /api/v1/inbound/{system}/{message_type} and the status of a message for its sender."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from canonical.access import acting_system, is_staff_reader
from connectors.api.serializers import (
    InboundAcceptedSerializer,
    InboundMessageStatusSerializer,
    InboundProcessedSerializer,
)
from connectors.inbound.registry import message_types
from connectors.models import InboundMessage
from connectors.services.inbound import REPLAY_HEADER, InboundOutcome, Sender, inbound_accept, inbound_receive
from hub.problems import PROBLEM_CONTENT_TYPE

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _render(outcome: InboundOutcome) -> Response:
    response = Response(outcome.body, status=outcome.status_code, headers=outcome.headers)
    if outcome.is_problem:
        response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _type_docs() -> str:
    return "\n".join(
        f"* `{t.name}` ({', '.join(t.senders)}): {t.description}" for t in message_types()
    )


class InboundMessageView(APIView):
    """A partner's message. Stored as received before the API key is even looked at."""

    # Authentication is done by hand in post(), after the raw message is stored: DRF's usual
    # up-front authentication would refuse a bad key before anything was kept.
    permission_classes = [AllowAny]

    def perform_authentication(self, request):
        return None

    @extend_schema(
        tags=["inbound"],
        operation_id="inbound_message_post",
        summary="Send a message to the hub (order status, milestones, invoices, acknowledgements, customers)",
        description=(
            "The message is stored as received, then authenticated (the API key's system must be `system`), "
            "its HMAC signature verified where the connector requires it (`X-Hub-Timestamp`, "
            "`X-Hub-Signature: sha256=HMAC(secret, \"{timestamp}.{body}\")`), de-duplicated by the sender's "
            "message id (`X-Message-ID` unless the connector names another header or a body field; without the "
            "header, the body's `message_id`: a repeat with the same body, compared as JSON, gets the first answer "
            "marked `Idempotent-Replayed: true` and changes nothing; the id reused for another body is refused "
            "with 422 `message-id-reused`, and that body kept), validated against the message type's JSON Schema, "
            "mapped through the connector's mapping, and applied. Connectors set to process in the "
            "background answer 202 with a link to the message's status.\n\nMessage types:\n" + _type_docs()
        ),
        parameters=[
            OpenApiParameter("system", str, OpenApiParameter.PATH, description="Code of the sending system."),
            OpenApiParameter(
                "message_type", str, OpenApiParameter.PATH, enum=[t.name for t in message_types()],
                description="What the message is.",
            ),
            OpenApiParameter(REPLAY_HEADER, str, OpenApiParameter.HEADER, response=[200, 201, 202, 400, 409, 422],
                             enum=["true"], description="Present when this answers a repeat of a message id: "
                             "the first message's outcome, sent again."),
            OpenApiParameter("X-Message-ID", str, OpenApiParameter.HEADER, required=False,
                             description="Your id for this message; repeats are answered with the first outcome. "
                                         "Instead of the header, the body's `message_id` may carry it."),
        ],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiResponse(InboundProcessedSerializer, description="Processed (nothing new was created)."),
            201: OpenApiResponse(InboundProcessedSerializer, description="Processed; a record was created."),
            202: OpenApiResponse(InboundAcceptedSerializer, description="Accepted for background processing."),
            (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                PROBLEM_REF, description="A business rule refused it (not the system of record, an illegal status "
                "change), or a repeat of a message id whose first message is still being processed (`Retry-After`)."),
            (415, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                PROBLEM_REF, description="The body is not declared JSON: its Content-Type is not `application/json` "
                "or an `application/*+json` type (`accepted` lists them). The message is kept, with an exception; "
                "its id is not taken, so send it again as JSON under the same id."),
            (422, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                PROBLEM_REF, description="Not applicable as sent (mapping, business rule), or `message-id-reused`: "
                "the message id was used before for another body or message type (`original_message_id` names "
                "that message). The new body is kept for the integration team."),
        },
        examples=[
            OpenApiExample(t.name, value=t.example, request_only=True, summary=t.description[:80])
            for t in message_types()
        ],
    )
    def post(self, request, system: str, message_type: str):
        # The governance policy checks a partner's key before any view runs and hands its principal
        # on; then the sender is known while the message is stored. Otherwise (the policy is off)
        # the key is looked at only once the message is stored.
        checked = getattr(request._request, "_force_auth_user", None)
        sender = _sender(request) if checked is not None else None
        message = inbound_receive(
            system_code=system,
            message_type=message_type,
            headers=request.headers,
            body=request.body,
            content_type=request.content_type,
            remote_addr=request.META.get("REMOTE_ADDR", ""),
            correlation_id=getattr(request, "correlation_id", ""),
            sender=sender,
        )
        outcome = inbound_accept(
            message=message,
            sender=sender or _sender(request, default_name=message.sender),
            headers=request.headers,
            body=request.body,
        )
        return _render(outcome)


def _sender(request, *, default_name: str = "") -> Sender:
    try:
        user = request.user
    except exceptions.APIException as exc:
        return Sender(system=None, name=default_name, auth_error=str(exc.detail))
    system = acting_system(user)
    return Sender(system=system, name=str(user) if system is not None else default_name)


class InboundMessageStatusView(APIView):
    """The outcome of a message, for the system that sent it (and hub staff)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["inbound"],
        operation_id="inbound_message_status",
        summary="The status and outcome of a message you sent",
        parameters=[OpenApiParameter("message_id", OpenApiTypes.INT64, OpenApiParameter.PATH,
                                     description="The hub id returned when the message was received.")],
        responses={200: InboundMessageStatusSerializer},
    )
    def get(self, request, message_id: str):
        # The route takes any segment, so that /inbound/messages/<anything> is this view's 404 and
        # not a 405 from the message-type route beside it.
        if not message_id.isdigit() or len(message_id) > 18:
            raise exceptions.NotFound(f"No message {message_id!r}: message ids are whole numbers.")
        queryset = InboundMessage.objects.select_related("system")
        if not is_staff_reader(request.user):
            system = acting_system(request.user)
            queryset = queryset.filter(system=system) if system is not None else queryset.none()
        message = queryset.filter(pk=message_id).first()
        if message is None:
            # Another partner's message answers exactly like a missing one.
            raise exceptions.NotFound(f"No message {message_id} sent by you.")
        return Response(InboundMessageStatusSerializer(message).data)
