import pytest

from contracts.events.examples import EXAMPLES
from contracts.events.registry import (
    RegistryMaterialsRequestedV1,
    RegistryMaterialsSuppliedV1,
    RegistryProxyRequestedV1,
)
from contracts.events.service_catalogue import (
    ServiceCatalogueError,
    UnknownRegistryService,
    load_service_catalogue,
)


def test_shipped_catalogue_lists_the_everyday_registry_services():
    catalogue = load_service_catalogue()
    assert {
        "id_card_renewal",
        "id_card_replacement_lost",
        "birth_registration",
        "hukou_transfer_in",
        "hukou_transfer_out",
        "household_certificate",
        "name_change",
    } <= set(catalogue.codes)
    renewal = catalogue.service("id_card_renewal")
    assert renewal.name.zh == "居民身份证有效期满换领"
    assert renewal.time_limit_days == 60
    assert renewal.material("id_card") is not None


def test_every_service_names_its_materials_in_both_languages():
    for service in load_service_catalogue().services:
        assert service.materials and service.time_limit_days >= 1
        assert all(m.zh and m.en for m in service.materials)


def test_an_unknown_service_code_is_a_typed_error():
    with pytest.raises(UnknownRegistryService, match="passport_renewal"):
        load_service_catalogue().service("passport_renewal")


def test_example_request_names_a_catalogued_service_and_its_materials():
    request = RegistryProxyRequestedV1.model_validate(EXAMPLES[RegistryProxyRequestedV1])
    service = load_service_catalogue().service(request.service_code)
    named = [m.name for m in request.materials_supplied + request.materials_promised]
    named += EXAMPLES[RegistryMaterialsRequestedV1]["materials"]
    named += [m["name"] for m in EXAMPLES[RegistryMaterialsSuppliedV1]["materials"]]
    assert all(service.material(name) is not None for name in named)
    assert request.time_limit_days == service.time_limit_days


_SERVICE = """
  - code: {code}
    name: {{zh: 出生登记, en: Birth registration}}
    materials: [{{code: birth_medical_certificate, zh: 出生医学证明, en: Birth certificate}}]
    time_limit_days: 5
"""


def test_a_catalogue_listing_a_code_twice_is_refused(tmp_path):
    path = tmp_path / "services.yaml"
    path.write_text(
        "id: test\nversion: 1\nservices:" + _SERVICE.format(code="birth") * 2, encoding="utf-8"
    )
    with pytest.raises(ServiceCatalogueError, match="listed twice: birth"):
        load_service_catalogue(path)


def test_a_catalogue_with_a_bad_field_is_refused_naming_it(tmp_path):
    path = tmp_path / "services.yaml"
    text = "id: test\nversion: 1\nservices:" + _SERVICE.format(code="birth")
    path.write_text(text.replace("time_limit_days: 5", "time_limit_days: 0"), encoding="utf-8")
    with pytest.raises(ServiceCatalogueError, match=r"services\.0\.time_limit_days"):
        load_service_catalogue(path)


def test_an_unreadable_catalogue_is_refused(tmp_path):
    with pytest.raises(ServiceCatalogueError):
        load_service_catalogue(tmp_path / "missing.yaml")
    (tmp_path / "broken.yaml").write_text("services: [\n", encoding="utf-8")
    with pytest.raises(ServiceCatalogueError):
        load_service_catalogue(tmp_path / "broken.yaml")
