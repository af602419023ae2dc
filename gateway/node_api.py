"""What the API's routes are given of the node: its store and outbox, inbox, files and NATS."""

from dataclasses import dataclass
from pathlib import Path
from typing import cast

from fastapi import Request
from nats.aio.client import Client as NatsClient

from services.bootstrap import NodeParts
from services.bus.inbox import Inbox
from services.node import Node
from services.registry.materials import MaterialStore
from services.runtime import NodeRuntime


@dataclass(frozen=True)
class NodeApi:
    """The running node's parts the routes call; `runtime` is None for a node without NATS."""

    node: Node
    inbox: Inbox
    materials: MaterialStore
    runtime: NodeRuntime | None = None

    @property
    def nats(self) -> NatsClient | None:
        """The node's NATS connection; None until it is made, or without a runtime."""
        return None if self.runtime is None else self.runtime.nc

    @classmethod
    def from_parts(
        cls, parts: NodeParts, data_dir: Path, runtime: NodeRuntime | None = None
    ) -> "NodeApi":
        """The API of a node opened with `services.bootstrap.open_node` (by `runtime`, if any)."""
        return cls(parts.node, parts.inbox, MaterialStore.in_data_dir(data_dir), runtime)

    @classmethod
    def from_runtime(cls, runtime: NodeRuntime) -> "NodeApi":
        """The API of an opened runtime: its NATS connection may come later (`start()`)."""
        if runtime.parts is None:
            raise RuntimeError("open the node before building its API")
        return cls.from_parts(runtime.parts, runtime.settings.data_dir, runtime)


def node_api(request: Request) -> NodeApi:
    """The node the application was built over (create_app puts it on app.state)."""
    return cast(NodeApi, request.app.state.node_api)
