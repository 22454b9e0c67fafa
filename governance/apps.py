from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "API governance"

    def ready(self) -> None:
        # Registers the OpenAPI security scheme extension with drf-spectacular.
        from governance import authentication  # noqa: F401
