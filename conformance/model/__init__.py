"""The target description read into a model of resources and fields (:mod:`.document`), and the request
bodies drawn from it (:mod:`.strategies`, :mod:`.formats`). Clause tests and checks never name a resource
or a field of the reference API: everything they touch comes from here."""

from conformance.model.document import (
    DescriptionError,
    Field,
    Resource,
    TargetModel,
    declared_enum,
    enum_extras,
    load_model,
)

__all__ = ["DescriptionError", "Field", "Resource", "TargetModel", "declared_enum", "enum_extras", "load_model"]
