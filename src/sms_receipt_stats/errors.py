"""The error catalogue (SPEC section 8): what every Tencent Cloud error code means for an operator.

Every failure the product reports carries a code; this module turns that code into a
severity (routing of notifications), a category, whether a retry can help, and a concrete
hint in English and Chinese. It also owns ``scrub``, the last line of defence that keeps
credentials out of every message we emit.

Sources of the code list (checked when this module was written):

* Tencent Cloud API 3.0 common error codes ("公共错误码"), as published on the SMS
  2021-01-11 error-code page (cloud.tencent.com/document/product/382/38780) and on every
  other product's error-code page: ``ActionOffline``, ``AuthFailure.*``, ``DryRunOperation``,
  ... ``UnsupportedRegion``.
* The codes the API page of ``CallbackStatusStatistics`` (2021-01-11,
  intl.cloud.tencent.com/document/product/382/40529, section "Error Code") documents; the
  same list is generated into the SDKs as "可能返回的错误码" (TencentCloud/tencentcloud-sdk-go,
  tencentcloud/sms/v20210111/client.go). See ``CALLBACK_STATUS_STATISTICS_CODES``.
* Every SMS 2021-01-11 code of ``tencentcloud-sdk-python-sms`` 3.1.153
  (``tencentcloud/sms/v20210111/errorcodes.py``), so that codes of the other SMS actions
  that an account may show are known too.
* Codes ``tencentcloud-sdk-python-common`` 3.1.195 raises itself (``ClientNetworkError``,
  ``ServerNetworkError``, ``ClientError``, ``ClientParamsError``, ``InvalidCredential``, ...).
  The exception class names it wraps as codes (``TencentCloudSDKException(type(e).__name__)``)
  are not codes here: ``sdk.to_cloud_error`` maps them to ``ClientNetworkError`` or
  ``UpstreamDataInvalid``.
* The product's own codes (``AuthFailure.Unauthorized``, ``NotFound``, ``MethodNotAllowed``,
  ``UpstreamDataInvalid``).

Judgement calls: plain ``InternalError`` (and unknown ``InternalError.*`` codes, which fall
back on it) is ``transient``, like ``InternalError.Timeout``: a bare internal error says
nothing about the request, and a retry is what the platform itself recommends; the named
``.OtherError``/``.UnknownError`` stay ``upstream`` (the SMS docs say to contact support).
``FailedOperation.JsonParseFail`` from the API means it could not parse the request the SDK
built, which no HTTP caller can fix: ``upstream`` (502), while an HTTP caller's own
unparseable body is answered 400 with the same code and category ``input``.
``AuthFailure.UnauthorizedOperation`` is a
CAM policy problem, so it is ``permission`` rather than ``auth``. ``LimitExceeded.*`` are
sending quotas/frequency policies (not API request rates), so they are ``upstream``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple

from sms_receipt_stats.documents import Category, ErrorInfo, Severity
from sms_receipt_stats.redaction import MASK as _MASK
from sms_receipt_stats.redaction import scrub_untrusted

SEVERITIES: Tuple[str, ...] = ("info", "warning", "critical")
CATEGORIES: Tuple[str, ...] = (
    "input",
    "auth",
    "permission",
    "billing",
    "rate_limit",
    "transient",
    "clock",
    "upstream",
)
RETRYABLE_CATEGORIES: FrozenSet[str] = frozenset({"rate_limit", "transient"})

# Default severity of each category; an entry may override it (e.g. DryRunOperation is info).
_DEFAULT_SEVERITY: Dict[str, Severity] = {
    "input": "warning",
    "auth": "critical",
    "permission": "critical",
    "billing": "critical",
    "rate_limit": "warning",
    "transient": "warning",
    "clock": "critical",
    "upstream": "warning",
}


@dataclass(frozen=True)
class ErrorEntry:
    """What the catalogue knows about one error code; immutable so entries can be shared."""

    code: str
    severity: Severity
    category: Category
    retryable: bool
    hint_en: str
    hint_zh: str

    def hint(self, lang: str = "en") -> str:
        """The hint in ``lang`` (``zh``, ``zh-CN``, ``zh_TW`` ... → Chinese; anything else → English)."""
        return self.hint_zh if (lang or "").lower().startswith("zh") else self.hint_en


_ENTRIES: List[ErrorEntry] = []


def _e(code: str, category: Category, hint_en: str, hint_zh: str, severity: Optional[Severity] = None) -> None:
    """Register one entry; ``retryable`` derives from the category so the rule cannot drift."""
    _ENTRIES.append(
        ErrorEntry(
            code=code,
            severity=severity or _DEFAULT_SEVERITY[category],
            category=category,
            retryable=category in RETRYABLE_CATEGORIES,
            hint_en=hint_en,
            hint_zh=hint_zh,
        )
    )


_SUPPORT_EN = "if it persists, contact Tencent Cloud SMS support with the RequestId."
_SUPPORT_ZH = "如持续出现，请携带 RequestId 联系腾讯云短信技术支持。"
_SEND_ONLY_EN = " (returned by the sending/template APIs; the statistics lookup does not send SMS)"
_SEND_ONLY_ZH = "（该错误码属于发送/模板类接口，统计查询不会发送短信）"

# ---------------------------------------------------------------------------------------------
# Tencent Cloud API 3.0 common error codes.
# ---------------------------------------------------------------------------------------------
_e(
    "ActionOffline",
    "input",
    "The API action has been taken offline: upgrade tencentcloud-sdk-python-sms and this package.",
    "该接口已下线：请升级 tencentcloud-sdk-python-sms 及本程序包。",
)
_e(
    "AuthFailure",
    "auth",
    "Tencent Cloud rejected the credentials: check TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY "
    "(and TENCENTCLOUD_SESSIONTOKEN) or the function's execution role.",
    "腾讯云鉴权失败：请检查 TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY"
    "（及 TENCENTCLOUD_SESSIONTOKEN）或函数的运行角色。",
)
_e(
    "AuthFailure.InvalidAuthorization",
    "auth",
    "The Authorization header is not in Tencent Cloud's format: check SMS_ENDPOINT and remove any "
    "proxy that rewrites request headers.",
    "请求头 Authorization 不符合腾讯云规范：请检查 SMS_ENDPOINT，并去掉会改写请求头的代理。",
)
_e(
    "AuthFailure.InvalidSecretId",
    "auth",
    "The SecretId is not a cloud API key: use an API key from CAM > API Keys (AKID...) or the "
    "execution role's temporary credentials.",
    "SecretId 不是云 API 密钥：请使用访问管理 > API 密钥中的密钥（AKID 开头）或运行角色的临时密钥。",
)
_e(
    "AuthFailure.MFAFailure",
    "auth",
    "The key's account requires MFA for this operation: call with an execution role or a sub-user "
    "whose API access is not MFA-protected (CAM > operation protection).",
    "该账号的操作需要 MFA 校验：请使用运行角色或未开启 API 操作保护的子用户调用（访问管理 > 操作保护）。",
)
_e(
    "AuthFailure.SecretIdNotFound",
    "auth",
    "The SecretId does not exist or is disabled: check TENCENTCLOUD_SECRETID (no spaces), that the "
    "key is enabled in CAM, and on SCF that the function's execution role is set and still exists.",
    "密钥不存在或已被禁用：请检查 TENCENTCLOUD_SECRETID（不能带空格）、密钥在访问管理中是否启用，"
    "以及 SCF 函数是否配置了仍然存在的运行角色。",
)
_e(
    "AuthFailure.SignatureExpire",
    "clock",
    "The request signature expired (its timestamp is more than 5 minutes from Tencent Cloud's "
    "time): sync the clock of the host running the function (NTP) and retry.",
    "签名已过期（请求时间戳与腾讯云服务器时间相差超过 5 分钟）：请同步运行函数主机的时钟（NTP）后重试。",
)
_e(
    "AuthFailure.SignatureFailure",
    "auth",
    "The signature does not match: check that TENCENTCLOUD_SECRETKEY belongs to the SecretId, "
    "has no extra spaces, and that SMS_ENDPOINT is the host the request is signed for.",
    "签名校验失败：请检查 TENCENTCLOUD_SECRETKEY 是否与 SecretId 配对、有无多余空格，"
    "以及 SMS_ENDPOINT 是否为签名所用的域名。",
)
_e(
    "AuthFailure.TokenFailure",
    "auth",
    "The session token is invalid or expired: temporary credentials need TENCENTCLOUD_SESSIONTOKEN; "
    "check the execution role, then re-run to get fresh role credentials.",
    "临时密钥的 Token 无效或已过期：使用临时密钥时必须传 TENCENTCLOUD_SESSIONTOKEN；"
    "请检查运行角色后重新执行以获取新的临时密钥。",
)
_e(
    "AuthFailure.UnauthorizedOperation",
    "permission",
    "CAM did not authorize the request: grant sms:CallbackStatusStatistics (e.g. policy "
    "QcloudSMSReadOnlyAccess) to the function's execution role or the key's sub-user.",
    "请求未获 CAM 授权：请为函数运行角色或密钥所属子用户授予 sms:CallbackStatusStatistics"
    "（例如策略 QcloudSMSReadOnlyAccess）。",
)
_e(
    "DryRunOperation",
    "upstream",
    "DryRun request: the call would have succeeded; remove the DryRun parameter to run it for real.",
    "DryRun 操作：请求本可以成功，去掉 DryRun 参数即可真正执行。",
    severity="info",
)
_e(
    "FailedOperation",
    "upstream",
    "The operation failed on Tencent Cloud's side: read the error message, retry later; " + _SUPPORT_EN,
    "操作失败：请查看错误信息并稍后重试；" + _SUPPORT_ZH,
)
_e(
    "InternalError",
    "transient",
    "Tencent Cloud internal error: retried automatically, and the next scheduled run usually "
    "succeeds; " + _SUPPORT_EN,
    "腾讯云内部错误：会自动重试，通常下次定时执行即可恢复；" + _SUPPORT_ZH,
)
_e(
    "InvalidAction",
    "input",
    "The API action does not exist at this endpoint: check SMS_ENDPOINT (sms.tencentcloudapi.com) "
    "and the API version 2021-01-11.",
    "接口不存在：请检查 SMS_ENDPOINT（sms.tencentcloudapi.com）及接口版本 2021-01-11。",
)
_e(
    "InvalidParameter",
    "input",
    "A request parameter is malformed: check the app id (digits only, from SMS_SDK_APP_IDS or the "
    "request) and the begin/end times (yyyymmddhh).",
    "参数错误：请检查应用 ID（纯数字，来自 SMS_SDK_APP_IDS 或请求）及起止时间（yyyymmddhh）。",
)
_e(
    "InvalidParameterValue",
    "input",
    "A request parameter has an invalid value: check the app id and the time window of the request.",
    "参数取值错误：请检查请求中的应用 ID 与时间范围。",
)
_e(
    "InvalidRequest",
    "input",
    "The request body is malformed (multipart): check SMS_ENDPOINT and any proxy in between.",
    "请求 body 的 multipart 格式错误：请检查 SMS_ENDPOINT 及中间代理。",
)
_e(
    "IpInBlacklist",
    "permission",
    "The caller's IP is blacklisted by Tencent Cloud: call from another egress IP (SCF: enable a "
    "fixed public egress IP) and open a ticket to get the IP unblocked.",
    "调用方 IP 在黑名单中：请更换出口 IP（SCF 可开启固定公网出口 IP），并提交工单申请解封。",
)
_e(
    "IpNotInWhitelist",
    "permission",
    "The caller's IP is not in the key's IP whitelist: add the function's egress IP (SCF: enable a "
    "fixed public egress IP) to the whitelist in CAM.",
    "调用方 IP 不在白名单中：请将函数的出口 IP（SCF 可开启固定公网出口 IP）加入访问管理的 IP 白名单。",
)
_e(
    "LimitExceeded",
    "upstream",
    "A Tencent Cloud quota was exceeded: check the quota in the console or request a higher one.",
    "超过配额限制：请在控制台查看配额或申请提升配额。",
)
_e(
    "MissingParameter",
    "input",
    "A required parameter is missing: give app_id and either begin/end or window.",
    "缺少必填参数：请提供 app_id，以及 begin/end 或 window。",
)
_e(
    "NoSuchProduct",
    "input",
    "The product is unknown at this endpoint: check SMS_ENDPOINT (sms.tencentcloudapi.com).",
    "产品不存在：请检查 SMS_ENDPOINT（sms.tencentcloudapi.com）。",
)
_e(
    "NoSuchVersion",
    "input",
    "The API version does not exist: the SMS API version must be 2021-01-11; check SMS_ENDPOINT.",
    "接口版本不存在：短信接口版本应为 2021-01-11，请检查 SMS_ENDPOINT。",
)
_e(
    "RequestLimitExceeded",
    "rate_limit",
    "Too many requests (the statistics API allows 10 per second): lower SMS_API_RPS or spread the "
    "schedules of functions sharing the account; retried automatically.",
    "请求频率超限（统计接口限 10 次/秒）：请调低 SMS_API_RPS 或错开共用账号的函数调度；会自动重试。",
)
_e(
    "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
    "rate_limit",
    "The account's request rate across all regions is exceeded: lower SMS_API_RPS or spread the "
    "jobs of this account; retried automatically.",
    "账号全地域请求频率超限：请调低 SMS_API_RPS 或错开该账号下的任务；会自动重试。",
)
_e(
    "RequestLimitExceeded.IPLimitExceeded",
    "rate_limit",
    "The request rate of this IP is exceeded: lower SMS_API_RPS; retried automatically.",
    "该 IP 请求频率超限：请调低 SMS_API_RPS；会自动重试。",
)
_e(
    "RequestLimitExceeded.UinLimitExceeded",
    "rate_limit",
    "The account's request rate is exceeded: lower SMS_API_RPS or spread the jobs of this account; "
    "retried automatically.",
    "账号请求频率超限：请调低 SMS_API_RPS 或错开该账号下的任务；会自动重试。",
)
_e(
    "RequestSizeLimitExceeded",
    "input",
    "The request is too large: check SMS_ENDPOINT and any proxy that adds to the request.",
    "请求包过大：请检查 SMS_ENDPOINT 及会修改请求的代理。",
)
_e(
    "ResourceInUse",
    "upstream",
    "The resource is in use: retry later; " + _SUPPORT_EN,
    "资源被占用：请稍后重试；" + _SUPPORT_ZH,
)
_e(
    "ResourceInsufficient",
    "upstream",
    "Tencent Cloud resources are insufficient: retry later; " + _SUPPORT_EN,
    "资源不足：请稍后重试；" + _SUPPORT_ZH,
)
_e(
    "ResourceNotFound",
    "upstream",
    "The resource does not exist: check SMS_SDK_APP_IDS against the application list of the SMS "
    "console and that the key belongs to the same account.",
    "资源不存在：请对照短信控制台的应用列表检查 SMS_SDK_APP_IDS，并确认密钥属于同一账号。",
)
_e(
    "ResourceUnavailable",
    "upstream",
    "The resource is unavailable: check the application's status in the SMS console; " + _SUPPORT_EN,
    "资源不可用：请在短信控制台检查应用状态；" + _SUPPORT_ZH,
)
_e(
    "ResponseSizeLimitExceeded",
    "upstream",
    "The response is too large: query a shorter window or fewer apps per call.",
    "返回包过大：请缩短查询时间范围或减少单次查询的应用数。",
)
_e(
    "ServiceUnavailable",
    "transient",
    "The SMS service is temporarily unavailable: retried automatically; check the Tencent Cloud "
    "status page if it lasts.",
    "短信服务暂时不可用：会自动重试；若持续出现请查看腾讯云服务状态。",
)
_e(
    "UnauthorizedOperation",
    "permission",
    "The operation is not authorized: grant sms:CallbackStatusStatistics (QcloudSMSReadOnlyAccess) "
    "to the function's execution role and check the SMS console's security settings.",
    "未授权操作：请为函数运行角色授予 sms:CallbackStatusStatistics（QcloudSMSReadOnlyAccess），"
    "并检查短信控制台的安全设置。",
)
_e(
    "UnknownParameter",
    "input",
    "The API does not know a parameter that was sent: remove it from the request (HTTP lookups "
    "accept app_id, begin, end, window, granularity).",
    "存在未知参数：请从请求中去掉该参数（HTTP 查询支持 app_id、begin、end、window、granularity）。",
)
_e(
    "UnsupportedOperation",
    "upstream",
    "The operation is not supported for this account or app: check the application in the SMS console; " + _SUPPORT_EN,
    "操作不支持：请在短信控制台检查该应用；" + _SUPPORT_ZH,
)
_e(
    "UnsupportedProtocol",
    "input",
    "The protocol is not supported: SMS_ENDPOINT must use https (or a plain host name).",
    "请求协议不支持：SMS_ENDPOINT 必须使用 https（或只写域名）。",
)
_e(
    "UnsupportedRegion",
    "input",
    "The region is not supported by SMS: set SMS_REGION to ap-guangzhou (or another SMS region).",
    "短信不支持该地域：请将 SMS_REGION 设为 ap-guangzhou（或其他短信支持的地域）。",
)

# ---------------------------------------------------------------------------------------------
# SMS 2021-01-11 codes: CallbackStatusStatistics first, then those of the other SMS actions.
# ---------------------------------------------------------------------------------------------
_e(
    "FailedOperation.FailResolvePacket",
    "upstream",
    "Tencent Cloud could not parse the request packet: check SMS_ENDPOINT and proxies in between, "
    "upgrade the SDK; " + _SUPPORT_EN,
    "请求包解析失败：请检查 SMS_ENDPOINT 及中间代理，并升级 SDK；" + _SUPPORT_ZH,
)
_e(
    "FailedOperation.JsonParseFail",
    "upstream",
    "JSON that could not be parsed. Answered 400 to an HTTP lookup: the request body is not a JSON "
    "object (or is nested too deep); send a flat JSON object, or use query parameters. From the SMS "
    "API (502): it could not parse the function's request; check SMS_ENDPOINT and any proxy in "
    "between, upgrade the SDK; " + _SUPPORT_EN,
    "JSON 无法解析。HTTP 查询返回 400：请求包体不是 JSON 对象（或嵌套过深），请发送扁平的 JSON 对象或改用查询参数。"
    "短信接口返回（502）：接口无法解析函数发出的请求，请检查 SMS_ENDPOINT 及中间代理并升级 SDK；" + _SUPPORT_ZH,
)
_e(
    "FailedOperation.PhoneNumberInBlacklist",
    "input",
    "The phone number is on the do-not-disturb list (unsubscribed or carrier blacklist): remove "
    "it, or ask SMS support to check it.",
    "手机号在免打扰名单中（用户退订或命中运营商黑名单）：请移除该号码或联系短信技术支持核实。",
)
_e(
    "FailedOperation.TemplateIdNotExist",
    "input",
    "The template ID does not exist: check it in the SMS console.",
    "模板 ID 不存在：请在短信控制台核对模板 ID。",
)
_e(
    "InternalError.OtherError",
    "upstream",
    "SMS internal error: retry later (the next scheduled run usually succeeds); " + _SUPPORT_EN,
    "短信内部错误：请稍后重试（通常下次定时执行即可恢复）；" + _SUPPORT_ZH,
)
_e(
    "InternalError.RequestTimeException",
    "clock",
    "The request time differs too much from Tencent Cloud's time (more than about 10 minutes): "
    "sync the clock of the host running the function (NTP) and retry.",
    "请求发起时间异常（与腾讯云服务器时间相差超过约 10 分钟）：请同步运行函数主机的时钟（NTP）后重试。",
)
_e(
    "InternalError.RestApiInterfaceNotExist",
    "input",
    "The REST API interface does not exist: check SMS_ENDPOINT (sms.tencentcloudapi.com) and "
    "upgrade tencentcloud-sdk-python-sms.",
    "REST API 接口不存在：请检查 SMS_ENDPOINT（sms.tencentcloudapi.com）并升级 tencentcloud-sdk-python-sms。",
)
_e(
    "InternalError.SendAndRecvFail",
    "transient",
    "Sending or receiving inside the SMS service timed out: retried automatically; check the "
    "function's network if it repeats.",
    "短信服务内部收发包超时：会自动重试；若反复出现请检查函数网络。",
)
_e(
    "InternalError.SigFieldMissing",
    "upstream",
    "The SMS backend found no Sig field in the request: upgrade the SDK and retry; " + _SUPPORT_EN,
    "短信后端请求包中缺少 Sig 字段：请升级 SDK 后重试；" + _SUPPORT_ZH,
)
_e(
    "InternalError.SigVerificationFail",
    "upstream",
    "The SMS backend could not verify the Sig: check the credentials and retry; " + _SUPPORT_EN,
    "短信后端校验 Sig 失败：请检查密钥后重试；" + _SUPPORT_ZH,
)
_e(
    "InternalError.Timeout",
    "transient",
    "The SMS service timed out: retried automatically; if it repeats, query shorter windows.",
    "短信服务超时：会自动重试；若反复出现请缩短查询时间范围。",
)
_e(
    "InternalError.UnknownError",
    "upstream",
    "Unknown SMS error: retry later; " + _SUPPORT_EN,
    "短信未知错误：请稍后重试；" + _SUPPORT_ZH,
)
_e(
    "InvalidParameterValue.BeginTimeVerifyFail",
    "input",
    "BeginTime is invalid: use yyyymmddhh (e.g. 2021050113) in REPORT_TIMEZONE, earlier than the end.",
    "BeginTime 校验失败：请使用 yyyymmddhh 格式（如 2021050113，按 REPORT_TIMEZONE），且早于结束时间。",
)
_e(
    "InvalidParameterValue.EndTimeVerifyFail",
    "input",
    "EndTime is invalid: use yyyymmddhh after the begin time; a window may span at most 366 days "
    "(7 days with hourly granularity).",
    "EndTime 校验失败：请使用晚于开始时间的 yyyymmddhh；时间范围最长 366 天（按小时粒度最长 7 天）。",
)
_e(
    "InvalidParameterValue.IncorrectPhoneNumber",
    "input",
    "The phone number format is wrong: use E.164 (+[country code][number]).",
    "手机号格式错误：请使用 E.164 格式（+国家码+号码）。",
)
_e(
    "InvalidParameterValue.LimitVerifyFail",
    "input",
    "Limit is invalid: the statistics API requires Limit = 0; omit it or send 0.",
    "Limit 校验失败：统计接口要求 Limit 为 0，请不传或传 0。",
)
_e(
    "InvalidParameterValue.OffsetVerifyFail",
    "input",
    "Offset is invalid: the statistics API requires Offset = 0; omit it or send 0.",
    "Offset 校验失败：统计接口要求 Offset 为 0，请不传或传 0。",
)
_e(
    "InvalidParameterValue.SdkAppIdNotExist",
    "input",
    "The SmsSdkAppId does not exist: check SMS_SDK_APP_IDS (and the requested app_id) against the "
    "application list of the SMS console.",
    "SmsSdkAppId 不存在：请对照短信控制台的应用列表检查 SMS_SDK_APP_IDS（及请求中的 app_id）。",
)
_e(
    "MissingParameter.EmptyPhoneNumberSet",
    "input",
    "The phone number list is empty: pass at least one number" + _SEND_ONLY_EN + ".",
    "号码列表为空：请至少传入一个号码" + _SEND_ONLY_ZH + "。",
)
_e(
    "UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny",
    "permission",
    "Individual (non-enterprise) accounts may not send marketing SMS: verify the account as an "
    "enterprise or use notification templates.",
    "个人认证用户无营销短信权限：请变更为企业认证或改用通知类模板。",
)
_e(
    "UnauthorizedOperation.RequestIpNotInWhitelist",
    "permission",
    "The request IP is not in the SMS IP whitelist: add the function's egress IP (SCF: enable a "
    "fixed public egress IP) to the SMS console's IP whitelist, or turn the check off.",
    "请求 IP 不在短信 IP 白名单中：请将函数出口 IP（SCF 可开启固定公网出口 IP）加入短信控制台的 IP 白名单，"
    "或关闭该校验。",
)
_e(
    "UnauthorizedOperation.RequestPermissionDeny",
    "permission",
    "The request has no permission: grant sms:CallbackStatusStatistics (QcloudSMSReadOnlyAccess) "
    "to the function's execution role; for HTTP lookups the app_id must be in API_ALLOWED_APP_IDS.",
    "请求没有权限：请为函数运行角色授予 sms:CallbackStatusStatistics（QcloudSMSReadOnlyAccess）；"
    "HTTP 查询的 app_id 须在 API_ALLOWED_APP_IDS 中。",
)
_e(
    "UnauthorizedOperation.SdkAppIdIsDisabled",
    "permission",
    "This SmsSdkAppId is disabled: re-enable the application in the SMS console or remove it from SMS_SDK_APP_IDS.",
    "该 SmsSdkAppId 已被禁用：请在短信控制台重新启用该应用，或将其从 SMS_SDK_APP_IDS 中移除。",
)
_e(
    "UnauthorizedOperation.ServiceSuspendDueToArrears",
    "billing",
    "The account is in arrears and SMS is suspended: top up the account in the Billing Center.",
    "账号欠费，短信服务已停止：请前往费用中心充值缴清欠款。",
)
_e(
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
    "permission",
    "The SmsSdkAppId does not belong to the account of the credentials: check SMS_SDK_APP_IDS and "
    "that the execution role / API key is in the same Tencent Cloud account.",
    "SmsSdkAppId 校验失败：请检查 SMS_SDK_APP_IDS，并确认运行角色/API 密钥与应用属于同一腾讯云账号。",
)

# Other SMS 2021-01-11 codes (sending, templates, signatures, quotas).
_e(
    "FailedOperation.ContainSensitiveWord",
    "input",
    "The SMS content contains sensitive words: change the content" + _SEND_ONLY_EN + ".",
    "短信内容含有敏感词：请修改内容" + _SEND_ONLY_ZH + "。",
)
_e(
    "FailedOperation.ForbidAddMarketingTemplates",
    "permission",
    "Individual accounts may not create marketing templates: verify the account as an enterprise.",
    "个人用户不能申请营销短信模板：请变更为企业认证。",
)
_e(
    "FailedOperation.InsufficientBalanceInSmsPackage",
    "billing",
    "The SMS package balance is exhausted: buy an SMS package in the SMS console.",
    "短信套餐包余量不足：请在短信控制台购买套餐包。",
)
_e(
    "FailedOperation.MarketingSendTimeConstraint",
    "input",
    "Marketing SMS may only be sent between 08:00 and 22:00: reschedule the sending.",
    "营销短信只允许在 8 点到 22 点发送：请调整发送时间。",
)
_e(
    "FailedOperation.MissingSignature",
    "input",
    "No approved signature yet: create a signature in the SMS console before the template.",
    "尚未申请签名：请先在短信控制台创建签名，再申请模板。",
)
_e(
    "FailedOperation.MissingSignatureList",
    "input",
    "The signature is not recognised: check that it is approved in the SMS console.",
    "无法识别签名：请在短信控制台确认签名已审核通过。",
)
_e(
    "FailedOperation.MissingSignatureToModify",
    "input",
    "The signature ID was never submitted or does not exist: check SignId.",
    "该签名 ID 未提交申请或不存在：请检查 SignId。",
)
_e(
    "FailedOperation.MissingTemplateList",
    "input",
    "The template is not recognised: check that it is approved in the SMS console.",
    "无法识别模板：请在短信控制台确认模板已审核通过。",
)
_e(
    "FailedOperation.MissingTemplateToModify",
    "input",
    "The template ID was never submitted or does not exist: check TemplateId.",
    "该模板 ID 未提交申请或不存在：请检查 TemplateId。",
)
_e(
    "FailedOperation.NotEnterpriseCertification",
    "permission",
    "Signature/template APIs need enterprise verification: change the account's real-name verification to enterprise.",
    "非企业认证无法使用签名及模板相关接口：请将实名认证变更为企业认证。",
)
_e(
    "FailedOperation.OtherError",
    "upstream",
    "The SMS operation failed, usually because a parameter does not meet the API's rules: check "
    "the request; " + _SUPPORT_EN,
    "短信操作失败，一般是参数不符合接口要求：请检查请求；" + _SUPPORT_ZH,
)
_e(
    "FailedOperation.ParametersOtherError",
    "input",
    "A parameter was rejected for an unspecified reason: check the request parameters; " + _SUPPORT_EN,
    "参数因未知原因被拒绝：请检查请求参数；" + _SUPPORT_ZH,
)
_e(
    "FailedOperation.PhoneNumberParseFail",
    "input",
    "The phone number could not be parsed: use E.164 (+[country code][number]).",
    "号码解析失败：请使用 E.164 格式（+国家码+号码）。",
)
_e(
    "FailedOperation.ProhibitSubAccountUse",
    "permission",
    "Only the root account may use this API: call it with the root account's key or a role of it.",
    "非主账号无法使用该功能：请使用主账号的云 API 密钥调用。",
)
_e(
    "FailedOperation.QualificationIdNotApproved",
    "input",
    "The qualification ID is not approved: check it on the SMS console's qualification page.",
    "资质 ID 未审核通过：请在短信控制台的实名资质管理页查看。",
)
_e(
    "FailedOperation.SignIdNotExist",
    "input",
    "The signature ID does not exist: check SignId in the SMS console.",
    "签名 ID 不存在：请在短信控制台核对 SignId。",
)
_e(
    "FailedOperation.SignNumberLimit",
    "upstream",
    "The maximum number of signatures is reached: delete unused signatures in the SMS console.",
    "签名个数已达上限：请在短信控制台删除不用的签名。",
)
_e(
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "input",
    "The signature is unapproved or malformed: check its approval in the SMS console (2-12 Chinese/"
    "English characters or digits).",
    "签名未审批或格式错误：请在短信控制台核查签名审批状态（2-12 个中英文或数字）。",
)
_e(
    "FailedOperation.TemplateAlreadyPassedCheck",
    "input",
    "The template is already approved and cannot be modified: create a new template instead.",
    "此模板已审核通过，无法修改：请新建模板。",
)
_e(
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "input",
    "The template is unapproved or its content does not match: check it in the SMS console.",
    "模板未审批或内容不匹配：请在短信控制台核查模板。",
)
_e(
    "FailedOperation.TemplateNumberLimit",
    "upstream",
    "The maximum number of templates is reached: delete unused templates in the SMS console.",
    "模板个数已达上限：请在短信控制台删除不用的模板。",
)
_e(
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
    "input",
    "The template parameters do not match the approved template: send as many parameters as the "
    "template has variables.",
    "模板参数与审核通过的模板不匹配：请按模板变量个数传参。",
)
_e(
    "FailedOperation.TemplateUnapprovedOrNotExist",
    "input",
    "The template is unapproved or does not exist: check it in the SMS console.",
    "模板未审批或不存在：请在短信控制台核查模板。",
)
_e(
    "InternalError.JsonParseFail",
    "upstream",
    "The SMS service failed to parse the request parameters: retry later; " + _SUPPORT_EN,
    "短信服务解析用户参数失败：请稍后重试；" + _SUPPORT_ZH,
)
_e(
    "InternalError.ParseBackendResponseFail",
    "upstream",
    "The SMS service failed to parse a carrier's response: retry later; " + _SUPPORT_EN,
    "短信服务解析运营商包体失败：请稍后重试；" + _SUPPORT_ZH,
)
_e(
    "InvalidParameter.AppidAndBizId",
    "input",
    "The account and the SmsSdkAppId do not match: check SMS_SDK_APP_IDS against the SMS console of the key's account.",
    "账号与应用 ID 不匹配：请对照密钥所属账号的短信控制台检查 SMS_SDK_APP_IDS。",
)
_e(
    "InvalidParameter.DirtyWordFound",
    "input",
    "The request contains sensitive words: change the content.",
    "请求中存在敏感词：请修改内容。",
)
_e(
    "InvalidParameter.InvalidParameters",
    "input",
    "The parameters are invalid: check the request against the API documentation.",
    "参数有误：请对照接口文档检查请求参数。",
)
_e(
    "InvalidParameterValue.ContentLengthLimit",
    "input",
    "The SMS content is too long: shorten it" + _SEND_ONLY_EN + ".",
    "短信内容过长：请缩短内容" + _SEND_ONLY_ZH + "。",
)
_e(
    "InvalidParameterValue.ImageInvalid",
    "input",
    "The uploaded image format is invalid: upload a supported image format.",
    "上传的转码图片格式错误：请上传支持的图片格式。",
)
_e(
    "InvalidParameterValue.InvalidDocumentType",
    "input",
    "DocumentType is invalid: use a value listed in the API documentation.",
    "DocumentType 校验错误：请按接口文档取值。",
)
_e(
    "InvalidParameterValue.InvalidInternational",
    "input",
    "International is invalid: use 0 (Mainland China) or 1 (international/HK/Macao/Taiwan).",
    "International 校验错误：请传 0（国内）或 1（国际/港澳台）。",
)
_e(
    "InvalidParameterValue.InvalidSignPurpose",
    "input",
    "SignPurpose is invalid: use a value listed in the API documentation.",
    "SignPurpose 校验错误：请按接口文档取值。",
)
_e(
    "InvalidParameterValue.InvalidSmsType",
    "input",
    "SmsType is invalid: use a value listed in the API documentation.",
    "SmsType 校验错误：请按接口文档取值。",
)
_e(
    "InvalidParameterValue.InvalidStartTime",
    "input",
    "The start/end time is invalid: the start must not be after the end.",
    "拉取起止时间无效：开始时间不能晚于截止时间。",
)
_e(
    "InvalidParameterValue.InvalidTemplateFormat",
    "input",
    "The template format is wrong: follow the SMS template review rules.",
    "模板格式错误：请参考正文模板审核标准。",
)
_e(
    "InvalidParameterValue.InvalidUsedMethod",
    "input",
    "UsedMethod is invalid: use a value listed in the API documentation.",
    "UsedMethod 校验错误：请按接口文档取值。",
)
_e(
    "InvalidParameterValue.MarketingTemplateWithoutUnsubscribe",
    "input",
    "Marketing templates must include an unsubscribe instruction: append it to the template.",
    "营销短信模板必须包含退订方式：请在模板尾部添加退订说明。",
)
_e(
    "InvalidParameterValue.MultiSmsInfoSetEmpty",
    "input",
    "MultiSmsInfoSet is empty: pass at least one entry" + _SEND_ONLY_EN + ".",
    "MultiSmsInfoSet 列表为空：请至少传入一项" + _SEND_ONLY_ZH + "。",
)
_e(
    "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
    "input",
    "URLs are not allowed in template variables: move the link into the approved template text.",
    "模板变量中禁止使用 URL：请将链接放入审核通过的模板正文。",
)
_e(
    "InvalidParameterValue.QualificationIdNotFound",
    "input",
    "The qualification ID was not found: check it on the SMS console's qualification page.",
    "资质 ID 未找到：请在短信控制台的实名资质管理页核对。",
)
_e(
    "InvalidParameterValue.SignAlreadyPassedCheck",
    "input",
    "The signature is already approved and cannot be modified: create a new signature instead.",
    "此签名已审核通过，无法修改：请新建签名。",
)
_e(
    "InvalidParameterValue.SignExistAndUnapproved",
    "input",
    "An identical signature is already awaiting review: wait for the review result.",
    "已存在相同的待审核签名：请等待审核结果。",
)
_e(
    "InvalidParameterValue.SignNameLengthTooLong",
    "input",
    "The signature name is too long: shorten it.",
    "签名内容过长：请缩短签名。",
)
_e(
    "InvalidParameterValue.TemplateParameterFormatError",
    "input",
    "Verification-code template variables accept only 0-6 digits: fix the parameter value.",
    "验证码模板变量只能传入 0-6 位纯数字：请修正参数值。",
)
_e(
    "InvalidParameterValue.TemplateParameterLengthLimit",
    "input",
    "A template variable is too long: shorten it to the limit shown in the SMS console.",
    "单个模板变量字符数超限：请缩短至短信控制台显示的上限以内。",
)
_e(
    "InvalidParameterValue.TemplateWithDirtyWords",
    "input",
    "The template contains sensitive words: change the template text.",
    "模板内容存在敏感词：请修改模板内容。",
)
_e(
    "InvalidParameterValue.UnsupportedTemplateVariable",
    "input",
    "Mainland notification/marketing templates may not contain variables: remove them.",
    "国内通知及营销短信模板不支持变量：请去掉变量。",
)
_e(
    "LimitExceeded.AppCountryOrRegionDailyLimit",
    "upstream",
    "The app's daily limit for this country/region is reached: raise it in the SMS console "
    "(Application > Basic configuration).",
    "该应用在此国家/地区的日发送量已达上限：请在短信控制台应用管理 > 基础配置中调整。",
)
_e(
    "LimitExceeded.AppCountryOrRegionInBlacklist",
    "upstream",
    "Sending to this country/region is blocked by the app's settings: adjust the allowed list in "
    "the SMS console (Application > Basic configuration).",
    "该国家/地区被应用的发送限制禁发：请在短信控制台应用管理 > 基础配置中调整。",
)
_e(
    "LimitExceeded.AppDailyLimit",
    "upstream",
    "The app's daily SMS limit is reached: raise it in the SMS console's frequency-limit settings.",
    "应用日发送量已达上限：请在短信控制台调整频率限制策略。",
)
_e(
    "LimitExceeded.AppGlobalDailyLimit",
    "upstream",
    "The app's daily international SMS limit is reached: raise it in the SMS console.",
    "应用国际/港澳台短信日发送量已达上限：请在短信控制台调整发送总量阈值。",
)
_e(
    "LimitExceeded.AppMainlandChinaDailyLimit",
    "upstream",
    "The app's daily Mainland China SMS limit is reached: raise it in the SMS console.",
    "应用中国大陆短信日发送量已达上限：请在短信控制台调整发送总量阈值。",
)
_e(
    "LimitExceeded.DailyLimit",
    "upstream",
    "The daily international SMS limit is reached: ask SMS support to raise it.",
    "国际/港澳台短信日发送量已达上限：如需调整请联系短信技术支持。",
)
_e(
    "LimitExceeded.DeliveryFrequencyLimit",
    "upstream",
    "A delivery frequency policy was hit: adjust the frequency-limit policy in the SMS console.",
    "命中发送频率限制策略：请在短信控制台调整频率限制策略。",
)
_e(
    "LimitExceeded.GlobalSmsSendingRateLimit",
    "upstream",
    "The international SMS sending rate limit was hit: send more slowly or ask SMS support.",
    "命中国际短信发送速率限制：请降低发送速率或联系短信技术支持。",
)
_e(
    "LimitExceeded.PhoneNumberCountLimit",
    "upstream",
    "More than 200 phone numbers in one call: split the request.",
    "单次提交的手机号超过 200 个：请拆分请求。",
)
_e(
    "LimitExceeded.PhoneNumberDailyLimit",
    "upstream",
    "The daily limit per phone number is reached: adjust the frequency-limit policy in the SMS console.",
    "单个手机号日发送量已达上限：请在短信控制台调整频率限制策略。",
)
_e(
    "LimitExceeded.PhoneNumberOneHourLimit",
    "upstream",
    "The hourly limit per phone number is reached: adjust the frequency-limit policy in the SMS console.",
    "单个手机号 1 小时内发送量已达上限：请在短信控制台调整频率限制策略。",
)
_e(
    "LimitExceeded.PhoneNumberSameContentDailyLimit",
    "upstream",
    "The same content was sent to one number too often: adjust the frequency-limit policy in the SMS console.",
    "单个手机号相同内容发送次数已达上限：请在短信控制台调整频率限制策略。",
)
_e(
    "LimitExceeded.PhoneNumberThirtySecondLimit",
    "upstream",
    "The 30-second limit per phone number is reached: adjust the frequency-limit policy in the SMS console.",
    "单个手机号 30 秒内发送量已达上限：请在短信控制台调整频率限制策略。",
)
_e(
    "UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone",
    "input",
    "A Mainland China template cannot be sent to international numbers: use an international template.",
    "国内短信模板不支持发送国际/港澳台手机号：请使用国际/港澳台模板。",
)
_e(
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
    "input",
    "One request mixes Mainland China and international numbers: send them separately.",
    "群发请求中同时包含国内与国际手机号：请分开发送。",
)
_e(
    "UnsupportedOperation.ContainDomesticPhoneNumber",
    "input",
    "This API only accepts international numbers: remove Mainland China numbers.",
    "该接口仅支持国际/港澳台号码：请去掉中国大陆号码。",
)
_e(
    "UnsupportedOperation.GlobalTemplateToChineseMainlandPhone",
    "input",
    "An international template cannot be sent to Mainland China numbers: use a Mainland template.",
    "国际/港澳台模板不支持发送国内手机号：请使用国内短信模板。",
)
_e(
    "UnsupportedOperation.UnsupportedRegion",
    "input",
    "SMS delivery to this country/region is not supported: remove those numbers.",
    "不支持向该国家/地区发送短信：请移除这些号码。",
)

# ---------------------------------------------------------------------------------------------
# Errors tencentcloud-sdk-python-common raises itself, and exception names it wraps as codes.
# ---------------------------------------------------------------------------------------------
_e(
    "ClientNetworkError",
    "transient",
    "The function could not reach the SMS API (network error): retried automatically; check the "
    "function's internet access (VPC needs a NAT gateway or public egress) and SMS_ENDPOINT.",
    "函数无法连接短信接口（网络错误）：会自动重试；请检查函数的公网访问（VPC 需 NAT 网关或公网出口）及 SMS_ENDPOINT。",
)
_e(
    "ServerNetworkError",
    "transient",
    "The SMS API answered with a non-200 HTTP status: retried automatically; check SMS_ENDPOINT "
    "and any proxy if it repeats.",
    "短信接口返回了非 200 的 HTTP 状态码：会自动重试；若反复出现请检查 SMS_ENDPOINT 及代理。",
)
_e(
    "ClientError",
    "input",
    "The SDK rejected its own configuration (signature method, endpoint, language): check SMS_ENDPOINT and SMS_REGION.",
    "SDK 配置错误（签名方法、接入点、语言等）：请检查 SMS_ENDPOINT 和 SMS_REGION。",
)
_e(
    "ClientError.MetadataError",
    "auth",
    "Role credentials could not be fetched from the instance metadata service: set "
    "TENCENTCLOUD_SECRETID/SECRETKEY or bind a role to the function.",
    "无法从元数据服务获取角色凭证：请设置 TENCENTCLOUD_SECRETID/SECRETKEY 或为函数绑定运行角色。",
)
_e(
    "ClientParamsError",
    "input",
    "The SDK found a request parameter of the wrong type: upgrade this package; report it if it persists.",
    "SDK 发现请求参数类型错误：请升级本程序包；若仍出现请反馈问题。",
)
_e(
    "ClientSideError",
    "auth",
    "No credentials were found: set TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY or give the "
    "function an execution role.",
    "未找到可用凭证：请设置 TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY 或为函数配置运行角色。",
)
_e(
    "InvalidCredential",
    "auth",
    "The credentials are empty or contain spaces: set TENCENTCLOUD_SECRETID and "
    "TENCENTCLOUD_SECRETKEY (SCF: configure the function's execution role).",
    "凭证为空或包含空格：请设置 TENCENTCLOUD_SECRETID 与 TENCENTCLOUD_SECRETKEY（SCF 请配置函数运行角色）。",
)
# ---------------------------------------------------------------------------------------------
# The product's own codes (SPEC section 5): HTTP lookups refused before any API call.
# ---------------------------------------------------------------------------------------------
_e(
    "AuthFailure.Unauthorized",
    "auth",
    "The HTTP lookup has no valid bearer token: send 'Authorization: Bearer <token>' with one of "
    "the function's API_TOKENS.",
    "HTTP 查询缺少有效的 Bearer 令牌：请在请求头携带 'Authorization: Bearer <令牌>'，令牌须在 API_TOKENS 中。",
    severity="warning",
)
_e(
    "UpstreamDataInvalid",
    "upstream",
    "The SMS API answered with something that cannot be right (not JSON, a counter missing, not a "
    "whole number or negative, more receipts than submitted messages): the numbers were not used. "
    "Check SMS_ENDPOINT and any proxy or captive portal in between; " + _SUPPORT_EN,
    "短信接口返回的内容不合理（不是 JSON、缺少计数、计数不是非负整数、回执量多于提交成功量），该结果未被采用。"
    "请检查 SMS_ENDPOINT 及中间的代理或网关；" + _SUPPORT_ZH,
)
_e(
    "NotFound",
    "input",
    "Unknown path: query a path ending in /stats (or /health).",
    "路径不存在：请访问以 /stats（或 /health）结尾的路径。",
)
_e(
    "MethodNotAllowed",
    "input",
    "Method not allowed: use GET or POST on /stats, GET on /health.",
    "不支持的请求方法：/stats 请用 GET 或 POST，/health 请用 GET。",
)


def _build() -> Mapping[str, ErrorEntry]:
    table: Dict[str, ErrorEntry] = {}
    for entry in _ENTRIES:
        if entry.code in table:  # pragma: no cover - guards the table above against copy/paste slips
            raise RuntimeError("duplicate error code in catalogue: " + entry.code)
        table[entry.code] = entry
    return MappingProxyType(table)


CATALOGUE: Mapping[str, ErrorEntry] = _build()
_BY_LOWER: Mapping[str, ErrorEntry] = MappingProxyType({k.lower(): v for k, v in CATALOGUE.items()})

# The codes CallbackStatusStatistics (2021-01-11) documents; the SDK docs spell the bare
# ``UnsupportedOperation`` as ``UnsupportedOperation.``, which ``classify`` also accepts.
CALLBACK_STATUS_STATISTICS_CODES: FrozenSet[str] = frozenset(
    {
        "FailedOperation.FailResolvePacket",
        "FailedOperation.JsonParseFail",
        "FailedOperation.PhoneNumberInBlacklist",
        "FailedOperation.TemplateIdNotExist",
        "InternalError.OtherError",
        "InternalError.RequestTimeException",
        "InternalError.RestApiInterfaceNotExist",
        "InternalError.SendAndRecvFail",
        "InternalError.SigFieldMissing",
        "InternalError.SigVerificationFail",
        "InternalError.Timeout",
        "InternalError.UnknownError",
        "InvalidParameter",
        "InvalidParameterValue.BeginTimeVerifyFail",
        "InvalidParameterValue.EndTimeVerifyFail",
        "InvalidParameterValue.IncorrectPhoneNumber",
        "InvalidParameterValue.LimitVerifyFail",
        "InvalidParameterValue.OffsetVerifyFail",
        "InvalidParameterValue.SdkAppIdNotExist",
        "MissingParameter",
        "UnauthorizedOperation.RequestIpNotInWhitelist",
        "UnauthorizedOperation.RequestPermissionDeny",
        "UnauthorizedOperation.SdkAppIdIsDisabled",
        "UnauthorizedOperation.ServiceSuspendDueToArrears",
        "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
        "UnsupportedOperation",
    }
)

COMMON_CODES: FrozenSet[str] = frozenset(
    {
        "ActionOffline",
        "AuthFailure.InvalidAuthorization",
        "AuthFailure.InvalidSecretId",
        "AuthFailure.MFAFailure",
        "AuthFailure.SecretIdNotFound",
        "AuthFailure.SignatureExpire",
        "AuthFailure.SignatureFailure",
        "AuthFailure.TokenFailure",
        "AuthFailure.UnauthorizedOperation",
        "DryRunOperation",
        "FailedOperation",
        "InternalError",
        "InvalidAction",
        "InvalidParameter",
        "InvalidParameterValue",
        "InvalidRequest",
        "IpInBlacklist",
        "IpNotInWhitelist",
        "LimitExceeded",
        "MissingParameter",
        "NoSuchProduct",
        "NoSuchVersion",
        "RequestLimitExceeded",
        "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
        "RequestLimitExceeded.IPLimitExceeded",
        "RequestLimitExceeded.UinLimitExceeded",
        "RequestSizeLimitExceeded",
        "ResourceInUse",
        "ResourceInsufficient",
        "ResourceNotFound",
        "ResourceUnavailable",
        "ResponseSizeLimitExceeded",
        "ServiceUnavailable",
        "UnauthorizedOperation",
        "UnknownParameter",
        "UnsupportedOperation",
        "UnsupportedProtocol",
        "UnsupportedRegion",
    }
)

# Product-local codes answered with their own HTTP status (SPEC section 5).
LOCAL_HTTP_STATUS: Mapping[str, int] = MappingProxyType(
    {"AuthFailure.Unauthorized": 401, "NotFound": 404, "MethodNotAllowed": 405}
)

# Input-category codes that mean the *function's* configuration is wrong (endpoint, region,
# SDK): an HTTP caller cannot fix them, so they are answered 502, not 400.
_OPERATOR_CONFIG_CODES: FrozenSet[str] = frozenset(
    {
        "ActionOffline",
        "InvalidAction",
        "InvalidRequest",
        "NoSuchProduct",
        "NoSuchVersion",
        "RequestSizeLimitExceeded",
        "UnsupportedProtocol",
        "UnsupportedRegion",
        "InternalError.RestApiInterfaceNotExist",
        "ClientError",
        "ClientParamsError",
    }
)

_GENERIC = ErrorEntry(
    code="",
    severity="warning",
    category="upstream",
    retryable=False,
    hint_en="Unrecognised error from Tencent Cloud: read the message; if it persists, contact Tencent "
    "Cloud support with the RequestId.",
    hint_zh="未识别的腾讯云错误：请查看错误信息；如持续出现，请携带 RequestId 联系腾讯云技术支持。",
)

RETRY_AFTER_RATE_LIMIT = 1
RETRY_AFTER_TRANSIENT = 5


def _normalise(code: str) -> str:
    return (code or "").strip().rstrip(".")


def _lookup(code: str) -> Optional[ErrorEntry]:
    """The catalogue entry for ``code``: exact, then case-insensitive, then longest dotted prefix."""
    key = _normalise(code)
    if not key:
        return None
    entry = CATALOGUE.get(key) or _BY_LOWER.get(key.lower())
    if entry is not None:
        return entry
    parts = key.split(".")
    for n in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:n])
        entry = CATALOGUE.get(prefix) or _BY_LOWER.get(prefix.lower())
        if entry is not None:
            return entry
    return None


def classify(code: str) -> ErrorEntry:
    """What the catalogue says about ``code``; unknown codes fall back on their prefix, then on a
    generic upstream warning. The returned entry's ``code`` is always the code asked for."""
    asked = code if isinstance(code, str) else ("" if code is None else str(code))
    entry = _lookup(asked) or _GENERIC
    return entry if entry.code == asked else replace(entry, code=asked)


