"""Search in Chinese that scales: one tokeniser for both engines, a PostgreSQL index expression, highlighting.

A query is split into *terms* at white space ("维修 2024" is two terms); a row matches when it holds every term
(each term in any of the searched fields), as a case-insensitive substring. That is the rule on both engines.

On SQLite (the embedded default) the rule is applied as it reads: `icontains` over the fields, per term.

On PostgreSQL a term is first looked up in a GIN index over `portal_search_vector(field, field, …)`, an
IMMUTABLE SQL function (created by portal's migration 00xx_search_vector) turning text into a `tsvector` of
  - every single CJK character and every overlapping pair of them ("维修服务" → 维 修 服 务 维修 修服 服务);
  - every run of Latin letters and digits, lower-cased and kept whole ("WiFi 5G 2024年" → wifi 5g 2024);
and the term becomes the matching `tsquery` (`'维修'`, `'人'`, `'维修' & '修服' & '服务'`, Latin runs as
prefixes: `'wifi':*`). The index narrows the rows; the same `icontains` as on SQLite then checks them, so both
engines find the same rows (a Latin run is only found by the index at a word start: "fi" does not find
"WiFi" on PostgreSQL, where SQLite would). A term with nothing the index knows (only punctuation) is checked by
`icontains` alone.

No extension is needed (pg_trgm and zhparser cannot serve two-character Chinese queries or are not there).
"""

import re
import time
from html import escape

from django.db import connection
from django.db.models import BooleanField, Func, Q, TextField, Value
from django.db.models.expressions import Expression, RawSQL
from django.utils.safestring import mark_safe

from portal.db import ids_in_q

MAX_TERMS = 8
MAX_TERM_LENGTH = 40

# CJK unified ideographs (the basic block, extension A, compatibility ideographs): the same ranges as the SQL
_CJK = "\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_LATIN_RUN = re.compile(r"[a-z0-9]+")

# The index's function (PostgreSQL): the tokens of its arguments joined by spaces (NULLs skipped).
VECTOR_FUNCTION_SQL = rf"""
CREATE OR REPLACE FUNCTION portal_search_vector(VARIADIC parts text[]) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 1000 AS $$
  SELECT coalesce(array_to_tsvector(array_agg(DISTINCT token)), ''::tsvector)
  FROM (
    SELECT m[1] AS token
      FROM regexp_matches(lower(array_to_string(parts, ' ')), '[a-z0-9]+', 'g') AS m
    UNION ALL
    SELECT substr(r.run, i, n)
      FROM (SELECT m[1] AS run
              FROM regexp_matches(array_to_string(parts, ' '), '[{_CJK}]+', 'g') AS m) AS r,
           generate_series(1, char_length(r.run)) AS i,
           (VALUES (1), (2)) AS k(n)
     WHERE i + n - 1 <= char_length(r.run)
  ) AS tokens
$$;
"""
# COST: worth a thousand simple operators (regular expressions, an array): so the planner checks a row's
# cheap conditions (the icontains beside it) first, when it walks the date index rather than the search index.
DROP_VECTOR_FUNCTION_SQL = "DROP FUNCTION IF EXISTS portal_search_vector(VARIADIC text[]);"


def terms(query):
    """The query's terms: split at white space, at most MAX_TERMS of at most MAX_TERM_LENGTH characters, each
    once, in order."""
    found = []
    for term in (query or "").split():
        term = term[:MAX_TERM_LENGTH]
        if term.casefold() not in (t.casefold() for t in found):
            found.append(term)
    return found[:MAX_TERMS]


def tokens(text):
    """The index's tokens of a text (what portal_search_vector makes of it), as a set: for tests and checks."""
    text = text or ""
    found = set(_LATIN_RUN.findall(text.lower()))
    for run in _CJK_RUN.findall(text):
        found.update(run)
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found


