"""The console's words in Chinese (first) and English: a message catalogue per language."""

from fastapi import Request

from gateway.console.messages import MESSAGES

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_COOKIE = "fq_lang"


def language(request: Request) -> str:
    """`?lang=` if given and known, else the remembered cookie, else Chinese."""
    for asked in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if asked in LANGS:
            return str(asked)
    return DEFAULT_LANG


class Translator:
    """`t("key")` in a template: the message in the page's language (Chinese when missing)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **values: object) -> str:
        text = MESSAGES[self.lang].get(key) or MESSAGES[DEFAULT_LANG].get(key, key)
        return text.format(**values) if values else text