def is_retryable(code: str) -> bool:
    """True only for rate-limit and transient codes: retrying anything else cannot help."""
    return classify(code).category in RETRYABLE_CATEGORIES


def http_status(code: str) -> int:
    """HTTP status of an error response (SPEC section 5): 400 caller input, 429 rate limit,
    503 transient, 502 any other upstream failure; product-local codes keep their own status."""
    local = LOCAL_HTTP_STATUS.get(_normalise(code))
    if local is not None:
        return local
    entry = _lookup(code)
    if entry is None:
        return 502
    if entry.category == "rate_limit":
        return 429
    if entry.category == "transient":
        return 503
    if entry.category == "input" and entry.code not in _OPERATOR_CONFIG_CODES:
        return 400
    return 502


def retry_after_seconds(code: str) -> Optional[int]:
    """The ``Retry-After`` value to send with a 429/503 answer, else None."""
    status = http_status(code)
    if status == 429:
        return RETRY_AFTER_RATE_LIMIT
    if status == 503:
        return RETRY_AFTER_TRANSIENT
    return None


def error_info(
    code: str,
    message: str,
    request_id: Optional[str] = None,
    lang: str = "en",
    *,
    secrets: Iterable[str] = (),
    untrusted: bool = True,
) -> ErrorInfo:
    """The error object users see, with the catalogue's verdict and a scrubbed message.

    `untrusted=False` is for the product's own messages (they never quote a configured
    value): they are only cut to length, so scrubbing cannot mangle a variable name.
    """
    entry = classify(code)
    text = scrub(message, secrets) if untrusted else _cap(str(message))
    return ErrorInfo(
        code=entry.code,
        message=text,
        request_id=request_id,
        severity=entry.severity,
        category=entry.category,
        retryable=entry.retryable,
        hint=entry.hint(lang),
    )


