"""Routes of the connectors API, mounted under /api/v1/ by hub.urls."""

from django.urls import path

from connectors.api.views import InboundMessageStatusView, InboundMessageView

urlpatterns = [
    path("inbound/messages/<str:message_id>", InboundMessageStatusView.as_view(), name="inbound-message-status"),
    path("inbound/<slug:system>/<str:message_type>", InboundMessageView.as_view(), name="inbound-message"),
]
