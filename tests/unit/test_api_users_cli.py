"""`fengqiao users add|list|revoke` on a node's embedded SQLite store."""

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli import create_app
from services.store.database import Database
from services.users.accounts import user_by_token
from services.users.model import Role, User

runner = CliRunner()


def users(config: Path, *args: str):
    return runner.invoke(create_app(), ["users", *args, "--config", str(config)])


def holder(config: Path, token: str) -> User | None:
    async def find() -> User | None:
        db = Database.open(f"sqlite:///{config.parent / 'var' / 'dongguan-dalang.db'}")
        try:
            async with db.transaction() as conn:
                return await user_by_token(conn, token)
        finally:
            await db.close()

    return asyncio.run(find())


def test_add_prints_a_token_once_that_names_the_user(config):
    result = users(config, "add", "clerk.li", "--role", "window_clerk")

    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    found = holder(config, token)
    assert found is not None and (found.name, found.role) == ("clerk.li", Role.WINDOW_CLERK)
    assert token not in (config.parent / "var" / "dongguan-dalang.db").read_bytes().decode(
        "latin-1"
    )


def test_list_shows_users_and_revoke_ends_their_token(config):
    token = users(config, "add", "clerk.li", "--role", "window_clerk").stdout.splitlines()[-1]
    users(config, "add", "auditor.sun", "--role", "auditor")

    revoked = users(config, "revoke", "clerk.li")
    listed = users(config, "list")

    assert revoked.exit_code == 0, revoked.output
    assert "clerk.li" in listed.stdout and "auditor.sun" in listed.stdout
    assert "2 users" in listed.stdout
    assert holder(config, token) is None


def test_list_beside_a_running_node_does_not_wait_for_its_write_lock(config):
    """The node's open batch holds SQLite's write lock: the list reads a snapshot instead of
    queueing behind it (up to the 30 s busy timeout)."""
    users(config, "add", "clerk.li", "--role", "window_clerk")
    store = config.parent / "var" / "dongguan-dalang.db"
    with contextlib.closing(sqlite3.connect(store, isolation_level=None)) as node:
        node.execute("BEGIN IMMEDIATE")
        node.execute("DELETE FROM users")
        listed = users(config, "list")
        node.execute("ROLLBACK")

    assert listed.exit_code == 0, listed.output
    assert "clerk.li" in listed.stdout and "1 user" in listed.stdout


def test_a_name_taken_or_unknown_is_one_error_line(config):
    users(config, "add", "clerk.li", "--role", "window_clerk")

    again = users(config, "add", "clerk.li", "--role", "admin")
    unknown = users(config, "revoke", "nobody")

    assert again.exit_code == 2
    assert again.stderr.strip() == "error: a user named clerk.li is on file already"
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == "error: no user named nobody"


def test_an_unknown_role_is_refused(config):
    result = users(config, "add", "x", "--role", "chief")

    assert result.exit_code == 2
    assert "chief" in result.output
