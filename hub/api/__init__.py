"""The hub's process APIs (orders, quotes, timelines, disputes), mounted under /api/v1/ by hub.urls."""
