"""The search half of Log Service's query language (the part before `|`), parsed into a predicate.

Supported, as on the cloud: `*` (everything), full-text terms (`error`), field terms
(`level: error`, `__topic__: web`, `__source__: ...`, `__tag__:name: value`), keys inside a
field's JSON value (`message.kind: audit`, as a JSON index allows), quoted strings,
`*`/`?` wildcards inside a word, `and` / `or` / `not` (any case), parentheses, and a space between
terms meaning `and`. Values are split into tokens at Log Service's default delimiters and compared
case-insensitively, so `path: /api/todo` matches a log whose `path` holds the tokens `api` and
`todo`. Not supported: the analytics part after `|` (SQL), numeric ranges (`latency > 100`), phrase
search (`#"..."`); those are refused with a `QueryError` whose message says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

# Log Service's default token delimiters (the index "token" setting), plus whitespace.
_VALUE_DELIMITERS = re.compile(r"[,'\";=()\[\]{}?@&<>/:\s]+")
# In a query word `*` and `?` are wildcards, so they must not split it.
_QUERY_DELIMITERS = re.compile(r"[,'\";=()\[\]{}@&<>/:\s]+")
_KEYWORDS = {"and", "or", "not"}

# A log as the query sees it: content keys plus __topic__, __source__, __tag__:k.
Fields = Mapping[str, str]
Predicate = Callable[[Fields], bool]


class QueryError(ValueError):
    """The query cannot be answered; the message is shown to the client as is."""


def value_tokens(value: str) -> set[str]:
    return {t for t in _VALUE_DELIMITERS.split(value.lower()) if t}


def _query_tokens(word: str) -> list[str]:
    return [t for t in _QUERY_DELIMITERS.split(word.lower()) if t]


def split_analytics(query: str) -> tuple[str, str]:
    """(search, analytics): the text before and after the first `|` outside quotes."""
    in_quotes = False
    for i, ch in enumerate(query):
        if ch == '"' and (i == 0 or query[i - 1] != "\\"):
            in_quotes = not in_quotes
        elif ch == "|" and not in_quotes:
            return query[:i], query[i + 1 :]
    return query, ""


@dataclass(frozen=True)
class _Tok:
    kind: str  # "word" | "quoted" | "(" | ")" | ":"
    text: str


def _lex(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "():":
            tokens.append(_Tok(ch, ch))
            i += 1
        elif ch == '"':
            j, buf = i + 1, []
            while j < len(text) and text[j] != '"':
                if text[j] == "\\" and j + 1 < len(text):
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= len(text):
                raise QueryError(f"unterminated quoted string in query: {text!r}")
            tokens.append(_Tok("quoted", "".join(buf)))
            i = j + 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in '():"':
                j += 1
            word = text[i:j]
            if word[0] in "<>=!":
                raise QueryError(
                    f"numeric range queries ({word!r}) are not supported by the "
                    "local Log Service; use key: value terms"
                )
            if word.startswith("#"):
                raise QueryError('phrase search (#"...") is not supported by the local Log Service')
            tokens.append(_Tok("word", word))
            i = j
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self._toks = tokens
        self._pos = 0

    def _peek(self, offset: int = 0) -> _Tok | None:
        i = self._pos + offset
        return self._toks[i] if i < len(self._toks) else None

    def _take(self) -> _Tok:
        tok = self._peek()
        if tok is None:
            raise QueryError("query ends unexpectedly")
        self._pos += 1
        return tok

    def _is_keyword(self, tok: _Tok | None, word: str) -> bool:
        return tok is not None and tok.kind == "word" and tok.text.lower() == word

    def parse(self) -> Predicate:
        pred = self._or()
        if self._peek() is not None:
            # _peek() is not None: checked just above.
            raise QueryError(f"unexpected {self._peek().text!r} in query")  # type: ignore[union-attr]
        return pred

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._is_keyword(self._peek(), "or"):
            self._take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda f: any(p(f) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while True:
            tok = self._peek()
            if tok is None or tok.kind == ")" or self._is_keyword(tok, "or"):
                break
            if self._is_keyword(tok, "and"):
                self._take()
            parts.append(self._unary())  # juxtaposition means `and`, as on the cloud
        return parts[0] if len(parts) == 1 else (lambda f: all(p(f) for p in parts))

    def _unary(self) -> Predicate:
        if self._is_keyword(self._peek(), "not"):
            self._take()
            inner = self._unary()
            return lambda f: not inner(f)
        return self._primary()

    def _primary(self) -> Predicate:
        tok = self._take()
        if tok.kind == "(":
            inner = self._or()
            if self._take().kind != ")":
                raise QueryError("missing ')' in query")
            return inner
        if tok.kind in (")", ":"):
            raise QueryError(f"unexpected {tok.text!r} in query")
        if tok.kind == "word" and tok.text.lower() in _KEYWORDS:
            raise QueryError(f"operator {tok.text!r} needs a term on each side")
        nxt = self._peek()
        if tok.kind == "word" and nxt is not None and nxt.kind == ":":
            self._take()
            key = tok.text
            # Tag keys carry a colon of their own: `__tag__:__receive_time__: 123`.
            after = self._peek(1)
            if key == "__tag__" and after is not None and after.kind == ":":
                key = "__tag__:" + self._take().text
                self._take()
            return _field_term(key, self._take_value())
        if tok.kind == "word" and tok.text == "*":
            return lambda f: True
        return _full_text_term(tok.text)

    def _take_value(self) -> str:
        tok = self._take()
        if tok.kind not in ("word", "quoted"):
            raise QueryError(f"a value must follow ':' (got {tok.text!r})")
        return tok.text


def _matches(wanted: list[str], have: set[str]) -> bool:
    for pattern in wanted:
        if "*" in pattern or "?" in pattern:
            if not any(fnmatchcase(token, pattern) for token in have):
                return False
        elif pattern not in have:
            return False
    return True


def field_value(fields: Fields, key: str) -> str | None:
    """The value `key` names: a field, or with a dot a key inside a field's JSON object value
    (`message.kind`), as a JSON index on that field lets the cloud search. The local Log Service
    keeps no index configuration, so every field counts as indexed, JSON ones included. A leaf
    that is a number or boolean is compared as its JSON text; an object or array is not a leaf."""
    if key in fields:
        return fields[key]
    for at in (i for i, ch in enumerate(key) if ch == "."):
        if key[:at] not in fields:
            continue
        try:
            node: object = json.loads(fields[key[:at]])
        except ValueError:
            return None
        for part in key[at + 1 :].split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        if isinstance(node, str):
            return node
        return None if isinstance(node, (dict, list)) or node is None else json.dumps(node)
    return None


def _field_term(key: str, value: str) -> Predicate:
    wanted = _query_tokens(value)

    def pred(fields: Fields) -> bool:
        have = field_value(fields, key)
        if have is None:
            return False
        if not wanted:  # `key: ""` matches an empty value
            return have == ""
        return _matches(wanted, value_tokens(have))

    return pred


def _full_text_term(word: str) -> Predicate:
    wanted = _query_tokens(word)

    def pred(fields: Fields) -> bool:
        # The full-text index covers content values, not the reserved fields.
        have: set[str] = set()
        for key, value in fields.items():
            if not key.startswith("__"):
                have |= value_tokens(value)
        return _matches(wanted, have)

    return pred


def compile_query(query: str | None) -> Predicate:
    """A predicate over a log's fields; raises QueryError for what the emulator cannot answer."""
    search, analytics = split_analytics(query or "")
    if analytics.strip():
        raise QueryError(
            "SQL analytics (the part after '|') is not supported by the local Log "
            "Service; send a search query only, e.g. 'level: error and not debug'"
        )
    tokens = _lex(search)
    if not tokens:
        return lambda f: True
    return _Parser(tokens).parse()
