"""The entry protocols of the db function: the 2020 protocol (`compat2020`) and the v2 API
(`v2`, one set of operations per declared collection), each turning a parsed event into a
command of the one `registry`. Parsing the wire lives here; `domain/` keeps entities and rules.
"""
