"""The front ends and the entry protocols. `db_app` and `session_app` are what each function does
with one request, independent of FC's calling convention (functions/ translate FC events and
WSGI to and from these). For the db function: the 2020 protocol (`compat2020`, its object read by
`compat_object`) and the v2 API (`v2`, one set of operations per declared collection), each
turning a parsed event into a command of the one `registry`. For the session function: its
request bodies (`session_requests`). Shared by both: the strict JSON body parser (`json_body`)
and the typed field readers (`fields`). Parsing the wire lives here; `domain/` keeps entities
and rules.
"""
