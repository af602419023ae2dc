"""The inputs of the test vectors (contracts.vectors): event data and canonicalisation cases.

Identity numbers are synthetic (region, birth date, sequence, ISO 7064 check digit).
"""

from typing import Any

LAO_HUANG = {
    "name": "老黄",
    "home_jurisdiction": "guangan-qianfeng",
    "id_number": "511603196803120058",
    "address": "广兴镇 Guangxing town",
}
LAO_CHENG = {
    "name": "老程",
    "home_jurisdiction": "guangan-qianfeng",
    "id_number": "511603197108250031",
    "phone": "13800000002",
}
SEALED_DATA: dict[str, Any] = {
    "dispute_id": "DL-2022-0001",
    "reported_in": "dongguan-dalang",
    "category": "land",
    "risk": "medium",
    "level": 2,
    "source": "police_assistant",
    "place": "Xiangtou village, Dalang (巷头村)",
    "parties": [LAO_HUANG, LAO_CHENG],
    "narrative": "A quarrel over land at home at Spring Festival became a fight at work.",
    "occurred_on": "2022-02-10",
}
PLAIN_DATA: dict[str, Any] = SEALED_DATA | {
    "parties": [{k: p[k] for k in ("name", "home_jurisdiction")} for p in (LAO_HUANG, LAO_CHENG)]
}
# A reader ignores members its contract version does not know, so these ride along in 1.0.
TRICKY_DATA: dict[str, Any] = PLAIN_DATA | {
    "备注": "调解成功, 赔偿 980 元",
    "€": "euro sign sorts after 老 in code points but before it in UTF-16? no: U+20AC < U+8001",
    "😀": "U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FB33",
    "דּ": "U+FB33",
    "escapes": 'quote " backslash \\ slash / tab \t newline \n bell \u0007 del \u007f',
    "numbers": [0, -0.0, 1.0, 1e21, 1e20, 1e-7, 0.000001, 980.5, -9007199254740991, 5e-324],
}

CANONICALISATION_CASES: list[tuple[str, str, bool]] = [
    ("members sorted by name, whitespace removed", '{ "b" : 2 ,\n "a" : 1 }', True),
    (
        "RFC 8785 3.2.3: names sorted by UTF-16 code units, not code points",
        '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With '
        'Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control",'
        '"\\u00f6":"Latin Small Letter O With Diaeresis"}',
        True,
    ),
    (
        "Chinese member names sort by UTF-16 code units",
        '{"老黄":1,"老程":2,"广安":3,"东莞":4}',
        True,
    ),
    ("nested objects are sorted too", '{"z":{"b":[{"d":1,"c":2}],"a":null},"y":true}', True),
    (
        "RFC 8785 3.2.2.3 numbers",
        '{"n":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001]}',
        True,
    ),
    (
        "integers, zeros and the I-JSON integer bounds",
        '{"n":[0,-0,-0.0,1.0,100,9007199254740991,-9007199254740991]}',
        True,
    ),
    (
        "exponent thresholds of ECMAScript Number.toString",
        '{"n":[1e20,1e21,1e-6,1e-7,1.2345678901234568e20,5e-324,1.7976931348623157e308]}',
        True,
    ),
    (
        'RFC 8785 3.2.2.2 strings: only \\" \\\\ \\b \\f \\n \\r \\t and \\u00XX for other '
        "controls are escaped; / and non-ASCII are written as UTF-8",
        '{"s":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","t":"\\u0007\\u001f\\u007f'
        '\\u2028 </script> 老黄"}',
        True,
    ),
    ("literals", '{"l":[null,true,false],"e":{},"a":[]}', True),
    ("duplicate member names are refused", '{"a":1,"a":1}', False),
    (
        "integers beyond 2^53 - 1 are read as the nearest double, as every JSON number is",
        '{"n":[9007199254740992,9007199254740993,123456789012345680000,-100000000000000000000]}',
        True,
    ),
    ("a number beyond the double range is refused", '{"n":1e400}', False),
    ("NaN is not JSON", '{"n":NaN}', False),
    ("a lone surrogate has no UTF-8 form", '{"s":"\\ud800"}', False),
]
