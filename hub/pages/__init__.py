"""Staff pages of the portal (besides the admin): one module per page."""
