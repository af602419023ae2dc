"""The committed AsyncAPI document is the generated one, and it describes every contract version
on the subjects the topology publishes it on."""

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from contracts.catalogue import ALL_CONTRACTS
from contracts.registry import schema_uri
from gateway.cli import create_app
from services.bus.asyncapi import ASYNCAPI_FILE, render_asyncapi
from services.bus.topology import event_subject

runner = CliRunner()


def _document() -> dict:
    return yaml.safe_load(ASYNCAPI_FILE.read_text(encoding="utf-8"))


def test_committed_asyncapi_equals_the_generated_one():
    assert ASYNCAPI_FILE.read_text(encoding="utf-8") == render_asyncapi(), (
        "regenerate it: fengqiao contracts asyncapi"
    )
    result = runner.invoke(create_app(), ["contracts", "asyncapi", "--check"])
    assert result.exit_code == 0, result.output


def test_check_fails_on_a_stale_document_and_writing_fixes_it(tmp_path: Path):
    out = tmp_path / "asyncapi.yaml"
    out.write_text("asyncapi: 3.0.0\n", encoding="utf-8")
    stale = runner.invoke(create_app(), ["contracts", "asyncapi", "--check", "--out", str(out)])
    assert stale.exit_code == 1 and "differs" in stale.output
    assert runner.invoke(create_app(), ["contracts", "asyncapi", "--out", str(out)]).exit_code == 0
    fresh = runner.invoke(create_app(), ["contracts", "asyncapi", "--check", "--out", str(out)])
    assert fresh.exit_code == 0


def test_every_contract_version_is_a_message_with_its_schema_file():
    document = _document()
    messages = document["components"]["messages"]
    assert len(messages) == len(ALL_CONTRACTS)
    for model in ALL_CONTRACTS:
        major, minor = model.version
        message = messages[f"{model.event_type}.v{major}.{minor}"]
        extra = message["payload"]["allOf"][1]["properties"]
        assert extra["dataschema"]["const"] == schema_uri(model.event_type, model.version)
        schema_file = ASYNCAPI_FILE.parent / extra["data"]["$ref"]
        assert json.loads(schema_file.read_text())["$id"] == extra["dataschema"]["const"]


def test_channel_addresses_are_the_topology_subjects_and_list_their_messages():
    document = _document()
    for name, channel in document["channels"].items():
        event_type = channel["title"]
        address = channel["address"].format(sender="dongguan-dalang", recipient="guangan-qianfeng")
        assert address == event_subject("dongguan-dalang", "guangan-qianfeng", event_type)
        for ref in channel["messages"].values():
            key = ref["$ref"].removeprefix("#/components/messages/")
            assert key.startswith(f"{event_type}.v")
            assert key in document["components"]["messages"]
        assert {f"send_{name}", f"receive_{name}"} <= set(document["operations"])


def test_the_envelope_schema_names_every_signed_attribute_and_the_msg_id_header():
    schemas = _document()["components"]["schemas"]
    envelope = schemas["Envelope"]["properties"]
    for attribute in ("specversion", "id", "source", "type", "agreement", "recipient", "seq",
                      "prev", "kid", "data", "signature"):  # fmt: skip
        assert attribute in envelope
    assert schemas["NatsHeaders"]["required"] == ["Nats-Msg-Id"]
    refs = json.dumps(schemas)
    for ref in [r.split('"')[0] for r in refs.split('"$ref": "')[1:]]:
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
