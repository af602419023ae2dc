"""Running the store's migrations to a given revision, as a test of one migration needs."""

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from services.store.database import MIGRATIONS


def migrate(connection: Connection, step: str, revision: str) -> None:
    """`step` ("upgrade" or "downgrade") the store on `connection` to `revision`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    getattr(command, step)(config, revision)
