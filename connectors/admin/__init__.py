"""Admin of the connectors app: the staff's exception queues, connector configuration, and
read-only logs of deliveries and inbound messages.

Django's autodiscovery imports this package; importing the modules registers their admins.
"""

from connectors.admin import connectors, exceptions  # noqa: F401
