"""Signed dashboard links: what a signature binds, when it expires, and how it is compared."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from typing import List, Tuple
from urllib.parse import parse_qs, urlsplit

import pytest

from sms_receipt_stats import links
from sms_receipt_stats.links import LinkError, dashboard_link, details_links, link_window, sign, verify

SECRET = "link-secret-for-unit-tests-0123"
NOW = datetime(2026, 11, 25, 1, 0, 0, tzinfo=timezone.utc)
APP, OTHER = "1400006874", "1400000002"
WINDOW = "2026112400-2026112500"


def fields(**over: str) -> dict:
    exp = str(int((NOW + timedelta(days=7)).timestamp()))
    values = {"app_id": APP, "window": WINDOW, "exp": exp}
    values.update(over)
    values.setdefault("sig", sign(SECRET, values["app_id"], values["window"], int(values["exp"])))
    return values


def test_a_fresh_link_verifies() -> None:
    verify(SECRET, **fields(), now=NOW)


def test_the_signature_is_hmac_sha256_of_route_app_window_and_exp_in_base64url() -> None:
    """Anyone holding LINK_SECRET can check a link with the recipe of docs/http-api.md ("Signed links")."""
    exp = 1764651600
    message = f"v1\n/dashboard\n{APP}\n{WINDOW}\n{exp}".encode()
    expected = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).rstrip(b"=")
    assert sign(SECRET, APP, WINDOW, exp) == expected.decode()


@pytest.mark.parametrize("change", [
    {"app_id": OTHER},                              # another app
    {"app_id": f"{APP},{OTHER}"},                   # a wider set of apps
    {"window": "2026110100-2026112500"},            # a longer window
    {"window": "last_30d"},                         # a named window instead
])
def test_a_link_cannot_be_widened(change: dict) -> None:
    signed = fields()
    with pytest.raises(LinkError, match="signature does not match"):
        verify(SECRET, **{**signed, **change}, now=NOW)


def test_a_later_expiry_breaks_the_signature() -> None:
    signed = fields()
    with pytest.raises(LinkError, match="signature does not match"):
        verify(SECRET, **{**signed, "exp": str(int(signed["exp"]) + 86400)}, now=NOW)


def test_a_link_works_until_exp_and_not_at_exp() -> None:
    signed = fields()
    exp = int(signed["exp"])
    verify(SECRET, **signed, now=datetime.fromtimestamp(exp - 1, timezone.utc))
    with pytest.raises(LinkError, match="expired"):
        verify(SECRET, **signed, now=datetime.fromtimestamp(exp, timezone.utc))


def test_another_key_does_not_verify() -> None:
    with pytest.raises(LinkError, match="signature does not match"):
        verify(SECRET + "x", **fields(), now=NOW)


def test_no_secret_means_no_signed_links() -> None:
    with pytest.raises(LinkError, match="not enabled"):
        verify("", **fields(), now=NOW)
    with pytest.raises(LinkError):
        sign("", APP, WINDOW, 1)


@pytest.mark.parametrize("bad", [
    {"sig": ""}, {"sig": "not a signature"}, {"sig": "A" * 42}, {"sig": "A" * 44},
    {"app_id": "14000068"}, {"app_id": f"{APP}\nx"}, {"window": "last 30d"}, {"window": f"{WINDOW}\n1"},
    {"exp": "-5"}, {"exp": "1e9"},
])
def test_malformed_fields_are_refused_before_any_comparison(bad: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(links, "compare_digest", lambda a, b: pytest.fail("compared a malformed link"))
    with pytest.raises(LinkError):
        verify(SECRET, **{**fields(), **bad}, now=NOW)


def test_the_decision_is_compare_digests_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Constant time, shown structurally: verification hands both digests to `compare_digest`
    and follows its answer. With `==` (or any other comparison) in its place the forged link
    below would be refused and the genuine one accepted, and this test would fail."""
    calls: List[Tuple[bytes, bytes]] = []
    answer = {"value": True}

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return answer["value"]

    monkeypatch.setattr(links, "compare_digest", spy)
    genuine = fields()
    forged = {**genuine, "sig": base64.urlsafe_b64encode(b"\0" * 32).rstrip(b"=").decode()}
    verify(SECRET, **forged, now=NOW)  # compare_digest said yes: accepted
    answer["value"] = False
    with pytest.raises(LinkError):
        verify(SECRET, **genuine, now=NOW)  # compare_digest said no: refused
    assert len(calls) == 2
    assert all(isinstance(a, bytes) and isinstance(b, bytes) and len(a) == len(b) == 32 for a, b in calls)
    assert calls[0][1] == b"\0" * 32


def test_links_module_uses_the_standard_constant_time_comparison() -> None:
    assert links.compare_digest is hmac.compare_digest


def test_dashboard_link_is_a_url_under_public_url_that_verifies() -> None:
    url = dashboard_link("https://fn.example.com/release/", SECRET, app_ids=[APP, OTHER, APP], window=WINDOW, now=NOW)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "fn.example.com", "/release/dashboard")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["app_id"] == f"{APP},{OTHER}"  # listed once each, in order
    assert ",%2C" not in url and "%2C" not in url  # readable in a chat message
    assert int(query["exp"]) == int((NOW + links.LINK_TTL).timestamp())
    verify(SECRET, app_id=query["app_id"], window=query["window"], exp=query["exp"], sig=query["sig"], now=NOW)
    assert SECRET not in url


@pytest.mark.parametrize(("begin", "end", "expected"), [
    ("2026112408", "2026112409", "2026112309-2026112409"),  # a one-hour check: the day before it
    ("2026112400", "2026112500", "2026112400-2026112500"),  # yesterday: as it is
    ("2026111800", "2026112500", "2026111800-2026112500"),  # a week: as it is
])
def test_link_window_is_fixed_and_at_least_a_day(begin: str, end: str, expected: str) -> None:
    assert link_window(begin, end) == expected


def test_details_links_expire_a_week_after_the_document_and_hide_the_secret() -> None:
    maker = details_links("https://fn.example.com", SECRET, "2026-11-25T09:00:03+08:00")
    assert maker is not None and SECRET not in repr(maker)
    url = maker([APP], "2026112400", "2026112500")
    assert url is not None
    exp = int(parse_qs(urlsplit(url).query)["exp"][0])
    assert exp == int(datetime(2026, 12, 2, 1, 0, 3, tzinfo=timezone.utc).timestamp())
    assert maker([APP], "garbage", "2026112500") is None  # no link rather than a broken one


def test_details_links_are_off_without_url_or_secret() -> None:
    assert details_links(None, SECRET, "2026-11-25T09:00:03+08:00") is None
    assert details_links("https://fn.example.com", None, "2026-11-25T09:00:03+08:00") is None
