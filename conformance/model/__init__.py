"""The target description read into a model of resources and fields, and the request bodies drawn from it.
Clause tests and checks never name a resource or a field of the reference API: everything they touch comes
from here.

- :mod:`.resources`: the model itself (``TargetModel``, ``Resource``, ``Field``) and ``DescriptionError``;
- :mod:`.build`: :func:`load_model`, the description's paths read into resources and fields;
- :mod:`.documents` (reading and parsing files and URLs), :mod:`.refs` (``$ref``, OpenAPI 3.0 schemas),
  :mod:`.fields` (what a property is by the spec's rules), :mod:`.versions`: the steps of that reading;
- :mod:`.schemas`: reading a JSON Schema (types, enumeration, format, validity), for the model and its users;
- :mod:`.strategies`, :mod:`.formats`: valid and invalid request bodies, generated from a resource's schema.
"""

from conformance.model.build import load_model
from conformance.model.fields import enum_extras
from conformance.model.resources import DescriptionError, Field, Resource, TargetModel
from conformance.model.schemas import declared_enum

__all__ = ["DescriptionError", "Field", "Resource", "TargetModel", "declared_enum", "enum_extras", "load_model"]
