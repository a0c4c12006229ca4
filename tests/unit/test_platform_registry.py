"""The platform registry: every platform module is found by itself, and a new one needs no other file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from sms_receipt_stats.config import load_settings
from sms_receipt_stats.notify import platforms
from sms_receipt_stats.notify.delivery import build_sinks
from sms_receipt_stats.notify.platforms import Platform, registry
from sms_receipt_stats.notify.urls import mask_entry, parse_entry_checked, parse_notify_urls
from sms_receipt_stats.render import FLAVORS, MAX_BYTES, markup_for

#: a throwaway platform, written as a new module of the package would be
FAX_MODULE = '''
from sms_receipt_stats.notify.markup import MarkdownMarkup
from sms_receipt_stats.notify.platforms import Platform
from sms_receipt_stats.notify.base import ChatSink

MAX_BYTES = 1234


class FaxMarkup(MarkdownMarkup):
    name = "fax"
    max_bytes = MAX_BYTES


class FaxSink(ChatSink):
    kind = "fax"
    flavor = "fax"
    max_bytes = MAX_BYTES

    def compose(self, message):
        return [{"text": message.text}]

    def check_answer(self, resp):
        pass


PLATFORM = Platform(names={"fax": "Fax"}, max_bytes=MAX_BYTES, sinks={"fax": FaxSink}, markup=FaxMarkup,
                    hosts={"robot.fax.example": "fax"}, prefixes=("fax",), options=("mention",))
'''


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    """Forget the registry before and after, so a test's extra module never leaks into another."""
    platforms.reset()
    yield
    platforms.reset()


@pytest.fixture
def extra_module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: None) -> Iterator[Path]:
    """A directory the package also looks in: a module dropped there is a new platform module."""
    monkeypatch.setattr(platforms, "__path__", [*platforms.__path__, str(tmp_path)])
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("sms_receipt_stats.notify.platforms.") and m.endswith("fax")]:
        del sys.modules[name]


def test_the_package_platforms_are_found_without_a_list() -> None:
    reg = registry()
    assert set(reg.by_kind) == {"wecom", "dingtalk", "feishu", "lark", "slack", "webhook", "cmq_queue", "cmq_topic",
                                "ckafka", "cmq_api_queue", "cmq_api_topic", "amqp"}
    assert set(reg.markups) == {"wecom", "dingtalk", "feishu", "slack", "plain"} == set(FLAVORS)
    assert reg.hosts == {"qyapi.weixin.qq.com": "wecom", "oapi.dingtalk.com": "dingtalk", "open.feishu.cn": "feishu",
                         "open.larksuite.com": "lark", "hooks.slack.com": "slack"}
    assert set(reg.prefixes) == {"wecom", "dingtalk", "feishu", "lark", "slack", "webhook"}
    assert reg.options == ("secret", "min_severity", "mention", "region", "endpoint", "exchange", "max_msg_size",
                           "routing_key")
    assert {scheme: p.kinds for scheme, p in reg.schemes.items()} == {
        "amqp": ("amqp",), "amqps": ("amqp",), "ckafka": ("ckafka",), "cmq": ("cmq_queue", "cmq_topic"),
        "cmq+api": ("cmq_api_queue", "cmq_api_topic")}
    assert reg.catch_all == "webhook"


@pytest.mark.parametrize("platform", registry().platforms, ids=lambda p: p.kinds[0] if p.kinds else "plain")
def test_each_platform_has_one_size_limit_for_markup_and_sink(platform: Platform) -> None:
    if platform.markup is not None:
        assert platform.markup.max_bytes == platform.max_bytes == MAX_BYTES[platform.markup.name]
    for kind, cls in platform.sinks.items():
        assert cls.kind == kind
        assert getattr(cls, "max_bytes", platform.max_bytes) == platform.max_bytes


def test_slack_renders_and_sends_with_the_same_limit() -> None:
    """Slack once had 3000 bytes in the renderer and 12000 in the sink; now one number serves both."""
    from sms_receipt_stats.notify.platforms.slack import SECTION_MAX_CHARS, SlackSink

    assert MAX_BYTES["slack"] == SlackSink.max_bytes == 12000
    assert MAX_BYTES["slack"] // SECTION_MAX_CHARS + 2 <= 50  # the sections plus the mention fit Slack's 50 blocks


def test_signing_platforms_are_the_ones_that_take_a_secret() -> None:
    signed = {k for p in registry().platforms if p.signing for k in p.kinds}
    assert signed == {"dingtalk", "feishu", "lark", "webhook"}
    _, problem = parse_entry_checked("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k#secret=abc")
    assert problem is not None and "WeCom messages are not signed" in problem


def test_a_new_platform_module_is_picked_up_without_touching_another_file(extra_module_dir: Path) -> None:
    (extra_module_dir / "fax.py").write_text(textwrap.dedent(FAX_MODULE), encoding="utf-8")

    specs, problems = parse_notify_urls("https://robot.fax.example/send?token=t0ken-0000-0000-0000,"
                                        "fax+https://other.example/hook#mention=all&secret=s3cr3t")
    assert [s.kind for s in specs] == ["fax", "fax"]
    assert specs[1].mention_all
    assert problems == ["NOTIFY_URLS entry 2 (fax+https://other.example/…): secret= is ignored: "
                        "Fax messages are not signed, nothing uses the secret"]
    assert mask_entry("fax+https://other.example/hook") == "fax+https://other.example/…"
    sinks = build_sinks(specs)
    assert [type(s).__name__ for s in sinks] == ["FaxSink", "FaxSink"]
    assert markup_for("fax").max_bytes == 1234
    # over http:// a robot host is refused, as for the built-in platforms
    _, problems = parse_notify_urls("http://robot.fax.example/send")
    assert problems and "use https:// for robot.fax.example" in problems[0]


