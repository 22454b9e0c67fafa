"""Admin for the canonical data store, one module per sub-domain.

Django's autodiscovery imports this package; importing the modules registers their admins.
"""

from canonical.admin import (  # noqa: F401
    billing,
    catalog,
    customers,
    events,
    fulfilment,
    inventory,
    orders,
    supply,
    systems,
)
