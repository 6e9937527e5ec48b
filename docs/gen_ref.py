"""Generate the reference pages when the site is built (run by mkdocs-gen-files).

- ``reference/cli.md`` from the Typer app (``metakg.api.cli.app``), so it cannot go stale;
- ``reference/http.md`` and ``reference/openapi.json`` from the FastAPI app factory
  (``metakg.api.app.create_app``), without starting it (no store is opened, no network);
- ``reference/python.md`` from the public names (``__all__``) of the packages, with their
  signatures and docstrings;
- a check that ``benchmarks.md`` and the README's results table are what ``bench/report.py``
  makes of ``bench/results/*.json`` (a warning, so ``mkdocs build --strict`` fails when not).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import logging
from pathlib import Path
from typing import Any

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("mkdocs.plugins.metakg_reference")


def cli_page() -> str:
    import typer
    import typer.main
    from typer.cli import get_docs_for_click

    from metakg.api.cli import app

    command = typer.main.get_command(app)
    body = get_docs_for_click(obj=command, ctx=typer.Context(command), name="metakg", title="Command line")
    return ("<!-- Generated from the Typer app (metakg.api.cli) when the site is built. -->\n\n"
            + body.strip() + "\n")


def _type(schema: dict[str, Any]) -> str:
    """A short type for a JSON schema: ``string``, ``integer or null``, ``array of RunIn``..."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        return f"object of {_type(extra)}" if isinstance(extra, dict) else "object"
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else kind


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def http_page(spec: dict[str, Any]) -> str:
    info = spec["info"]
    out = ["# HTTP API", "",
           "<!-- Generated from the FastAPI app (metakg.api.app:create_app) when the site is built. -->", "",
           f"{info.get('description', '')} Version {info['version']}; OpenAPI {spec['openapi']}: "
           "[openapi.json](openapi.json). A running server also serves interactive docs at `/docs`.", "",
           "Authentication: send the key from `metakg keys create` in the `X-API-Key` header. Roles: "
           "`read` < `write` < `admin`; `metakg serve --public-reads` lets reads through without a key. "
           "Errors are JSON `{\"detail\": ...}` with 400 (bad request), 401 (no or unknown key), 403 (role too "
           "low), 404 (not found), 409 (conflict: the store is held by another process, a sync is under way, "
           "a dataset name is taken), 413 (body too large), 422 (invalid data), 502 (an MLflow tracking "
           "server or OpenML could not be reached or refused) or 503 (store unavailable).", ""]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((method.upper(), path, op))
    for tag, ops in by_tag.items():
        out += [f"## {tag.capitalize()}", ""]
        for method, path, op in ops:
            out += [f"### `{method} {path}`", "", op.get("summary", ""), ""]
            if op.get("description"):
                out += [op["description"].strip(), ""]
            params = op.get("parameters", [])
            if params:
                out += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
                for p in params:
                    schema = p.get("schema", {})
                    default = f" (default {schema['default']})" if "default" in schema else ""
                    required = "yes" if p.get("required") else "no"
                    out.append(f"| `{p['name']}` | {p['in']} | {_type(schema)} | {required} "
                               f"| {_cell(p.get('description') or schema.get('description'))}{default} |")
                out.append("")
            body = op.get("requestBody")
            if body:
                for media, content in body.get("content", {}).items():
                    out += [f"Request body ({media}): {_type(content.get('schema', {}))}", ""]
            responses = [f"{code} {_cell(r.get('description'))}" for code, r in op.get("responses", {}).items()
                         if code.startswith("2")]
            out += ["Success: " + "; ".join(responses), ""]
    out += ["## Schemas", ""]
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        out += [f"### {name}", "", _cell(schema.get("description")), ""]
        props = schema.get("properties", {})
        if props:
            required = set(schema.get("required", []))
            out += ["| field | type | required | description |", "|---|---|---|---|"]
            for field, s in props.items():
                default = f" (default {json.dumps(s['default'])})" if "default" in s else ""
                out.append(f"| `{field}` | {_type(s)} | {'yes' if field in required else 'no'} | "
                           f"{_cell(s.get('description'))}{default} |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


#: Modules whose public names make the Python reference, in this order.
PYTHON_MODULES = ("metakg.kg", "metakg.metalearner", "metakg.metalearner.warmstart", "metakg.runner",
                  "metakg.api.client", "metakg.kg.importers")


def _doc(obj: object) -> list[str]:
    """A docstring as Markdown: the summary as text, the rest (Args, Returns...) verbatim."""
    doc = inspect.getdoc(obj) or ""
    summary, _, rest = doc.partition("\n\n")
    out = [" ".join(summary.split()), ""] if summary else []
    if rest.strip():
        out += ["```text", rest.rstrip(), "```", ""]
    return out


def python_page() -> str:
    out = ["# Python API", "",
           "<!-- Generated from the packages' __all__ and docstrings when the site is built. -->", "",
           "The public names of each package, with their signatures and docstrings. Everything else "
           "is internal and may change.", ""]
    for name in PYTHON_MODULES:
        module = importlib.import_module(name)
        out += [f"## `{name}`", "", *_doc(module)]
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                kind = "class" if inspect.isclass(obj) else "def"
                try:
                    sig = str(inspect.signature(obj))
                except (TypeError, ValueError):
                    sig = "(...)"
                out += [f"### `{attr}`", "", "```python", f"{kind} {attr}{sig}", "```", "", *_doc(obj)]
            elif not inspect.ismodule(obj):
                text = repr(obj)
                out += [f"### `{attr}`", "", "```python", f"{attr} = {text[:300]}{' ...' if len(text) > 300 else ''}",
                        "```", ""]
    return "\n".join(out).rstrip() + "\n"


def check_benchmarks() -> None:
    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "report.py")
    assert spec and spec.loader
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    if report.PAGE.read_text() != report.page():
        log.warning("docs/benchmarks.md is not what bench/results/*.json give; run python bench/report.py")
    readme = report.README.read_text()
    if readme != report._with_readme_table(readme):
        log.warning("README.md's results table is not what bench/results/lodo.json gives; run python bench/report.py")


def main() -> None:
    from metakg.api.app import create_app

    with mkdocs_gen_files.open("reference/cli.md", "w") as fh:
        fh.write(cli_page())
    spec = create_app().openapi()
    with mkdocs_gen_files.open("reference/openapi.json", "w") as fh:
        json.dump(spec, fh, indent=2)
    with mkdocs_gen_files.open("reference/http.md", "w") as fh:
        fh.write(http_page(spec))
    with mkdocs_gen_files.open("reference/python.md", "w") as fh:
        fh.write(python_page())
    check_benchmarks()


main()
