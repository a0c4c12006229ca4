"""The replay's memoized evidence codec writes and reads exactly what the product's codec does,
and steps aside when it would not."""

from __future__ import annotations

from sms_receipt_stats.dev.backtest import fast
from sms_receipt_stats.rules._evidence import Seen
from sms_receipt_stats.state import evidence
from sms_receipt_stats.stats import STAT_FIELDS, Stats


def _ledger(n: int, shift: int = 0):
    return {480_000 + i: Seen(Stats(RequestSuccessCount=1000 + i + shift, CallbackCount=900 + i,
                                    CallbackSuccessCount=850 + i, CallbackFailCount=50, InvalidNumberCount=16,
                                    InternalErrorCount=34), lag=300.0 + 3600 * i + 0.6)
            for i in range(n)}


def test_the_memo_codec_is_byte_identical_to_the_product_codec():
    codec = fast.LedgerCodec(tuple(STAT_FIELDS), Seen, Stats, fallback=evidence.decode)
    ledger = _ledger(192)
    text = evidence.encode(ledger)
    assert codec.encode(ledger) == text
    assert codec.encode(ledger) == text  # from the memo
    moved = {**ledger, 480_000: Seen(Stats(RequestSuccessCount=7), 12.0)}  # one hour re-read
    assert codec.encode(moved) == evidence.encode(moved)
    for raw in (text, text, evidence.encode(moved), None, "", "[", '{"1":[1,2]}', '{"1":[-1,0,0,0,0,0,0,0,0,5]}'):
        assert codec.decode(raw) == evidence.decode(raw)
    first, second = codec.decode(text), codec.decode(text)
    assert first == second and first[480_005] is second[480_005]  # shared, frozen


def test_installed_only_for_the_block_and_only_when_it_agrees(monkeypatch):
    original = evidence.encode, evidence.decode
    with fast.memo_codec() as active:
        assert active and evidence.encode is not original[0]
        with fast.memo_codec() as nested:  # a replay inside a replay keeps the same one
            assert nested
        assert evidence.decode is not original[1]
    assert (evidence.encode, evidence.decode) == original

    monkeypatch.setattr(evidence, "encode", lambda hours: "{}")  # the product's format changed
    with fast.memo_codec() as active:
        assert not active and evidence.encode("anything") == "{}"
