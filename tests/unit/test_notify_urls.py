"""NOTIFY_URLS parsing: kinds from hosts and prefixes, options, and what counts as a secret."""

from __future__ import annotations

import pytest

from sms_receipt_stats.notify.urls import mask_entry, parse_entry, parse_notify_urls


@pytest.mark.parametrize(("url", "kind"), [
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "wecom"),
    ("https://oapi.dingtalk.com/robot/send?access_token=t", "dingtalk"),
    ("https://open.feishu.cn/open-apis/bot/v2/hook/x", "feishu"),
    ("https://open.larksuite.com/open-apis/bot/v2/hook/x", "lark"),
    ("https://hooks.slack.com/services/T/B/X", "slack"),
    ("https://example.com/hook", "webhook"),
    ("dingtalk+http://127.0.0.1:8001/robot/send?access_token=t", "dingtalk"),
    ("WeCom+http://127.0.0.1:8002/send?key=k", "wecom"),
    ("webhook+https://hooks.slack.com/services/T/B/X", "webhook"),
    ("cmq://queue/alerts#endpoint=https://cmq-gz.public.tencenttdmq.com", "cmq_queue"),
    ("cmq://topic/reports#endpoint=https://cmq-gz.public.tencenttdmq.com", "cmq_topic"),
    ("cmq+api://queue/alerts", "cmq_api_queue"),
    ("cmq+api://topic/reports", "cmq_api_topic"),
])
def test_kind(url: str, kind: str) -> None:
    assert parse_entry(url).kind == kind


def test_prefix_is_not_part_of_the_url() -> None:
    spec = parse_entry("dingtalk+http://127.0.0.1:8001/robot/send?access_token=t#secret=s1")
    assert spec.url == "http://127.0.0.1:8001/robot/send?access_token=t"
    assert spec.secret == "s1"


def test_options() -> None:
    spec = parse_entry("https://oapi.dingtalk.com/robot/send?access_token=t"
                       "#secret=SECabc&min_severity=warning&mention=13800000000;+8613900000000")
    assert (spec.secret, spec.min_severity, spec.mention_all) == ("SECabc", "warning", False)
    assert spec.mention_mobiles == ("13800000000", "+8613900000000")
    assert parse_entry("https://example.com/h#mention=all").mention_all
    queue = parse_entry("cmq://queue/alerts#endpoint=http://gz.mqadapter.cmq.tencentyun.com")
    assert (queue.name, queue.region, queue.endpoint) == ("alerts", None, "http://gz.mqadapter.cmq.tencentyun.com")
    api = parse_entry("cmq+api://queue/alerts#region=ap-shanghai&endpoint=http://127.0.0.1:9000")
    assert (api.name, api.region, api.endpoint) == ("alerts", "ap-shanghai", "http://127.0.0.1:9000")


def test_a_cmq_entry_without_endpoint_says_where_to_copy_it_from() -> None:
    specs, [problem] = parse_notify_urls("cmq://queue/alerts")
    assert specs == []
    assert problem.startswith("NOTIFY_URLS entry 1 (cmq://queue/…): endpoint= is required")
    assert "Queue Service > API request address" in problem
    assert "tencenttdmq.com" in problem and "mqadapter.cmq.tencentyun.com" in problem


@pytest.mark.parametrize(("size", "expected"), [("", 65536), ("1048576", 1048576), ("1024", 1024)])
def test_max_msg_size_is_the_queues_attribute_in_bytes(size: str, expected: int) -> None:
    spec = parse_entry(f"{CMQ_QUEUE}&max_msg_size={size}")
    assert spec.param("max_msg_size") == expected


@pytest.mark.parametrize("size", ["0", "64KB", "1048577", "-1"])
def test_a_bad_max_msg_size_is_refused(size: str) -> None:
    specs, [problem] = parse_notify_urls(f"{CMQ_QUEUE}&max_msg_size={size}")
    assert specs == [] and "max_msg_size must be the queue's maximum message size in bytes" in problem


def test_region_is_not_for_the_data_flow_api() -> None:
    """The data-flow address names its region; region= is for the TC3-signed queue APIs only."""
    [spec], [problem] = parse_notify_urls("cmq://queue/alerts#region=ap-shanghai&endpoint=http://127.0.0.1:9")
    assert spec.region is None
    assert "region= is ignored: it applies to ckafka:// and cmq+api:// entries only" in problem


def test_plus_slash_and_equals_in_a_secret_survive() -> None:
    secret = "whsec_+/8AAAA="  # valid base64 with + / =
    assert parse_entry(f"https://example.com/h#secret={secret}").secret == secret
    assert parse_entry("https://example.com/h#secret=a%26b%23c").secret == "a&b#c"


