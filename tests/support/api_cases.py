"""Two bureaus' APIs over in-process nodes (no NATS): the test hands envelopes across with
`Network.deliver_all`, so every case flow can be driven over HTTP from both sides."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from gateway.demo.seed import LAO_CHENG, LAO_HUANG, dispute_report
from gateway.node_api import NodeApi
from services.disputes.handlers import HANDLERS as DISPUTES
from services.mediation.handlers import HANDLERS as MEDIATION
from services.registry.handlers import HANDLERS as REGISTRY
from services.registry.materials import MaterialStore
from services.reports.handlers import HANDLERS as REPORTS
from tests.support.api import ApiNode, client_for
from tests.support.nodes import Network, cooperation, open_network
from tests.support.trust import Bureau

DALANG, QIANFENG = "dongguan-dalang", "guangan-qianfeng"
AGREEMENT = "dalang-qianfeng-api"
PERSONAL = {"dispute.reported": ["parties[].id_number", "parties[].phone", "parties[].address"]}
HANDLERS = DISPUTES | MEDIATION | REGISTRY | REPORTS
# The seed case's parties and dispute report are the demo's (gateway/demo/seed.py).
__all__ = [
    "AGREEMENT",
    "DALANG",
    "HANDLERS",
    "LAO_CHENG",
    "LAO_HUANG",
    "PERSONAL",
    "QIANFENG",
    "ApiPair",
    "api_pair",
    "dispute_report",
]


@dataclass
class ApiPair:
    """Both nodes' APIs and the network that carries their envelopes."""

    net: Network
    nodes: dict[str, ApiNode]

    def __getitem__(self, jurisdiction: str) -> ApiNode:
        return self.nodes[jurisdiction]

    async def settle(self) -> None:
        """Hand every envelope over (each must apply), then let a minute pass."""
        self.net.assert_applied(await self.net.deliver_all())
        self.net.clock.advance()


@asynccontextmanager
async def api_pair(backend: str, tmp_path: Path) -> AsyncIterator[ApiPair]:
    """Dalang's and Qianfeng's APIs under one agreement carrying every flow, parties' identity
    numbers, phones and addresses sealed as personal data, batches of envelopes signed together."""
    bureaus = [Bureau(DALANG, "大朗"), Bureau(QIANFENG, "前锋")]
    types = sorted({*HANDLERS})
    agreement = cooperation(bureaus, types, "H2", PERSONAL, AGREEMENT, batch_signing=64)
    async with (
        open_network(backend, tmp_path, bureaus, [agreement], HANDLERS) as net,
        AsyncExitStack() as stack,
    ):
        nodes: dict[str, ApiNode] = {}
        for jurisdiction, peer in net.peers.items():
            materials = MaterialStore.in_data_dir(tmp_path / jurisdiction)
            api = NodeApi(peer.node, peer.inbox, materials)
            nodes[jurisdiction] = await stack.enter_async_context(client_for(api))
        yield ApiPair(net, nodes)
