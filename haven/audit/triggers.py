"""Database triggers that make the audit tables append-only (used by migration 0002).

PostgreSQL: a trigger refuses UPDATE and DELETE on each row and TRUNCATE on the table.
SQLite: triggers refuse UPDATE and DELETE. No code path in Haven changes an entry; someone with
the database owner's rights could still drop a trigger (a schema change that the database's own
logs record), and ``haven audit verify`` would still catch what they then changed.
"""

from __future__ import annotations

from typing import Any

TABLES = ("audit_auditentry", "audit_signature")
# Other append-only tables (each app's migration installs its own with ``install(tables=...)``);
# the tests that flush the database remove them all (``TABLES + OTHER_APPEND_ONLY``).
OTHER_APPEND_ONLY = ("inventory_ledgerentry",)

_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION haven_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'haven: % is append-only; % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def install(connection: Any, tables: tuple[str, ...] = TABLES) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGRES_FUNCTION)
            for table in tables:
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION haven_refuse_change();"
                )
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION haven_refuse_change();"
                )
        elif connection.vendor == "sqlite":
            for table in tables:
                for operation in ("UPDATE", "DELETE"):
                    name = f"{table}_no_{operation.lower()}"
                    message = f"haven: {table} is append-only; {operation} refused"
                    cursor.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {operation} ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, '{message}'); END;"
                    )


def remove(connection: Any, tables: tuple[str, ...] = TABLES) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in tables:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};")
        elif connection.vendor == "sqlite":
            for table in tables:
                for operation in ("update", "delete"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation};")
