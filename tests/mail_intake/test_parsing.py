"""Reading mail: whatever bytes arrive, parse_mail gives a storable mail or MalformedMail."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.incidents.email_intake import (
    MalformedMail,
    clean_title,
    key_from_address,
    parse_mail,
    trim_quoted,
)

HEADERS = st.sampled_from(
    [
        b"From: ",
        b"Subject: ",
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"Content-Type: text/html\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"--b\r\n",
        b"\r\n",
        b"=?utf-8?q?x=00y=0D=0A?=",
        b'Content-Disposition: attachment; filename="../../etc/passwd"\r\n',
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(HEADERS, st.binary(max_size=40)), max_size=12))
def test_any_bytes_give_a_storable_mail_or_malformed(chunks: list[bytes]) -> None:
    raw = b"".join(chunks)
    try:
        mail = parse_mail(raw)
    except MalformedMail:
        return
    assert 0 < len(mail.title) <= 200
    for text in (mail.title, mail.body, mail.reply_text, mail.sender_name, mail.sender_email):
        text.encode("utf-8")  # no lone surrogates: PostgreSQL would refuse them
        assert "\x00" not in text
    assert not any(unicodedata.category(ch) == "Cc" for ch in mail.title)
    for attachment in mail.attachments:
        assert attachment.filename
        assert "/" not in attachment.filename


def test_titles_lose_reply_prefixes_tags_and_control_characters() -> None:
    assert clean_title("Re: RE: Fwd: [INC-7] Printer\r\n on\x00 fire") == "Printer on fire"
    assert clean_title("  ") == "(no subject)"
    assert clean_title("Re:") == "(no subject)"
    assert len(clean_title("x" * 500)) == 200
    assert clean_title("Invoice\u202e fdp.exe") == "Invoice fdp.exe"


def test_quoted_text_is_trimmed_from_replies() -> None:
    reply = (
        "Fixed for me, thanks!\n"
        "\n"
        "On Tue, 3 Mar 2026 at 09:12, Tocsin Service Desk <\n"
        "desk@example.com> wrote:\n"
        "> Hello,\n"
        ">\n"
        "> INC-4 was resolved.\n"
    )
    assert trim_quoted(reply) == "Fixed for me, thanks!"
    outlook = "See below.\n\n-----Original Message-----\nFrom: desk\nSubject: x\n"
    assert trim_quoted(outlook) == "See below."


def test_keys_come_from_the_local_part_in_any_case() -> None:
    key = "abcdefghij0123456789abcdefghij01"
    assert key_from_address(f"{key.upper()}@Example.COM") == key
    assert key_from_address(f"{key}@[127.0.0.1]") == key
    assert key_from_address("support@example.com") is None
    assert key_from_address(key) is None
    assert key_from_address(f"{key}x@example.com") is None