@pytest.mark.parametrize("entry", [
    "https://example.com/h#min_severity=urgent",
    "https://example.com/h#mention=bob",
    "https://example.com/h#colour=red",
    "https://example.com/h#secret=whsec_***",
    "cmq://queue/1bad",
    "cmq://bucket/x",
    "dingtalk+cmq://queue/x",
    "ftp://example.com/x",
    "https://example.com:99999/x",
    "cmq://queue/q#endpoint=ftp://x",
    "cmq://queue/q",
    "cmq+api://queue/1bad",
    "cmq+api://bucket/x",
])
def test_bad_entries_are_reported_masked(entry: str) -> None:
    specs, problems = parse_notify_urls(f"{entry},https://example.com/ok")
    assert [s.url for s in specs] == ["https://example.com/ok"]
    [problem] = problems
    assert problem.startswith("NOTIFY_URLS entry 1")


def test_problems_never_echo_path_query_or_secret() -> None:
    _, problems = parse_notify_urls("https://oapi.dingtalk.com/robot/send?access_token=TOKEN123#secret=S3CR3T&x=1")
    [problem] = problems
    assert "TOKEN123" not in problem and "S3CR3T" not in problem and "/robot" not in problem


@pytest.mark.parametrize("entry", [
    "https://oapi.dingtalk.com/robot/send?access_token=TOKEN123#secret=",
    "https://open.feishu.cn/open-apis/bot/v2/hook/HOOK-0123456789abcdef#secret=&min_severity=warning",
    "https://ops.example.com/hooks/sms#secret=",
])
def test_an_empty_signing_secret_refuses_the_entry(entry: str) -> None:
    specs, problems = parse_notify_urls(entry)
    assert specs == []
    [problem] = problems
    assert problem.startswith("NOTIFY_URLS entry 1") and "secret= is empty" in problem


@pytest.mark.parametrize("entry", [
    "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY123",
    "http://oapi.dingtalk.com/robot/send?access_token=TOKEN123",
    "dingtalk+http://OAPI.DingTalk.com/robot/send?access_token=TOKEN123",
    "http://open.feishu.cn/open-apis/bot/v2/hook/HOOK",
    "http://open.larksuite.com/open-apis/bot/v2/hook/HOOK",
    "http://hooks.slack.com/services/T0/B0/XXXX",
    "webhook+http://hooks.slack.com/services/T0/B0/XXXX",
])
def test_plain_http_to_a_robot_host_refuses_the_entry(entry: str) -> None:
    specs, problems = parse_notify_urls(entry)
    assert specs == []
    [problem] = problems
    assert "https://" in problem and "KEY123" not in problem and "TOKEN123" not in problem


def test_plain_http_elsewhere_is_allowed() -> None:
    specs, problems = parse_notify_urls("dingtalk+http://127.0.0.1:8001/robot/send?access_token=t,"
                                        "http://hooks.internal.example/x")
    assert problems == [] and [s.kind for s in specs] == ["dingtalk", "webhook"]


def test_an_unknown_option_is_not_quoted() -> None:
    _, problems = parse_notify_urls("https://ops.example.com/h#SECpastedWithoutKey123")
    [problem] = problems
    assert "unknown option" in problem and "SECpasted" not in problem


def test_a_cmq_entry_never_shows_userinfo() -> None:
    _, problems = parse_notify_urls("cmq://user:Pa55w0rdSecret@queue/x/y")
    [problem] = problems
    assert "Pa55w0rd" not in problem


def test_split_on_commas_and_newlines_and_index() -> None:
    specs, problems = parse_notify_urls("https://a.example/h,\n https://b.example/h\n\n"
                                        "cmq://topic/t#endpoint=h.example ,")
    assert problems == []
    assert [(s.index, s.kind) for s in specs] == [(1, "webhook"), (2, "webhook"), (3, "cmq_topic")]


def test_label_and_repr_hide_secrets() -> None:
    spec = parse_entry("https://hooks.slack.com/services/T000/B000/SECRETPATHSEGMENT0001#secret=abcdefgh", 4)
    assert spec.label == "slack#4(hooks.slack.com)"
    assert "SECRETPATHSEGMENT0001" not in repr(spec) and "abcdefgh" not in repr(spec)
    assert mask_entry("slack+https://hooks.slack.com/services/T/B/SECRET") == "slack+https://hooks.slack.com/…"


def test_secret_values() -> None:
    spec = parse_entry("https://user:pa55word@example.com/hooks/0123456789abcdefXYZ/x?token=tok1234#secret=s3cret!")
    values = spec.secret_values()
    for part in ("https://user:pa55word@example.com/hooks/0123456789abcdefXYZ/x?token=tok1234", "tok1234",
                 "0123456789abcdefXYZ", "pa55word", "s3cret!"):
        assert part in values
    assert parse_entry("cmq://queue/alerts#endpoint=http://gz.mqadapter.cmq.tencentyun.com").secret_values() == []
    assert parse_entry("cmq+api://queue/alerts").secret_values() == []


