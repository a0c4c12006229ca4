"""serverless.yml through the SCF component's own input formatting: what `scf deploy` would ask SCF for.

The Serverless Cloud Framework CLI resolves `${env:...}` (src/libs/utils/basic.js
`resolveVariables`: an unset variable becomes `undefined`, which JSON transport drops), the
engine resolves `${stage}`/`${app}`/`${name}`, and the scf component builds its CreateFunction
and CreateTrigger requests with tencent-component-toolkit. This test does the first two here
and runs the toolkit's own `formatInputs` (tests/toolkit/format_inputs.js) offline, then checks
the requests against SCF's documented limits and against what the handler accepts.

The toolkit is installed by the test itself (pinned, into `.cache/toolkit`, gitignored) with
the machine's npm, once; node and npm are required.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional
from zoneinfo import ZoneInfo

import pytest

from sms_receipt_stats.config import load_settings
from sms_receipt_stats.events import parse_timer_message
from sms_receipt_stats.windows import named_window

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
#: the newest tencent-component-toolkit on npm (`npm view tencent-component-toolkit versions`)
TOOLKIT_VERSION = "2.27.6"
TOOLKIT_HOME = ROOT / ".cache" / "toolkit"
SCRIPT = ROOT / "tests" / "toolkit" / "format_inputs.js"

#: the only variables serverless.yml takes from the deployer (README, "Deploying")
REQUIRED = ("SMS_SDK_APP_IDS", "NOTIFY_URLS", "API_TOKENS")
#: a large but ordinary deployment: ten apps, five sinks, three tokens
DEPLOY_ENV = {
    "SMS_SDK_APP_IDS": ",".join(f"14000068{i:02d}=app-{i:02d}" for i in range(10)),
    "NOTIFY_URLS": ",".join([
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0a1b2c3d-4e5f-6789-abcd-ef0123456789#mention=13800000000",
        "https://oapi.dingtalk.com/robot/send?access_token=" + "d" * 64 + "#secret=SEC" + "e" * 64
        + "&min_severity=warning",
        "https://open.feishu.cn/open-apis/bot/v2/hook/0a1b2c3d-4e5f-6789-abcd-ef0123456789#secret=" + "f" * 22,
        "https://ops.example.com/hooks/sms#secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "cmq://queue/sms-reports#endpoint=http://sh.mqadapter.cmq.tencentyun.com",
    ]),
    "API_TOKENS": ",".join(["t" * 40, "u" * 40, "v" * 40]),
}
SCF_ENV_LIMIT = 4096
#: SCF's description rule (component docs, `description`): letters, digits, spaces, commas, periods, Chinese
DESCRIPTION = re.compile(r"^[A-Za-z0-9 ,.\u4e00-\u9fff]{1,1000}$")
#: function name (component docs): letters, digits, _ and -, from a letter to a letter or digit, 2-60 chars
FUNCTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,58}[A-Za-z0-9]$")
#: timer name (SCF timer docs, 583/9708): up to 60 of a-z A-Z 0-9 - _, starting with a letter
TIMER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,59}$")
#: ranges of the 7 cron fields (583/9708): second minute hour day month week year
CRON_RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6), (1970, 2099))
TIMER_ARGUMENT_LIMIT = 4096  # "入参(可选):最大支持4KB的字符串" (583/9708)
CAM_ACTION = re.compile(r"\b(sms|tdmq|ckafka|cmq|cmqqueue|cmqtopic):([A-Z][A-Za-z]+)\b")


def _installed(home: Path) -> bool:
    manifest = home / "node_modules" / "tencent-component-toolkit" / "package.json"
    return manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8")).get("version") == TOOLKIT_VERSION


@pytest.fixture(scope="session")
def toolkit() -> Path:
    """The pinned toolkit's package directory, installed with npm into .cache/toolkit when missing."""
    package = TOOLKIT_HOME / "node_modules" / "tencent-component-toolkit"
    if _installed(TOOLKIT_HOME):
        return package
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        pytest.fail("node and npm are needed to check serverless.yml with tencent-component-toolkit")
    TOOLKIT_HOME.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="toolkit-", dir=TOOLKIT_HOME.parent))
    try:
        proc = subprocess.run(
            [npm, "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--no-package-lock",
             "--loglevel=error", f"tencent-component-toolkit@{TOOLKIT_VERSION}"],
            capture_output=True, text=True, timeout=600, check=False,
        )
        assert proc.returncode == 0, f"npm install failed:\n{proc.stderr[-3000:]}"
        assert _installed(staging)
        if not _installed(TOOLKIT_HOME):  # another run may have finished first
            shutil.rmtree(TOOLKIT_HOME, ignore_errors=True)
            staging.rename(TOOLKIT_HOME)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return package


