"""Published configurations: library defaults, meta-tuned defaults and zero-shot portfolios.

Practitioners try these first (CatBoost's own default, pytabkit's tuned defaults, FLAML's and
AutoGluon's zero-shot portfolios), so the recommender must have them among its candidates
and the seed matrix must hold their scores. Each is written down in our configuration
spaces (:mod:`kg.spaces`) in ``resources/published_configurations.json`` with the source it
was taken from; in the graph the configuration is ``prov:wasDerivedFrom`` its named publication, which is
``dcterms:isPartOf`` that source.
Only the configurations are taken from those projects, never their code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from pyoxigraph import NamedNode, Quad

from metakg.kg.errors import ConfigurationError
from metakg.kg.spaces import validate_configuration
from metakg.kg.vocabulary import DCT, MKG, PROV, A, entity, resource_path

__all__ = ["PublishedConfiguration", "PublishedSource", "published_by_id", "published_configurations",
           "published_quads", "published_sources"]

TASK_TYPES = ("classification", "regression")


@dataclass(frozen=True)
class PublishedSource:
    """Where configurations were published: a package (with its version) or a document.

    Attributes:
        key: the source's short name (``catboost``, ``flaml``).
        title: what it is, for people.
        url: where the configurations were taken from.
        version: the package version or commit they were taken at.
        shipped: its configurations' complete columns go into the shipped seed extension
            (``metakg seed published-export``'s default); a source without it is evaluated
            and measured as candidates, and joins only with a measured change (decision 0011).
    """

    key: str
    title: str
    url: str
    version: str = ""
    shipped: bool = False


@dataclass(frozen=True)
class PublishedConfiguration:
    """A configuration as published, in the project's spaces.

    ``task_types`` are those it was published for (a tuned default differs between
    classification and regression); ``note`` says how it was written down where the
    source's parameters needed translating.
    """

    name: str
    config: dict[str, Any]
    task_types: tuple[str, ...]
    source: PublishedSource
    note: str = ""


@cache
def _load() -> tuple[PublishedConfiguration, ...]:
    raw = json.loads(resource_path("published_configurations.json").read_text())
    sources = {k: PublishedSource(k, **v) for k, v in raw["sources"].items()}
    out, names = [], set()
    for entry in raw["configurations"]:
        name = entry["name"]
        if name in names:
            raise ConfigurationError(f"published configuration {name!r} is listed twice")
        names.add(name)
        config = {"family": entry["family"], "params": entry.get("params", {})}
        try:
            validate_configuration(config)
        except ConfigurationError as err:
            raise ConfigurationError(f"published configuration {name!r}: {err}") from None
        kinds = tuple(entry.get("task_types", TASK_TYPES))
        if not set(kinds) <= set(TASK_TYPES) or entry["source"] not in sources:
            raise ConfigurationError(f"published configuration {name!r}: unknown task type "
                                     f"or source ({kinds}, {entry['source']!r})")
        out.append(PublishedConfiguration(name, config, kinds, sources[entry["source"]],
                                          entry.get("note", "")))
    return tuple(out)


def published_configurations(task_type: str | None = None) -> list[PublishedConfiguration]:
    """The published configurations, in the file's order (strongest defaults first).

    Args:
        task_type: only those published for ``classification`` or ``regression``.

    Returns:
        The configurations with their sources.

    Raises:
        ConfigurationError: the shipped file holds an invalid configuration (a packaging bug).
    """
    return [p for p in _load() if task_type is None or task_type in p.task_types]


def published_sources() -> dict[str, PublishedSource]:
    """The sources the published configurations were taken from, by key, in the order of
    their first configuration in the file.

    Returns:
        Source key -> the source.

    Raises:
        ConfigurationError: the shipped file holds an invalid configuration (a packaging bug).
    """
    return {p.source.key: p.source for p in _load()}


@cache
def published_by_id() -> dict[str, PublishedConfiguration]:
    """The published configurations by configuration id (the first name in the file's order
    where one configuration is published under several).

    Returns:
        Configuration id (:func:`kg.identity.configuration_id`) -> its publication.
    """
    from metakg.kg.identity import configuration_id

    out: dict[str, PublishedConfiguration] = {}
    for p in _load():
        out.setdefault(configuration_id(p.config), p)
    return out


def published_quads(published: PublishedConfiguration, config_iri: NamedNode) -> list[Quad]:
    """Quads saying where a configuration was published: ``config prov:wasDerivedFrom pub``,
    where ``pub`` is the named publication (its ``dcterms:title``) and is ``dcterms:isPartOf``
    the source (a ``prov:Entity`` with its title, address and version). One configuration
    published under two names (FLAML lists some in two task types) has one node per name.

    Args:
        published: the published configuration.
        config_iri: the configuration's node.

    Returns:
        The quads (default graph).
    """
    from pyoxigraph import DefaultGraph, Literal

    src = entity("source", published.source.key)
    pub = entity("publication", published.name)
    g = DefaultGraph()
    quads = [Quad(config_iri, PROV.wasDerivedFrom, pub, g),
             Quad(pub, A, PROV.Entity, g),
             Quad(pub, DCT.title, Literal(published.name), g),
             Quad(pub, DCT.isPartOf, src, g),
             Quad(src, A, PROV.Entity, g),
             Quad(src, DCT.title, Literal(published.source.title), g),
             Quad(src, DCT.source, NamedNode(published.source.url), g)]
    if published.source.version:
        quads.append(Quad(src, MKG.version, Literal(published.source.version), g))
    return quads
