"""The seeding spec: load, validate and model the user's YAML contract."""

from seedctl.spec.loader import (
    DEFAULT_SPEC,
    Validation,
    load_spec,
    load_spec_text,
    validate_spec,
    validate_spec_text,
)

__all__ = ["DEFAULT_SPEC", "Validation", "load_spec", "load_spec_text", "validate_spec", "validate_spec_text"]
