"""What the store layer reads from SPARQL text without parsing it: the query form, where the
WHERE group opens, and the line and column of a parse error.

Every query is parsed by the back-end's parser (pyoxigraph's, with ``prefixes=``), so
nothing here decides whether a query is valid or what it means. Bound values (from metakg's
own code, never from a user) become a one-row ``VALUES`` block of terms written by
pyoxigraph (``str(term)``, N-Triples escaping) at the top of the WHERE group: pyoxigraph's
``substitutions=`` would be the parser's own way, but it refuses any variable that is not in
the SELECT projection. The scanner below finds that group by SPARQL's token rules (IRIs,
strings and comments are skipped whole, so a ``#`` or a brace inside them is never mistaken
for syntax).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from pyoxigraph import Variable

from metakg.kg.errors import QueryError, QuerySyntaxError

__all__ = ["QUERY_FORMS", "UPDATE_FORMS", "check_untrusted", "insert_values", "query_form", "syntax_error"]

QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
UPDATE_FORMS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE",
                          "COPY", "WITH"})

# SPARQL 1.1 grammar, IRIREF: '<' ([^<>"{}|^`\]-[#x00-#x20])* '>'; a '<' that does not start
# one is the less-than operator.
_IRIREF = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_POSITION = re.compile(r"\bat (\d+):(\d+)")


def _tokens(text: str) -> Iterator[tuple[int, str]]:
    """(offset, token) for the tokens that matter here: words, IRIs, ``{``, ``}``, others.

    Comments and whitespace are skipped; a string literal is one token.
    """
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
        elif c == "<" and (m := _IRIREF.match(text, i)):
            yield i, m.group()
            i = m.end()
        elif c in "\"'":
            delim = c * 3 if text.startswith(c * 3, i) else c
            j = i + len(delim)
            while j < n and not text.startswith(delim, j):
                j += 2 if text[j] == "\\" else 1
            yield i, text[i : j + len(delim)]
            i = j + len(delim)
        elif m := _WORD.match(text, i):
            yield i, m.group()
            i = m.end()
        else:
            yield i, c
            i += 1


def _after_prologue(text: str) -> Iterator[tuple[int, str]]:
    """The tokens after the ``BASE``/``PREFIX`` declarations."""
    tokens = _tokens(text)
    for offset, tok in tokens:
        word = tok.upper()
        if word in ("BASE", "PREFIX"):
            # a prefix name cannot hold '<': the declaration ends with the first IRI
            for _, part in tokens:
                if part.startswith("<"):
                    break
        else:
            yield offset, tok
            yield from tokens
            return


def query_form(query: str) -> str:
    """The first keyword after the prologue (``SELECT``, ``ASK``, ``INSERT``...), upper-case.

    Returns ``""`` for an empty query or one that starts with something else.
    """
    for _, tok in _after_prologue(query):
        return tok.upper() if _WORD.fullmatch(tok) else ""
    return ""


def check_untrusted(query: str) -> None:
    """Refuse what an untrusted query must not do before it is evaluated.

    ``SERVICE`` would make the store send HTTP requests to any host the server can reach
    (pyoxigraph follows it and has no switch to turn it off): a federated query from a client
    must not use the server as a proxy into its network.

    Raises:
        QuerySyntaxError: the query uses ``SERVICE`` (outside strings, IRIs and comments).
    """
    for offset, tok in _tokens(query):
        if tok.upper() == "SERVICE":
            line = query.count("\n", 0, offset) + 1
            column = offset - query.rfind("\n", 0, offset)
            raise QuerySyntaxError("SERVICE (federated queries) is not allowed here: the server does not "
                                   "send requests to other endpoints; query them yourself.", line, column)


def syntax_error(exc: SyntaxError, query: str, *, line_offset: int = 0) -> QuerySyntaxError:
    """A :class:`QuerySyntaxError` from pyoxigraph's ``SyntaxError`` ("error at 3:17: ...").

    Args:
        exc: the parser's error.
        query: the query text as the user wrote it.
        line_offset: lines the parser saw before the user's first line (a prepended prologue).
    """
    form = query_form(query)
    if form in UPDATE_FORMS:
        return QuerySyntaxError(
            f"Only SELECT, ASK, CONSTRUCT and DESCRIBE queries are allowed here, not {form}; "
            "to write, log runs (`metakg log`, POST /runs), add a graph file (`metakg "
            "import`), or use the Python API's KnowledgeGraph methods.", 1, 1)
    if not form:
        first = next(_after_prologue(query), None)
        if first is None:
            return QuerySyntaxError("Only SELECT, ASK, CONSTRUCT and DESCRIBE queries are allowed "
                                    "here, not an empty query.", 1, 1)
    message = str(exc)
    m = _POSITION.search(message)
    if m is None:
        return QuerySyntaxError(f"Malformed SPARQL: {message}")
    line, column = int(m.group(1)) - line_offset, int(m.group(2))
    lines = query.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    before = text[: max(column - 1, 0)]
    detail = _readable_detail(message[m.end():].lstrip(": "), before)
    near = before[-30:].lstrip()
    where = f'after "{"…" if len(before.strip()) > len(near) else ""}{near}", ' if near else ""
    return QuerySyntaxError(f"Malformed SPARQL at {line}:{column}: {where}{detail}", line, column)


def _readable_detail(detail: str, before: str) -> str:
    """The parser's reason, without its lists of character ranges: an undeclared prefix is
    named with the declared ones; "expected one of" keeps the tokens a person can type."""
    if "Prefix not found" in detail:
        from metakg.kg.vocabulary import PREFIXES

        used = re.search(r"([A-Za-z][\w.-]*)?:[\w.-]*$", before)
        name = f"'{used.group(1) or ''}:'" if used else "a prefix"
        return (f"{name} is not a declared prefix; declared here: "
                + ", ".join(f"{p}:" for p in PREFIXES) + " (or add a PREFIX line).")
    if detail.startswith("expected one of"):
        items = re.findall(r'"[^"]*"|\[[^\]]*\]|[A-Za-z][A-Za-z ]*[A-Za-z]', detail[len("expected one of"):])
        kept: list[str] = []
        for item in items:  # character classes become what they stand for, or go
            readable = item if not item.startswith("[") else (
                "a number" if re.search(r"'0'\s*\.\.=\s*'9'", item)
                else "a name" if re.search(r"'A'\s*\.\.=\s*'Z'", item) else "")
            if readable and readable not in kept:
                kept.append(readable)
        return "expected one of " + ", ".join(kept[:12]) + (" ..." if len(kept) > 12 else "") \
            if kept else "unexpected text here"
    return detail


def _where_group(query: str) -> int:
    """Offset of the ``{`` that opens the WHERE group, or -1 (CONSTRUCT skips its template)."""
    form, depth, groups = "", 0, []
    for offset, tok in _after_prologue(query):
        if not form:
            form = tok.upper()
        if tok == "{":
            if depth == 0:
                groups.append(offset)
                if form != "CONSTRUCT" or len(groups) == 2:
                    return offset
            depth += 1
        elif tok == "}":
            depth -= 1
        elif depth == 0 and form == "CONSTRUCT" and not groups and tok.upper() == "WHERE":
            raise QueryError("Cannot bind variables in the short form CONSTRUCT WHERE { ... }; "
                             "write CONSTRUCT { template } WHERE { ... }.")
    return -1


def insert_values(query: str, bindings: Mapping[str, object]) -> str:
    """``query`` with a one-row ``VALUES`` block for ``bindings`` at the top of its WHERE group.

    Args:
        query: SPARQL query text (written by metakg, not by a user).
        bindings: variable name -> pyoxigraph term; each term is written by pyoxigraph, so a
            value can never change the query's structure.

    Raises:
        QueryError: a variable name is not a SPARQL variable name, or the query has no group.
    """
    names = list(bindings)
    for name in names:
        try:
            Variable(name)
        except ValueError:
            raise QueryError(f"Invalid variable name {name!r} in bindings.") from None
    values = " ".join(str(bindings[n]) for n in names)
    block = f" VALUES ({' '.join('?' + n for n in names)}) {{ ({values}) }} "
    pos = _where_group(query)
    if pos < 0:
        raise QueryError("Cannot bind variables: the query has no '{ ... }' group.")
    return query[: pos + 1] + block + query[pos + 1 :]