def load_yml(text: Optional[str] = None) -> Dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / "serverless.yml").read_text(encoding="utf-8") if text is None else text)


#: the commented block a stateful deploy uncomments (docs/deploy.md, "Stateful deploy")
VPC_BLOCK = ("  # vpcConfig:", "  #   vpcId: ${env:VPC_ID}", "  #   subnetId: ${env:SUBNET_ID}")


def stateful_yml_text() -> str:
    """serverless.yml with its `vpcConfig` block uncommented, as the deploy docs tell a user to do."""
    lines = (ROOT / "serverless.yml").read_text(encoding="utf-8").splitlines()
    start = lines.index(VPC_BLOCK[0])
    assert tuple(lines[start:start + len(VPC_BLOCK)]) == VPC_BLOCK
    for index in range(start, start + len(VPC_BLOCK)):
        lines[index] = lines[index].replace("# ", "", 1)
    return "\n".join(lines) + "\n"


_ENV_REF = re.compile(r"\$\{env:([\w.-]+)\}")


def resolve(value: Any, doc: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    """The CLI's `${env:X}` (unset: the whole value becomes undefined, embedded: "undefined"),
    then the engine's `${stage}`, `${app}`, `${name}`; None marks a value JSON transport drops."""
    if isinstance(value, dict):
        resolved = {k: resolve(v, doc, env) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not None}
    if isinstance(value, list):
        return [resolve(v, doc, env) for v in value]
    if not isinstance(value, str):
        return value
    whole = _ENV_REF.fullmatch(value)
    if whole:
        return env.get(whole.group(1))
    text = _ENV_REF.sub(lambda m: env.get(m.group(1), "undefined"), value)
    for key in ("stage", "app", "name"):
        text = text.replace("${" + key + "}", str(doc[key]))
    return text


def format_requests(toolkit: Path, env: Mapping[str, str], text: Optional[str] = None) -> Dict[str, Any]:
    doc = load_yml(text)
    request = {"inputs": resolve(doc["inputs"], doc, env),
               "instance": {"app": doc["app"], "stage": doc["stage"], "name": doc["name"]}}
    proc = subprocess.run(["node", str(SCRIPT), str(toolkit)], input=json.dumps(request), capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def requests_(toolkit: Path) -> Dict[str, Any]:
    return format_requests(toolkit, DEPLOY_ENV)


@pytest.fixture(scope="module")
def function(requests_: Dict[str, Any]) -> Dict[str, Any]:
    return requests_["CreateFunction"]


@pytest.fixture(scope="module")
def variables(function: Dict[str, Any]) -> Dict[str, str]:
    pairs = function["Environment"]["Variables"]
    assert len({p["Key"] for p in pairs}) == len(pairs)
    return {p["Key"]: p["Value"] for p in pairs}


def triggers(requests_: Dict[str, Any], kind: str) -> List[Dict[str, Any]]:
    found = [t for t in requests_["CreateTrigger"] if t["Type"] == kind]
    for trigger in found:
        assert trigger["Action"] == "CreateTrigger" and trigger["Qualifier"] == "$DEFAULT"
        assert trigger["FunctionName"] == requests_["CreateFunction"]["FunctionName"]
    return found


# -- the function --------------------------------------------------------------------------------


def test_function_runs_the_built_package(function: Dict[str, Any]) -> None:
    import handler

    assert function["Action"] == "CreateFunction" and function["Type"] == "Event"
    assert FUNCTION_NAME.match(function["FunctionName"]) and function["FunctionName"] == "sms-receipt-stats-prod"
    assert function["Namespace"] == "default"
    assert function["Runtime"] == "Python3.10"  # the wheels `package --python 3.10` puts in the zip
    src = load_yml()["inputs"]["src"]["src"]
    assert src == "./dist/sms-receipt-stats-py310"
    module, _, attribute = function["Handler"].partition(".")
    assert (module, attribute) == ("handler", "main_handler") and callable(getattr(handler, attribute))
    assert function["Role"] == "SCF_SmsReceiptStats"
    assert function["PublicNetConfig"]["PublicNetStatus"] == "ENABLE"  # the SMS API and the chat robots


def test_timeout_and_memory_are_within_scf_limits(function: Dict[str, Any]) -> None:
    assert function["Timeout"] == 60 and 1 <= function["Timeout"] <= 900
    assert 3 <= function["InitTimeout"] <= 300
    memory = function["MemorySize"]
    assert memory == 128 and (memory == 64 or (memory % 128 == 0 and 128 <= memory <= 3072))


def test_description_uses_only_characters_scf_accepts(function: Dict[str, Any]) -> None:
    assert DESCRIPTION.match(function["Description"]), function["Description"]
    assert not DESCRIPTION.match("SMS delivery-receipt statistics (CallbackStatusStatistics)")  # the old one


# -- environment variables -----------------------------------------------------------------------


def test_no_variable_is_empty_and_all_fit_in_4_kb(variables: Dict[str, str]) -> None:
    assert variables and all(isinstance(v, str) and v.strip() and v != "undefined" for v in variables.values())
    total = sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())
    assert total <= SCF_ENV_LIMIT, f"{total} bytes of variables"
    assert set(REQUIRED) <= set(variables)
    assert not {"TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN",
                "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"} & set(variables)


def test_the_deployed_variables_are_a_valid_configuration(variables: Dict[str, str]) -> None:
    settings, issues = load_settings(variables)
    assert [str(i) for i in issues] == []
    assert len(settings.apps) == 10 and len(settings.sinks) == 5 and len(settings.api_tokens) == 3


#: optional, from the deployer's environment too: `scf` leaves a variable out when it is unset
OPTIONAL_FROM_ENV = ("PUBLIC_URL", "LINK_SECRET", "STATE_URL", "HEARTBEAT_URL", "RECEIPTS_SECRET")
#: a stateful deploy's extra values (docs/deploy.md, "Stateful deploy"): a TencentDB for Redis
#: custom account (`account@password`, percent-encoded into the one password of the URL)
STATEFUL_ENV = {
    "VPC_ID": "vpc-6ek8jrvm", "SUBNET_ID": "subnet-2xcq9n4u",
    "STATE_URL": "redis://:sms_stats%40" + "Pw9~" * 8 + "@10.0.0.12:6379/0",
    "HEARTBEAT_URL": "https://hc-ping.com/0a1b2c3d-4e5f-6789-abcd-ef0123456789",
    "RECEIPTS_SECRET": "r" * 32,
    "PUBLIC_URL": "https://1250000000-abcd1234ef.ap-guangzhou.tencentscf.com",
    "LINK_SECRET": "l" * 32,
}


def test_only_the_required_and_link_variables_come_from_the_deployer() -> None:
    variables = load_yml()["inputs"]["environment"]["variables"]
    from_env = {k: _ENV_REF.fullmatch(str(v)) for k, v in variables.items() if "${" in str(v)}
    assert all(from_env.values()), "a variable that embeds ${env:...} deploys 'undefined' when it is unset"
    assert {m.group(1) for m in from_env.values()} == set(REQUIRED) | set(OPTIONAL_FROM_ENV) == set(from_env)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deploying = readme[readme.index("## Deploying"):]
    for name in (*REQUIRED, *OPTIONAL_FROM_ENV):
        assert name in deploying, f"README's deploy steps must name {name}"


# -- network and the state store ---------------------------------------------------------------


def test_without_a_vpc_the_function_keeps_public_access_and_no_fixed_ip(function: Dict[str, Any],
                                                                        variables: Dict[str, str]) -> None:
    """The deploy without a store: no VpcConfig at all, the internet for the API and the robots."""
    assert function["PublicNetConfig"] == {"PublicNetStatus": "ENABLE", "EipConfig": {"EipStatus": "DISABLE"}}
    assert "VpcConfig" not in function
    assert "STATE_URL" not in variables and "HEARTBEAT_URL" not in variables


def test_the_stateful_block_gives_the_function_its_vpc_and_keeps_the_internet(toolkit: Path) -> None:
    env = {**DEPLOY_ENV, **STATEFUL_ENV}
    function = format_requests(toolkit, env, stateful_yml_text())["CreateFunction"]
    assert function["VpcConfig"] == {"VpcId": "vpc-6ek8jrvm", "SubnetId": "subnet-2xcq9n4u"}
    # public access too: SCF's "both public and private network access" (583, Network Configuration)
    assert function["PublicNetConfig"]["PublicNetStatus"] == "ENABLE"
    pairs = function["Environment"]["Variables"]
    variables = {p["Key"]: p["Value"] for p in pairs}
    assert variables["STATE_URL"] == STATEFUL_ENV["STATE_URL"]
    total = sum(len(p["Key"].encode()) + len(p["Value"].encode()) for p in pairs)
    assert total <= SCF_ENV_LIMIT, f"{total} bytes of variables"
    settings, issues = load_settings(variables)
    assert [str(i) for i in issues] == []
    assert settings.state_url is not None and settings.heartbeat_url is not None
    assert settings.state_password is not None  # the account@password, decoded: what AUTH sends
    assert settings.state_password.get_secret_value() == "sms_stats@" + "Pw9~" * 8


def test_the_stateful_block_is_the_only_difference(toolkit: Path) -> None:
    """Uncommenting the block changes the function's network and nothing else."""
    env = {**DEPLOY_ENV, **STATEFUL_ENV}
    plain = format_requests(toolkit, env)
    stateful = format_requests(toolkit, env, stateful_yml_text())
    assert "VpcConfig" not in plain["CreateFunction"]
    stateful["CreateFunction"].pop("VpcConfig")
    assert stateful == plain


def test_an_unset_required_variable_is_dropped_not_sent_empty(toolkit: Path) -> None:
    """What the CLI does with an unset `${env:X}`: the component never sees the variable."""
    partial = {k: v for k, v in DEPLOY_ENV.items() if k != "API_TOKENS"}
    keys = [p["Key"] for p in format_requests(toolkit, partial)["CreateFunction"]["Environment"]["Variables"]]
    assert "API_TOKENS" not in keys and "SMS_SDK_APP_IDS" in keys


# -- triggers ------------------------------------------------------------------------------------


def test_two_timers_with_7_field_crons_and_messages_the_handler_accepts(requests_: Dict[str, Any]) -> None:
    timers = {t["TriggerName"]: t for t in triggers(requests_, "timer")}
    assert set(timers) == {"daily-report", "hourly-check"}
    jobs = {}
    for name, timer in timers.items():
        assert TIMER_NAME.match(name) and timer["Enable"] == "OPEN"
        fields = timer["TriggerDesc"].split()
        assert len(fields) == 7, timer["TriggerDesc"]
        for field, (low, high) in zip(fields, CRON_RANGES):
            assert field == "*" or low <= int(field) <= high, timer["TriggerDesc"]
        argument = timer["CustomArgument"]
        assert len(argument.encode()) <= TIMER_ARGUMENT_LIMIT
        json.loads(argument)  # valid JSON, not just something parse_timer_message tolerates
        message = parse_timer_message(argument)
        jobs[name] = (message.job, message.window, timer["TriggerDesc"])
    assert jobs == {"daily-report": ("report", "yesterday", "0 0 3 * * * *"),
                    "hourly-check": ("check", "last_hour", "0 5 * * * * *")}


def test_the_http_trigger_is_a_public_function_url(requests_: Dict[str, Any]) -> None:
    (url,) = triggers(requests_, "http")
    assert url["Enable"] == "OPEN"
    desc = json.loads(url["TriggerDesc"])
    assert desc["AuthType"] == "NONE"  # the function checks API_TOKENS itself
    assert desc["NetConfig"] == {"EnableExtranet": True, "EnableIntranet": False}
    # no timeout of its own that could cut a lookup short: the function's 60 s is the limit
    assert set(desc) <= {"AuthType", "NetConfig", "CorsConfig"}
    assert triggers(requests_, "apigw") == []  # API Gateway triggers are offline since 2025-06-30
    assert {t["Type"] for t in requests_["CreateTrigger"]} == {"timer", "http"}


def _fire(day: date, cron: str, zone: str) -> datetime:
    """The instant a daily `second minute hour * * * *` cron fires on `day`, read in `zone`."""
    second, minute, hour = (int(f) for f in cron.split()[:3])
    return datetime.combine(day, time(hour, minute, second), ZoneInfo(zone)).astimezone(timezone.utc)


@pytest.mark.parametrize("day", [date(2026, 11, 25), date(2026, 1, 1), date(2026, 3, 1)])
def test_reports_cover_the_same_windows_whether_scf_reads_cron_as_beijing_time_or_utc(
    requests_: Dict[str, Any], day: date,
) -> None:
    timers = {t["TriggerName"]: t["TriggerDesc"] for t in triggers(requests_, "timer")}
    tz = load_yml()["inputs"]["environment"]["variables"]["REPORT_TIMEZONE"]
    daily = [named_window("yesterday", _fire(day, timers["daily-report"], zone), tz)
             for zone in ("Asia/Shanghai", "UTC")]
    assert daily[0] == daily[1]
    assert (daily[0].begin_str, daily[0].end_str) == (f"{day - timedelta(days=1):%Y%m%d}00", f"{day:%Y%m%d}00")
    # hourly: minute 5 of every hour is the same instant in both readings (whole-hour offset)
    minute = int(timers["hourly-check"].split()[1])
    for zone in ("Asia/Shanghai", "UTC"):
        fired = datetime.combine(day, time(14, minute), ZoneInfo(zone)).astimezone(timezone.utc)
        window = named_window("last_hour", fired, tz)
        assert window.span.total_seconds() == 3600 and 0 < (fired - window.end).total_seconds() < 3600


# -- permissions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("document", ["serverless.yml", "README.md", "SECURITY.md", "docs/deploy.md"])
def test_cam_actions_are_named_alike_everywhere(document: str) -> None:
    """Every CAM action the function needs, written the same in each document: the CMQ actions
    (data-flow and management) are TDMQ's (service tdmq), the CKafka ones ckafka's."""
    text = (ROOT / document).read_text(encoding="utf-8")
    found = {f"{m.group(1)}:{m.group(2)}" for m in CAM_ACTION.finditer(text)}
    assert found == {"sms:CallbackStatusStatistics", "sms:SendStatusStatistics", "sms:SmsPackagesStatistics",
                     "ckafka:SendMessage", "ckafka:DescribeDatahubTasks", "tdmq:SendMessage", "tdmq:PublishMessage",
                     "tdmq:SendCmqMsg", "tdmq:PublishCmqMsg"}


def test_the_install_is_pinned_and_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ".cache/" in ignored and ".env" in ignored


def test_resolve_follows_the_cli_for_unset_variables() -> None:
    doc = {"stage": "prod", "app": "a", "name": "n"}
    assert resolve({"A": "${env:X}", "B": "p-${env:X}", "C": "${stage}"}, doc, {}) == {"B": "p-undefined",
                                                                                       "C": "prod"}
