"""Alembic revisions of the router's schema (SQLite and PostgreSQL); run by router.store.migrate."""
