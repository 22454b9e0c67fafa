"""The API governance registry; import models from here."""

from governance.models.consumers import ApiKey, Consumer

__all__ = ["ApiKey", "Consumer"]
