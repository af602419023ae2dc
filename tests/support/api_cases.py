"""Two bureaus' APIs over in-process nodes (no NATS): the test hands envelopes across with
`Network.deliver_all`, so every case flow can be driven over HTTP from both sides."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.events.common import Person
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
# Synthetic identity numbers (ISO 7064 check digits), as in the seed case.
LAO_HUANG = Person(
    name="老黄",
    home_jurisdiction=QIANFENG,
    id_number="511603196803120015",
    phone="13800000001",
    address="广兴镇 Guangxing town",
)
LAO_CHENG = Person(name="老程", home_jurisdiction=QIANFENG, id_number="511603197006050020")


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
    numbers, phones and addresses sealed as personal data."""
    bureaus = [Bureau(DALANG, "大朗"), Bureau(QIANFENG, "前锋")]
    types = sorted({*HANDLERS})
    agreement = cooperation(bureaus, types, "H2", PERSONAL, agreement_id=AGREEMENT)
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


def dispute_report(**changes: Any) -> dict[str, Any]:
    """The seed case: a land quarrel at home became a fight at work in Dalang."""
    body: dict[str, Any] = {
        "dispute_id": "DL-2022-0001",
        "category": "land",
        "risk": "high",
        "source": "police_assistant",
        "place": "Xiangtou village, Dalang (巷头村)",
        "parties": [
            LAO_HUANG.model_dump(exclude_none=True),
            LAO_CHENG.model_dump(exclude_none=True),
        ],
        "narrative": "A land quarrel at home at Spring Festival became a fight at work.",
        "occurred_on": "2022-02-10",
    }
    return body | changes
