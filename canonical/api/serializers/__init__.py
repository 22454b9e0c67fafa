"""Input (write) serializers of the partner API; read representations are in canonical.serializers."""