# -- options that do not apply to the kind: reported, and the sink still loads ----------------

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY0123456789abcdef"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/SLACKPATH0123456789"
FEISHU_URL = "https://open.feishu.cn/open-apis/bot/v2/hook/FEISHUHOOK0123456789"
LARK_URL = "https://open.larksuite.com/open-apis/bot/v2/hook/LARKHOOK0123456789"
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send?access_token=DINGTOKEN0123456789"
HOOK_URL = "https://example.com/hooks/HOOKPATH0123456789"
CMQ_QUEUE = "cmq://queue/alerts#endpoint=https://cmq-gz.public.tencenttdmq.com"
CMQ_TOPIC = "cmq://topic/reports#endpoint=https://cmq-gz.public.tencenttdmq.com"


@pytest.mark.parametrize(("entry", "kind", "option", "reason"), [
    (f"{WECOM_URL}#secret=IGNORED-S3CR3T", "wecom", "secret=", "not signed"),
    (f"{SLACK_URL}#secret=IGNORED-S3CR3T", "slack", "secret=", "not signed"),
    (f"{CMQ_QUEUE}&secret=IGNORED-S3CR3T", "cmq_queue", "secret=", "not signed"),
    (f"{CMQ_TOPIC}&secret=IGNORED-S3CR3T", "cmq_topic", "secret=", "not signed"),
    ("cmq+api://queue/alerts#secret=IGNORED-S3CR3T", "cmq_api_queue", "secret=", "not signed"),
    (f"{HOOK_URL}#mention=all", "webhook", "mention=", "no mentions"),
    (f"{HOOK_URL}#mention=13800000000", "webhook", "mention=", "no mentions"),
    (f"{CMQ_QUEUE}&mention=all", "cmq_queue", "mention=", "no mentions"),
    (f"{FEISHU_URL}#mention=13800000000", "feishu", "mention=<mobile>", "only mention=all"),
    (f"{LARK_URL}#mention=13800000000;13900000000", "lark", "mention=<mobile>", "only mention=all"),
    (f"{SLACK_URL}#mention=13800000000", "slack", "mention=<mobile>", "only mention=all"),
    (f"{WECOM_URL}#region=ap-shanghai", "wecom", "region=", "cmq+api://"),
    (f"{DINGTALK_URL}#endpoint=http://127.0.0.1:9000", "dingtalk", "endpoint=", "cmq://"),
    (f"{HOOK_URL}#region=ap-shanghai&endpoint=cmq.example.com", "webhook", "region=", "cmq://"),
])
def test_an_option_the_kind_ignores_is_reported_but_the_sink_loads(entry: str, kind: str, option: str,
                                                                  reason: str) -> None:
    specs, problems = parse_notify_urls(f"{entry},https://example.com/ok")
    assert [s.kind for s in specs] == [kind, "webhook"]
    [problem] = problems
    assert problem.startswith(f"NOTIFY_URLS entry 1 ({mask_entry(entry)})")
    assert option in problem and reason in problem
    for hidden in ("IGNORED-S3CR3T", "KEY0123456789abcdef", "SLACKPATH", "FEISHUHOOK", "LARKHOOK", "DINGTOKEN",
                   "HOOKPATH", "13800000000", "13900000000"):
        assert hidden not in problem


def test_every_ignored_option_of_an_entry_is_named_in_one_problem() -> None:
    specs, problems = parse_notify_urls(f"{SLACK_URL}#secret=IGNORED-S3CR3T&mention=13800000000&region=ap-shanghai")
    assert [s.kind for s in specs] == ["slack"]
    [problem] = problems
    assert "secret=" in problem and "mention=<mobile>" in problem and "region=" in problem
    assert "IGNORED-S3CR3T" not in problem


def test_an_ignored_secret_is_still_scrubbed() -> None:
    [spec], _ = parse_notify_urls(f"{WECOM_URL}#secret=IGNORED-S3CR3T")
    assert "IGNORED-S3CR3T" in spec.secret_values()


@pytest.mark.parametrize("entry", [
    f"{DINGTALK_URL}#secret=SECabc&mention=13800000000;+8613900000000",
    f"{DINGTALK_URL}#secret=SECabc&mention=all&min_severity=warning",
    f"{WECOM_URL}#mention=13800000000;13900000000&min_severity=critical",
    f"{WECOM_URL}#mention=all",
    f"{FEISHU_URL}#secret=s&mention=all",
    f"{LARK_URL}#secret=s&mention=all",
    f"{SLACK_URL}#mention=all",
    f"{HOOK_URL}#secret=whsec_+/8AAAA=&min_severity=warning",
    "cmq://queue/alerts#endpoint=http://127.0.0.1:9000&min_severity=critical",
    "cmq+api://queue/alerts#region=ap-shanghai&endpoint=http://127.0.0.1:9000&min_severity=critical",
    f"{WECOM_URL}#secret=&region=&mention=",  # empty values set nothing
])
def test_options_that_apply_raise_no_problem(entry: str) -> None:
    specs, problems = parse_notify_urls(entry)
    assert len(specs) == 1 and problems == []