def tsquery(term):
    """The tsquery (as text) that a row holding `term` must match, or "" when the index knows nothing of it:
    single CJK characters alone, otherwise their pairs; Latin runs lower-cased, as prefixes."""
    parts = []
    for run in _CJK_RUN.findall(term):
        pairs = [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
        parts.extend(f"'{pair}'" for pair in pairs)
    parts.extend(f"'{run}':*" for run in _LATIN_RUN.findall(term.lower()))
    return " & ".join(dict.fromkeys(parts))


class SearchVector(Func):
    """portal_search_vector(field, …): the expression the GIN index is built on (its fields in the same order)."""

    function = "portal_search_vector"
    output_field = TextField()


class StoredVector(Expression):
    """A stored vector column the model state does not know (activities 0010: PostgreSQL only), read on the
    query's own table under whatever alias it has there (a subquery's V0 too)."""

    output_field = TextField()

    def __init__(self, column):
        super().__init__()
        self.column = column

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name_unless_alias(alias)}.{connection.ops.quote_name(self.column)}", []


def _matches(vector_fields, query_text, column=None):
    """`portal_search_vector(fields) @@ 'query'::tsquery`, written so the planner sees the indexed expression;
    with `column` (a stored column holding that vector: activities 0010), that column."""
    vector = StoredVector(column) if column else SearchVector(*vector_fields)
    return Func(vector, RawSQL("%s::tsquery", (query_text,)), template="%(expressions)s", arg_joiner=" @@ ",
                output_field=BooleanField())


def uses_index():
    return connection.vendor == "postgresql"


def _index_is_exact(term):
    """Is the index's match of `term` exactly the substring rule? For one or two CJK characters, yes: the
    vector holds every character and every adjacent pair within a run (fields are joined by spaces, so no
    pair straddles two fields), and the check is case-free."""
    return 1 <= len(term) <= 2 and bool(_CJK_RUN.fullmatch(term))


# A rare term's rows are found through the index first (rare_hits), at most this many, then read by id.
RARE_CAP = 5000
COMMON_TOKENS_TTL = 600  # seconds a process keeps a column's most common tokens (they change with ANALYZE)
_common_tokens = {}  # (table, column) -> (read at, frozenset of tokens, or None without statistics)


def common_tokens(table, column):
    """The tokens PostgreSQL's statistics list among the stored vector column's most common elements (pg_stats),
    None where the column has no statistics yet; read at most once every COMMON_TOKENS_TTL per process."""
    key = (table, column)
    read_at, tokens_ = _common_tokens.get(key, (None, None))
    if read_at is None or time.monotonic() - read_at > COMMON_TOKENS_TTL:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT most_common_elems::text::text[] FROM pg_stats"
                " WHERE schemaname = current_schema() AND tablename = %s AND attname = %s",
                [table, column],
            )
            row = cursor.fetchone()
        tokens_ = frozenset(row[0]) if row and row[0] else None
        _common_tokens[key] = (time.monotonic(), tokens_)
    return tokens_


def rare_hits(model, column, term, *, cap=RARE_CAP):
    """On PostgreSQL, the ids of the rows of `model` whose stored vector `column` holds `term`'s tokens when the
    term is rare (at most `cap` rows), else None (a common term, or no index, or no statistics yet).

    Why: a list ordered by date walks the date index and checks each row against the search index's
    condition, stopping after a page. That is right for a common term (宣讲: a page within a few thousand
    rows) and ruinous for a rare one: the planner estimates a token missing from the column's statistics at a
    fixed fraction of the table, so for a term found nowhere (维修 among a million activities) it walked the
    whole index, 1.4 s. A rare term's rows are few by definition: found through the GIN index (a bitmap scan,
    well under a millisecond), they are then read by id."""
    if not uses_index():
        return None
    query_text = tsquery(term)
    if not query_text:
        return None
    common = common_tokens(model._meta.db_table, column)
    if common is None:
        return None
    wanted = re.findall(r"'([^']*)'", query_text)
    if len(wanted) == 1 and wanted[0] in common and not query_text.endswith(":*"):
        return None  # one common token: the date index finds a page of it soon
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote(model._meta.pk.column)} FROM {quote(model._meta.db_table)}"
            f" WHERE {quote(column)} @@ %s::tsquery LIMIT %s",
            [query_text, cap + 1],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return ids if len(ids) <= cap else None