def test_without_the_module_the_same_entry_is_a_plain_webhook(fresh_registry: None) -> None:
    specs, problems = parse_notify_urls("https://robot.fax.example/send")
    assert [s.kind for s in specs] == ["webhook"] and problems == []
    specs, problems = parse_notify_urls("fax+https://other.example/hook")
    assert specs == []
    assert problems == ["NOTIFY_URLS entry 1 (fax+https://other.example/…): expected an http(s) URL, a kind+URL "
                        "or amqp(s)://USER:PASS@HOST[:PORT]/VHOST or ckafka://DATAHUB_ID "
                        "or cmq://queue|topic/NAME#endpoint=ADDR or cmq+api://queue|topic/NAME"]


def test_a_module_that_contradicts_itself_fails_naming_it(extra_module_dir: Path) -> None:
    bad = FAX_MODULE.replace('options=("mention",)', 'options=("mention", "secret")')
    (extra_module_dir / "fax.py").write_text(textwrap.dedent(bad), encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"platforms\.fax: `secret` must be an option exactly when"):
        registry()


def test_a_kind_declared_twice_is_refused(extra_module_dir: Path) -> None:
    twin = FAX_MODULE.replace('names={"fax": "Fax"}', 'names={"slack": "Fax"}').replace(
        'sinks={"fax": FaxSink}', 'sinks={"slack": FaxSink}').replace('kind = "fax"', 'kind = "slack"').replace(
        '"robot.fax.example": "fax"', '"robot.fax.example": "slack"').replace('prefixes=("fax",)', "prefixes=()")
    (extra_module_dir / "fax.py").write_text(textwrap.dedent(twin), encoding="utf-8")
    with pytest.raises(RuntimeError, match="'slack' is declared by two platform modules"):
        registry()


def test_parsing_notify_urls_loads_neither_the_renderer_nor_requests() -> None:
    """Cold start: config parses NOTIFY_URLS on every job, lookups included; only a sending job pays
    for the report model and HTTP."""
    code = textwrap.dedent("""
        import sys
        from sms_receipt_stats.config import load_settings
        settings, issues = load_settings({"NOTIFY_URLS": "https://qyapi.weixin.qq.com/x?key=k,"
                                          "https://hooks.slack.com/services/a,cmq://queue/q#endpoint=h.example,"
                                          "https://a.example/h"})
        assert len(settings.sinks) == 4, issues
        loaded = [m for m in ("requests", "sms_receipt_stats.render", "sms_receipt_stats.render.report",
                              "sms_receipt_stats.notify.delivery") if m in sys.modules]
        print(loaded)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_config_and_the_notify_urls_parser_do_not_import_each_other() -> None:
    import ast

    import sms_receipt_stats.notify.urls as spec

    tree = ast.parse(Path(spec.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "sms_receipt_stats.config" not in imported
    settings, issues = load_settings({"NOTIFY_URLS": "cmq://queue/q1#endpoint=ftp://x"})
    assert settings.sinks == () and "endpoint: scheme must be http or https" in str(issues[0])


#: a throwaway queue platform with a scheme and options of its own, one of them a secret
PIGEON_MODULE = '''
from sms_receipt_stats.notify.base import Sink
from sms_receipt_stats.notify.platforms import Platform


class PigeonSink(Sink):
    kind = "pigeon"

    def prepare(self, doc, settings):
        return "doc"

    def deliver(self, prepared, ctx):
        pass


def parse(kind, parts, options):
    if not parts.netloc:
        raise ValueError("expected pigeon://LOFT")
    return {"kind": "pigeon", "name": parts.netloc, "routing_key": options.get("routing_key", ""),
            "ring": options.get("ring", "")}


PLATFORM = Platform(names={"pigeon": "Pigeon"}, max_bytes=100, sinks={"pigeon": PigeonSink}, scheme="pigeon",
                    form="pigeon://LOFT", options=("routing_key", "ring"), private_options=("ring",), parse=parse)
'''


def test_a_platform_declares_options_of_its_own_and_which_are_secret(extra_module_dir: Path) -> None:
    """Options beyond the spec's fixed fields travel in `params`: once a `routing_key=` made
    `load_settings` (documented never to raise) raise TypeError."""
    (extra_module_dir / "pigeon.py").write_text(textwrap.dedent(PIGEON_MODULE), encoding="utf-8")

    settings, issues = load_settings({"NOTIFY_URLS": "pigeon://north#routing_key=sms.report&ring=r1ng-s3cret-0000"})
    assert issues == []
    (spec,) = settings.sinks
    assert (spec.kind, spec.name, spec.param("routing_key"), spec.param("ring")) == (
        "pigeon", "north", "sms.report", "r1ng-s3cret-0000")
    assert spec.param("missing", "x") == "x"
    assert "r1ng-s3cret-0000" in settings.secret_values()
    assert "sms.report" not in spec.secret_values()
    assert "r1ng" not in repr(spec) and "r1ng" not in spec.label
    # an option no platform declares is still refused, and a ring option on a chat entry is named as ignored
    _, problems = parse_notify_urls("pigeon://north#colour=grey")
    assert problems and "unknown option" in problems[0]
    _, problems = parse_notify_urls("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k#routing_key=a")
    assert problems and "routing_key= is ignored: it applies to amqp:// and pigeon:// entries only" in problems[0]
