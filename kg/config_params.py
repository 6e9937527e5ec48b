"""A configuration's parameters as triples, so that queries can filter and order on them.

A configuration is stored whole as canonical JSON (``mkg:json``); SPARQL cannot look inside
that text, so each of its parameters (the ``params`` object) is also written as a node::

    <config>/param/<name>  a mkg:Parameter ;
        mkg:paramName  "num_leaves" ;
        mkg:paramValue 31 .                 # xsd:integer, xsd:double, xsd:boolean or a string
    <config>  mkg:param  <config>/param/<name> .

The node's IRI derives from the configuration's and the parameter's name, so writing a
configuration again adds nothing. Values that are not scalars (lists, objects) are kept as
their canonical JSON text; ``null`` values are not written.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from pyoxigraph import DefaultGraph, NamedNode, Quad

from metakg.kg.vocabulary import MKG, RDF, lit

__all__ = ["parameter_iri", "parameter_quads", "parameter_quads_from_json"]

_G = DefaultGraph()


def parameter_iri(config: NamedNode, name: str) -> NamedNode:
    """IRI of the node holding parameter ``name`` of configuration ``config``."""
    return NamedNode(f"{config.value}/param/{quote(name, safe='')}")


def parameter_quads(config: NamedNode, params: dict[str, Any]) -> list[Quad]:
    """Quads of a configuration's parameters (see the module docstring).

    Args:
        config: the configuration's IRI.
        params: its ``params`` object (name -> value).

    Returns:
        Four quads per parameter whose value is not ``None``.
    """
    out: list[Quad] = []
    for name, value in sorted(params.items()):
        if value is None:
            continue
        if not isinstance(value, bool | int | float | str):
            from metakg.kg.identity import canonical_json

            value = canonical_json(value)
        node = parameter_iri(config, str(name))
        out += [Quad(config, MKG.param, node, _G), Quad(node, RDF.type, MKG.Parameter, _G),
                Quad(node, MKG.paramName, lit(str(name)), _G),
                Quad(node, MKG.paramValue, lit(value), _G)]
    return out


def parameter_quads_from_json(config: NamedNode, text: str) -> list[Quad]:
    """:func:`parameter_quads` of a configuration given as its JSON text (``mkg:json``).

    Returns:
        The quads; none when the text has no ``params`` object.
    """
    try:
        params = json.loads(text).get("params")
    except (ValueError, AttributeError):
        return []
    return parameter_quads(config, params) if isinstance(params, dict) else []
