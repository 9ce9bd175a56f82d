"""SQL written against the logical chat schema, executed under any mapping.

The catalog's `.sql` files name tables and columns by their *logical* names in braces:

    SELECT m.{messages.id} FROM {messages} AS m WHERE m.{messages.conversation_id} = %(conversation_id)s

- `{table}` becomes the schema-qualified physical table (`"perf"."Message"`),
- `{table.column}` becomes the quoted physical column (`"conversationId"`),
- `%(name)s` stays a psycopg parameter (values are never formatted into the text).

Both come from `synth_pipeline.schema.mapping` as `psycopg.sql.Identifier`, so the same file runs
on the reference schema and on a Prisma-style one. A placeholder naming an unknown table or column
is an error at render time, not at execution. Leading `--` lines are the file's description and
are not sent to the server. A file may hold several named statements, each introduced by a
`-- name: NAME` line (see `named_statements`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from psycopg import sql

from synth_pipeline.errors import SynthError
from synth_pipeline.schema.logical import TABLE_ORDER
from synth_pipeline.schema.logical import table as logical_table
from synth_pipeline.schema.mapping import Mapping

_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?:\.([a-z_]+))?\}")
_NAME_LINE = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
QUERIES_PACKAGE = "synth_pipeline.reports.queries"


@dataclass(frozen=True)
class LogicalSql:
    """One statement in logical names, with the description from its leading comment lines."""

    name: str
    description: str
    text: str

    def tables(self) -> set[str]:
        return {m.group(1) for m in _PLACEHOLDER.finditer(self.text)}

    def render(self, schema: str, mapping: Mapping) -> sql.Composed:
        return render(self.text, schema, mapping, where=self.name)


def _identifier(match: re.Match[str], schema: str, mapping: Mapping, where: str) -> sql.Identifier:
    table_name, column_name = match.group(1), match.group(2)
    if table_name not in TABLE_ORDER:
        raise SynthError(f"{where}: unknown logical table {{{table_name}}}; known: {', '.join(TABLE_ORDER)}")
    if column_name is None:
        return mapping.table(schema, table_name)
    if column_name not in logical_table(table_name).column_names:
        raise SynthError(f"{where}: unknown logical column {{{table_name}.{column_name}}}")
    return mapping.column(table_name, column_name)


def render(text: str, schema: str, mapping: Mapping, *, where: str = "query") -> sql.Composed:
    """Replace every `{table}` / `{table.column}` by its physical identifier."""
    parts: list[sql.Composable] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(sql.SQL(text[position:match.start()]))
        parts.append(_identifier(match, schema, mapping, where))
        position = match.end()
    parts.append(sql.SQL(text[position:]))
    return sql.Composed(parts)


def _split_description(name: str, text: str) -> LogicalSql:
    lines = text.strip().splitlines()
    description = []
    while lines and lines[0].lstrip().startswith("--"):
        description.append(lines.pop(0).lstrip()[2:].strip())
    body = "\n".join(lines).strip().rstrip(";").strip()
    return LogicalSql(name=name, description=" ".join(d for d in description if d), text=body)


@cache
def read_query_file(filename: str) -> str:
    return resources.files(QUERIES_PACKAGE).joinpath(filename).read_text(encoding="utf-8")


def load_statement(filename: str) -> LogicalSql:
    """A single-statement `.sql` file of the query package."""
    return _split_description(filename.removesuffix(".sql"), read_query_file(filename))


def named_statements(filename: str) -> dict[str, LogicalSql]:
    """A file of `-- name: NAME` sections: {name: statement}, in file order."""
    text = read_query_file(filename)
    matches = list(_NAME_LINE.finditer(text))
    if not matches:
        raise SynthError(f"{filename}: no '-- name: NAME' sections")
    out = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        out[match.group(1)] = _split_description(match.group(1), text[match.end():end])
    return out