# ---------------------------------------------------------------------------------------------
# scrub: defence in depth against credentials in messages.
# ---------------------------------------------------------------------------------------------
MAX_MESSAGE_CHARS = 500
# Regexes run on a bounded prefix only, so a huge error body (an HTML page) stays cheap.
_SCAN_CHARS = 8 * MAX_MESSAGE_CHARS

_WORD = r"A-Za-z0-9_.\-"
_SENSITIVE_WORDS = ("token", "key", "sign", "secret", "password", "passwd", "pwd", "credential")
_PATTERNS: Tuple[Tuple[re.Pattern, str], ...] = (
    # URLs: keep scheme and host; drop userinfo, path, query and fragment, which carry keys
    # (WeCom '?key=', DingTalk '?access_token=', Slack/Feishu hook paths, '#secret=').
    (
        re.compile(
            r"(?i)(?<![a-z0-9+.\-])([a-z][a-z0-9+.\-]*://)(?:[^\s/?#@\"'<>]*@)?([^\s/?#\"'<>]+)[/?#][^\s\"'<>]*"
        ),
        r"\1\2/" + _MASK,
    ),
    # TC3 Authorization header parts.
    (re.compile(r"(?i)\b(Credential=)[^\s,;&\"']+"), r"\1" + _MASK),
    (re.compile(r"(?i)\b(Signature=)[^\s,;&\"']+"), r"\1" + _MASK),
    # Bearer / Basic tokens.
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]+"), r"\1 " + _MASK),
    # Tencent Cloud SecretIds and long hex runs (signatures, keys).
    (re.compile(r"AKID[0-9A-Za-z]{12,}"), "AKID" + _MASK),
    (re.compile(r"\b[0-9a-fA-F]{40,}\b"), _MASK),
)
# name=value, name: value, "name": "value"; the name is checked in Python (no backtracking).
_ASSIGNMENT = re.compile(r"(?<![" + _WORD + r"])([" + _WORD + r"]+)(\"?\s*[:=]\s*\"?)([^\s\"'&,;}#]+)")


