"""The governance database: the engine (SQLite WAL + synchronous=FULL, or PostgreSQL),
its tables, and the schema migrations that bring an existing home up to date.

Imports nothing else of governance but ``errors``.
"""
