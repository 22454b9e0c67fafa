"""The governance board's pages under /governance/ (catalog, product, diff, reviews, deprecation, upload)."""