def _mask_assignment(match: re.Match) -> str:
    name = match.group(1).lower()
    if any(word in name for word in _SENSITIVE_WORDS) and match.group(3) != _MASK:
        return match.group(1) + match.group(2) + _MASK
    return match.group(0)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove secrets and anything credential-like from ``text`` (someone else's: an upstream
    message, a platform's error answer) and cap it at 500 characters, so it can go to logs,
    chats and HTTP bodies safely. Secrets go through the one masking mechanism
    (``redaction.scrub_untrusted``: any part of a secret, in any form; the whole text withheld
    when a configured secret is too short to mask); then credential-looking patterns."""
    out = "" if text is None else str(text)
    # cut first, so a huge body stays cheap; the output is far shorter than the cut anyway
    out = scrub_untrusted(out[:_SCAN_CHARS], list(secrets or ()))
    for pattern, repl in _PATTERNS:
        out = pattern.sub(repl, out)
    out = _ASSIGNMENT.sub(_mask_assignment, out)
    return _cap(out)


def _cap(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


__all__ = [
    "CALLBACK_STATUS_STATISTICS_CODES",
    "CATALOGUE",
    "CATEGORIES",
    "COMMON_CODES",
    "LOCAL_HTTP_STATUS",
    "SEVERITIES",
    "Category",
    "ErrorEntry",
    "Severity",
    "classify",
    "error_info",
    "http_status",
    "is_retryable",
    "retry_after_seconds",
    "scrub",
]
