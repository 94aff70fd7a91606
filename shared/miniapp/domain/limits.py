"""The product's limits as named constants, in one place so docs/api.md and the code agree."""

from __future__ import annotations

MAX_BODY_BYTES = 64 * 1024  # request body (session function) and event (db function)

# v2 (every declared collection; field limits are in each declaration)
LIST_DEFAULT_LIMIT = 20
LIST_MAX_LIMIT = 100
IDEMPOTENCY_KEY_MAX = 64
DEFAULT_ITEM_QUOTA = 10_000  # 2020 rows per user; and items per collection unless declared

# 2020 (compat) rows
COMPAT_ID_MAX_CHARS = 256
COMPAT_ID_MAX_BYTES = 1024  # Tablestore's limit for a STRING primary key column
COMPAT_MAX_COLUMNS = 32
COMPAT_STRING_MAX_CHARS = 8192
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # Tablestore INTEGER columns are signed 64-bit
# Every integer of at most this magnitude is exactly a double (Tablestore DOUBLE, a JSON number in
# JavaScript); beyond it some are not, so a non-integer Number field refuses those integers.
MAX_EXACT_DOUBLE_INT = 2**53
# `list` answers every row; past this size the answer would not fit FC's 6 MB response limit.
COMPAT_LIST_MAX_RESPONSE_BYTES = 5 * 1024 * 1024

# session requests
AUTH_CODE_MAX_CHARS = 256
