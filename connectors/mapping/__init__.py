"""Declarative, versioned mappings between the canonical payload and partners' shapes (both directions)."""

from connectors.mapping.engine import apply_mapping, spec_problems, spec_validate
from connectors.mapping.errors import FieldError, MappingError, MappingSpecError
from connectors.mapping.transforms import TRANSFORMS

__all__ = [
    "TRANSFORMS", "FieldError", "MappingError", "MappingSpecError", "apply_mapping", "spec_problems", "spec_validate",
]
