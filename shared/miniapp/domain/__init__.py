"""Entities and rules: records, ids, cursors, collection declarations, the 2020 rows, limits. No
I/O: the standard library only, no SDK, no environment. Reading the wire is entrypoints/."""
