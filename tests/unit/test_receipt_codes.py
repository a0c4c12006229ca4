"""The receipt-code catalogue (receipts/codes.json) and what a stateful run makes of the counters."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict

import pytest

from sms_receipt_stats.receipts import codes
from sms_receipt_stats.receipts.intake import (
    LATENCY_BUCKETS,
    IntakeError,
    beijing_epoch,
    latency_bucket,
    parse_batch,
    sid_key,
)
from support import NOW, read_event

DATA = Path(codes.__file__).with_name(codes.DATA_FILE)
#: the receipt values Tencent documents itself (intl.cloud.tencent.com/document/product/382/35462)
TENCENT_DOCUMENTED = ("DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "DELETED", "SUBFAIL", "UNKNOWN", "COMFAIL",
                      "WTNFAIL")
#: the rows of Tencent's "状态回执错误码" table (cloud.tencent.com/document/product/382/3771) that could be
#: read: code → (category, cause) the table's words say ("运营商关键字拦截"; "关机/停机/无法接通手机/不在服务区")
TENCENT_RECEIPT_TABLE = {"-106": ("content_blocked", "sender"), "002": ("powered_off", "recipient")}


def test_every_code_tencent_documents_is_in_the_catalogue_with_its_source() -> None:
    catalogue = codes.load()
    for code in TENCENT_DOCUMENTED:
        entry = catalogue.codes[code]
        assert entry.source and "382/35462" in entry.source, code
    assert catalogue.lookup("DELIVRD").category == "delivered"
    assert catalogue.lookup("REJECTD").cause == "sender"  # content or signature: ours to fix
    assert catalogue.lookup("UNDELIV").cause == "recipient"


def test_the_rows_of_tencents_receipt_error_table_are_in_the_catalogue_as_it_says() -> None:
    for code, (category, cause) in TENCENT_RECEIPT_TABLE.items():
        entry = codes.lookup(code)
        assert (entry.category, entry.cause) == (category, cause), code
        assert entry.source and "382/3771" in entry.source and not entry.family, code
    assert "关键字拦截" in (codes.lookup("-106").meaning_in("zh") or "")
    assert "不在服务区" in (codes.lookup("002").meaning_in("zh") or "")


def test_every_entry_has_a_declared_category_and_cause_and_texts_in_both_languages() -> None:
    catalogue = codes.load()
    required = {"number_invalid", "powered_off", "carrier_blocked", "content_blocked", "blacklist",
                "frequency_limit", "unknown"}
    assert required <= set(catalogue.categories)
    for entry in [*catalogue.codes.values(), *catalogue.families.values()]:
        assert entry.category in catalogue.categories and entry.cause in catalogue.causes
        for lang in ("en", "zh"):
            assert entry.meaning_in(lang) and entry.action_in(lang), (entry.code, lang)
        assert entry.source
    zh = catalogue.lookup("MN:0001").meaning_in("zh")
    assert zh is not None and "空号" in zh


def test_an_unknown_code_is_kept_raw_with_no_meaning() -> None:
    entry = codes.lookup("ZZ:9999")
    assert (entry.code, entry.category, entry.meaning_in("en"), entry.known) == ("ZZ:9999", "unknown", None, False)


def test_a_gateway_code_of_a_known_family_is_recognised_by_its_prefix() -> None:
    entry = codes.lookup("MK:0005")
    assert entry.family and entry.category == "powered_off" and entry.code == "MK:0005"
    assert codes.lookup("mn:0001").category == "number_invalid"  # listed itself, any case


def test_a_malformed_catalogue_is_named_precisely() -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    data["codes"]["DELIVRD"]["category"] = "mystery"
    with pytest.raises(codes.CodesError, match="DELIVRD"):
        codes.parse(json.dumps(data))
    data = json.loads(DATA.read_text(encoding="utf-8"))
    del data["codes"]["UNDELIV"]["action"]["zh"]
    with pytest.raises(codes.CodesError, match="UNDELIV"):
        codes.parse(json.dumps(data))


# -- intake, the pure part -------------------------------------------------------------------

def test_user_receive_time_is_beijing_time() -> None:
    assert beijing_epoch("2015-10-17 08:03:04") == int(datetime(2015, 10, 17, 0, 3, 4, tzinfo=timezone.utc).timestamp())
    assert beijing_epoch("2024-02-29 23:59:59") is not None
    for bad in ("2023-02-29 00:00:00", "2026-13-01 00:00:00", "2026-01-01 24:00:00", "2026-01-01 00:60:00"):
        assert beijing_epoch(bad) is None, bad


def test_latency_buckets_cover_every_delay_once() -> None:
    assert [latency_bucket(s) for s in (-5, 0, 59, 60, 299, 3599, 3600, 21600, 86399, 86400, 10**7)] == [
        "1m", "1m", "1m", "5m", "5m", "1h", "6h", "1d", "1d", "more", "more"]
    assert set(LATENCY_BUCKETS) == {"1m", "5m", "1h", "6h", "1d", "more"}


def test_the_sid_key_is_short_and_stable_and_tells_sids_apart() -> None:
    assert sid_key("2019:7106441437512837521") == sid_key("2019:7106441437512837521")
    assert len(sid_key("x" * 128)) == 16
    assert len({sid_key(f"sid-{i}") for i in range(10000)}) == 10000


def test_the_fixture_push_parses_into_what_is_counted_without_the_phone_numbers() -> None:
    raw = read_event("url_post_receipts")["body"].encode("utf-8")
    receipts = parse_batch(raw, NOW.timestamp())
    assert [(r.status, r.code, r.nationcode) for r in receipts] == [
        ("SUCCESS", "DELIVRD", "86"), ("FAIL", "MK:0005", "86"), ("FAIL", "UNDELIV", "852")]
    assert {r.hour for r in receipts} == {int(datetime(2026, 11, 25, 0, tzinfo=timezone.utc).timestamp()) // 3600}
    assert "13800138000" not in repr(receipts)


@pytest.mark.parametrize("body", ['[{"sid": 1}]', "[1, 2]", "[null]", '"text"', "true", "null", "1e999"])
def test_any_shape_but_an_array_of_records_is_a_named_refusal(body: str) -> None:
    with pytest.raises(IntakeError) as caught:
        parse_batch(body.encode(), NOW.timestamp())
    assert caught.value.status == 400 and str(caught.value)


# -- in the app results of a stateful run --------------------------------------------------------

def push(store: Any, receipts: Any, now: float) -> Any:
    from sms_receipt_stats.state.receipts import count_batch

    return count_batch(store, "1400006874", receipts, now)


def test_a_stateful_report_carries_receipt_codes_and_countries_for_its_window(
                                                                                invoke: Any, tmp_path: Path,
                                                                                make_env: Any) -> None:
    from sms_receipt_stats.receipts.intake import Receipt

    day = datetime(2026, 11, 24, 0, tzinfo=timezone(timedelta(hours=8)))  # `yesterday` of NOW, Beijing
    hour = int(day.timestamp()) // 3600 + 10
    inside = [Receipt(hour, "FAIL", "MK:0005", "86", f"a{i}", "1h") for i in range(5)]
    inside += [Receipt(hour, "FAIL", "DB:0141", "852", f"b{i}", "1h") for i in range(2)]
    inside += [Receipt(hour, "FAIL", "ZZ:0042", "86", "c0", "1h"), Receipt(hour, "SUCCESS", "DELIVRD", "1", "d0", "1m")]
    outside = [Receipt(hour + 24, "FAIL", "UNDELIV", "86", "e0", "1m")]  # today: not in `yesterday`
    state_url = f"sqlite:///{tmp_path}/state.db"
    from sms_receipt_stats.config import load_settings
    from sms_receipt_stats.state.flow import open_state

    env = make_env(STATE_URL=state_url, RECEIPTS_SECRET="unit-receipts-Pq3wE8rT", REPORT_LANG="zh")
    settings, _ = load_settings(env)
    state = open_state(settings)
    assert state is not None
    assert push(state, inside + outside, NOW.timestamp()) == 10
    state.close()

    doc = invoke(read_event("timer_default"), env=env)
    prod = next(r for r in doc["results"] if r["app_id"] == "1400006874")
    assert prod["receipt_codes"] == [
        {"code": "MK:0005", "count": 5, "category": "powered_off", "meaning": codes.lookup("MK:0005").meaning_in("zh")},
        {"code": "DB:0141", "count": 2, "category": "blacklist", "meaning": codes.lookup("DB:0141").meaning_in("zh")},
        {"code": "ZZ:0042", "count": 1, "category": "unknown", "meaning": None},
    ]
    assert prod["countries"] == [{"nationcode": "86", "count": 6, "failed": 6},
                                 {"nationcode": "852", "count": 2, "failed": 2},
                                 {"nationcode": "1", "count": 1, "failed": 0}]
    other = next(r for r in doc["results"] if r["app_id"] != "1400006874")
    assert other["receipt_codes"] == [] and other["countries"] == []


def test_a_stateless_run_or_one_without_the_callback_keeps_the_old_shape(invoke: Any, make_env: Any,
                                                                         tmp_path: Path) -> None:
    for env in (make_env(), make_env(STATE_URL=f"sqlite:///{tmp_path}/state.db")):
        doc: Dict[str, Any] = invoke(read_event("timer_default"), env=env)
        assert doc["results"] and all("receipt_codes" not in r and "countries" not in r for r in doc["results"])


# -- any input: a batch or a named refusal, never anything else ---------------------------------

def test_any_json_body_is_a_batch_or_a_named_refusal(tally: Any) -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from strategies import json_values
    from support import property_settings

    good = json.loads(read_event("url_post_receipts")["body"])

    @property_settings(300)
    @given(st.one_of(json_values(), st.lists(st.fixed_dictionaries(
        {k: st.one_of(st.just(v), json_values(2)) for k, v in good[1].items()}), min_size=1, max_size=4)))
    def check(value: Any) -> None:
        tally["cases:receipts: any JSON body -> batch or named refusal"] += 1
        raw = json.dumps(value).encode("utf-8")
        try:
            receipts = parse_batch(raw, NOW.timestamp())
        except IntakeError as exc:
            assert exc.status in (400, 413) and str(exc)
            assert "139001390" not in str(exc) and "13900139000" not in str(exc)
        else:
            assert isinstance(value, list) and len(receipts) == len(value)

    check()
