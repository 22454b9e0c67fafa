"""The baseline: a plain DRF create view that inserts one row per POST.

It goes through the same middleware, the same API-key authentication
(governance.authentication.ApiKeyAuthentication, one key lookup per request),
IsAuthenticated, JSON parsing and a ModelSerializer, so the benchmark measures
what the canonical upsert adds on top of "authenticated DRF insert".
"""

from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated

from bench.bare.models import BareRow
from governance.authentication import ApiKeyAuthentication


class BareRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = BareRow
        fields = ["id", "name", "value", "created_at"]
        read_only_fields = ["id", "created_at"]


class BareRowCreate(generics.CreateAPIView):
    queryset = BareRow.objects.all()
    serializer_class = BareRowSerializer
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    schema = None  # a benchmark fixture, not part of the partner API
