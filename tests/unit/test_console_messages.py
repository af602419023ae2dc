"""The console's message catalogue: every word a page can show exists in Chinese and English;
the language is asked for, then remembered, then Chinese."""

import re
from pathlib import Path

import pytest
from starlette.requests import Request

from contracts.events.mediation import SignerRole
from gateway.console.i18n import Translator, language
from gateway.console.messages import MESSAGES
from gateway.console.pages import NAV, TEMPLATES
from gateway.console.session import csrf_token, same_token
from services.disputes.model import DisputeState
from services.mediation.model import MediationState
from services.registry.model import State
from services.users.access_log import Disclosure
from services.users.model import Role

LITERAL = re.compile(r"t\('([a-z_.]+)'[,)]")
COMPUTED = {
    "state.": [*State, *DisputeState, *MediationState],
    "role.": list(Role),
    "signer.": list(SignerRole),
    "disclosure.": list(Disclosure),
    "verify.": ["sent", "received"],
}


def keys_used() -> set[str]:
    used = {page.key for page in NAV}
    for template in Path(TEMPLATES).glob("*.html"):
        used |= set(LITERAL.findall(template.read_text(encoding="utf-8")))
    for prefix, values in COMPUTED.items():
        used |= {f"{prefix}{value}" for value in values}
    return used


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_key_a_page_uses_is_in_the_catalogue(lang: str) -> None:
    missing = sorted(keys_used() - set(MESSAGES[lang]))
    assert not missing, f"missing in {lang}: {missing}"


def test_both_languages_have_the_same_keys_and_no_empty_message() -> None:
    assert set(MESSAGES["zh"]) == set(MESSAGES["en"])
    assert all(text.strip() for lang in MESSAGES.values() for text in lang.values())


def request_with(query: str = "", cookie: str = "") -> Request:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    scope = {"type": "http", "query_string": query.encode(), "headers": headers}
    return Request(scope)


def test_language_is_asked_then_remembered_then_chinese() -> None:
    assert language(request_with()) == "zh"
    assert language(request_with(cookie="fq_lang=en")) == "en"
    assert language(request_with("lang=zh", "fq_lang=en")) == "zh"
    assert language(request_with("lang=fr")) == "zh"  # unknown: the default
    assert Translator("en")("verify.all_intact", n=2) == "2 stream(s) intact."


def test_csrf_token_is_bound_to_the_session_token() -> None:
    mine, theirs = csrf_token("token-a"), csrf_token("token-b")
    assert mine != theirs and len(mine) == 64
    assert same_token(mine, csrf_token("token-a"))
    assert not same_token(theirs, mine) and not same_token(None, mine)
