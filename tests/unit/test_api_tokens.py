"""API tokens: random, stored only as a digest; user names that can be logged."""

import base64
import hashlib

import pytest

from services.users.model import InvalidUserName, Role, check_name, new_token, token_digest


def test_token_is_32_random_bytes_url_safe():
    tokens = {new_token() for _ in range(100)}

    assert len(tokens) == 100
    for token in tokens:
        assert len(base64.urlsafe_b64decode(token + "=")) == 32
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_store_keeps_the_sha256_of_the_token_never_the_token():
    token = new_token()

    digest = token_digest(token)

    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in digest


@pytest.mark.parametrize("name", ["clerk.li", "李警官", "auditor@qianfeng", "centre_01"])
def test_names_of_letters_digits_and_dot_at_dash_underscore_are_accepted(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "two words", "x" * 101, "semi;colon", "new\nline"])
def test_other_names_are_refused(name):
    with pytest.raises(InvalidUserName):
        check_name(name)


def test_roles_are_the_six_of_the_domain():
    assert {r.value for r in Role} == {
        "window_clerk",
        "mediator",
        "officer",
        "command_centre",
        "auditor",
        "admin",
    }