def contains_lookup(term):
    """The lookup of "holds `term`": icontains, or contains when the term has no letter with a case (Chinese,
    digits: most of what is typed here). The two find the same rows then, and contains does not upper-case every
    value it reads first (PostgreSQL: 7,105 organisations' names in 0.9 ms against 3.7)."""
    return "contains" if term.upper() == term.lower() else "icontains"


def term_q(term, fields, *, indexed=(), extra=None, column=None, hits=None):
    """The rows holding `term` in any of `fields` (icontains), narrowed first through the index over `indexed`
    on PostgreSQL (`indexed`: the fields of the model's portal_search_vector index, in its order, a subset of
    `fields`). `extra`: a Q also accepted (matches in related names, resolved by the caller). `column`: the
    model's stored vector column of those fields, if it has one (PostgreSQL only: unknown to the model state).
    `hits`: the rows' ids found through the index for a rare term (rare_hits), used in place of its condition."""
    holds = f"__{contains_lookup(term)}"
    exact = Q()
    for name in fields:
        exact |= Q(**{name + holds: term})
    if indexed and uses_index():
        query_text = tsquery(term)
        if query_text:
            rest = Q()
            for name in fields:
                if name not in indexed:
                    rest |= Q(**{name + holds: term})
            local = Q()
            for name in indexed:
                local |= Q(**{name + holds: term})
            matches = ids_in_q("pk", hits) if hits is not None else Q(_matches(indexed, query_text, column))
            if _index_is_exact(term):
                # one or two CJK characters: the index holds exactly those tokens, so its match is the answer;
                # no icontains re-check, whose estimate (a fraction of a fraction) misleads the planner
                local = Q()
            exact = (matches & local) | rest if rest else matches & local
    return exact | extra if extra is not None else exact


def search_q(query, fields, *, indexed=(), extra=None, column=None, hits=None):
    """Every term of `query` held (see term_q); `extra(term)`, when given, returns a further Q per term;
    `hits(term)`, the ids of a rare term's rows (rare_hits) or None."""
    condition = Q()
    for term in terms(query):
        condition &= term_q(term, fields, indexed=indexed, extra=extra(term) if extra else None, column=column,
                            hits=hits(term) if hits else None)
    return condition


def relevance_order(query, fields):
    """A Case expression: how many of the query's terms the first field (the title, the name) holds, highest
    first. For lists whose matches are few enough to be sorted (needs, volunteers, pairings)."""
    from django.db.models import Case, IntegerField, When

    score = Value(0)
    for term in terms(query):
        score = score + Case(When(**{f"{fields[0]}__icontains": term}, then=Value(1)), default=Value(0),
                             output_field=IntegerField())
    return score


def highlight(text, query):
    """The text, escaped, with every occurrence of each of the query's terms wrapped in <mark> (case-insensitive).
    User text is escaped before anything is marked; only the <mark> tags are added as HTML."""
    text = "" if text is None else str(text)
    found = terms(query)
    if not found or not text:
        return mark_safe(escape(text))
    pattern = re.compile("|".join(re.escape(t) for t in sorted(found, key=len, reverse=True)), re.IGNORECASE)
    spans = []
    for match in pattern.finditer(text):
        if spans and match.start() <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], match.end()))
        else:
            spans.append((match.start(), match.end()))
    out, at = [], 0
    for start, end in spans:
        out.append(escape(text[at:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        at = end
    out.append(escape(text[at:]))
    return mark_safe("".join(out))
