"""django-filter FilterSets for the canonical read endpoints, one module per sub-domain."""
