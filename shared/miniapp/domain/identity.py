"""Who a user is to this backend: a stable internal id, whatever Alipay calls them today.

Alipay names a user by `user_id` (global, `2088` + 12 digits) or, for an app in openid mode, by
`open_id` (a different opaque id for every app); during an app's verification phase its replies
carry both. Every row of a user is keyed by the internal id, so the app's move from `user_id` to
`open_id` changes nothing for the user's data. The rule (docs/alipay.md tells operators):

- a user first seen with a `user_id` keeps that `user_id` as internal id: rows written before this
  rule existed were keyed by it, so existing users keep their data without any migration;
- a user first seen with an `open_id` only gets a new internal id (`u-` + 32 hex digits, which no
  Alipay user_id can look like);
- a reply carrying both links the `open_id` to the user's internal id, so a later reply with the
  `open_id` alone finds the same user.

Links live in the identity table, one row per Alipay id (`IdentityLinks`), written with
"only if absent" so that concurrent first logins of one user agree on one internal id.
"""

from __future__ import annotations

import re
import secrets

INTERNAL_ID_PREFIX = "u-"
# What we accept from Alipay as an id (its replies are signed, but the id becomes a table key):
# user_id is 16 digits, open_id opaque letters and digits; Alipay documents no upper bound, so we
# take up to 128 characters and nothing that could break a key.
ALIPAY_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")
USER_ID = re.compile(r"2088\d{12}")  # an Alipay user_id


def new_internal_id() -> str:
    return INTERNAL_ID_PREFIX + secrets.token_hex(16)


def user_id_link(user_id: str) -> str:
    """The identity table key that links an Alipay user_id (global) to an internal id."""
    return f"uid#{len(user_id)}:{user_id}"


def open_id_link(app_id: str, open_id: str) -> str:
    """The key that links an open_id to an internal id. An open_id means something only to the app
    it was issued for, so the key names the app too."""
    return f"oid#{len(app_id)}:{app_id}#{len(open_id)}:{open_id}"
