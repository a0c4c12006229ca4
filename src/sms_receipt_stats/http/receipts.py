"""`POST .../receipts/{app_id}?token=...`: Tencent pushes delivery receipts here (docs/http-api.md, *Receipts*).

The SMS console's status-report callback of an app points at this URL
(`sms-receipt-stats receipts-url APP_ID` prints it). Tencent sends no header of ours, so the
credential is in the URL: the app's token derived from RECEIPTS_SECRET (`receipts.credential`).
Answers are Tencent's shape, `{"result": 0, "errmsg": "OK"}`, and on any refusal a non-zero
`result` (the HTTP status) with an `errmsg` naming the problem:

* no RECEIPTS_SECRET: 404, as if the route did not exist;
* a wrong or missing token: 401 (checked before anything else is said about the app);
* an app not in SMS_SDK_APP_IDS: 403;
* a body that is not a batch of receipts: 400 (413 when too large); nothing of it is counted;
* no state store, or one that cannot take the batch: 503 with Retry-After, so Tencent pushes it
  again (a batch is counted whole or not at all, and a receipt pushed twice counts once).

Once a batch is stored, the app's recent minutes are judged (`receipts/alerting.py`, at most once
a minute per app, bounded in time); whatever happens there, the answer is the stored batch's.

Neither the token nor a phone number ever appears in an answer or a log line.
"""

from __future__ import annotations

from typing import Any, Dict

from sms_receipt_stats.events import http_response
from sms_receipt_stats.http.errors import ApiError
from sms_receipt_stats.http.router import Request, Route

#: Tencent retries a push that was not answered 200; this says when a store may be back
RETRY_AFTER_SECONDS = "30"


def tencent_answer(exc: ApiError, request: Request) -> Dict[str, Any]:
    """Every refusal in the callback's own shape: `result` non-zero (the status), `errmsg` the reason."""
    return http_response(exc.status, {"result": exc.status, "errmsg": f"{exc.code}: {exc.message}"}, exc.headers)


def receive(request: Request) -> Dict[str, Any]:
    import logging

    from sms_receipt_stats.http.params import query_string, scalar
    from sms_receipt_stats.receipts.credential import TOKEN_PARAM, token_matches

    settings = request.settings
    if settings.receipts_secret is None:
        raise ApiError(404, "NotFound", "the receipts callback is off (RECEIPTS_SECRET is not set)")
    app_id = request.path_params["app_id"]
    try:
        offered = scalar(TOKEN_PARAM, query_string(request.event).get(TOKEN_PARAM), max_chars=256) or ""
    except ApiError:
        offered = ""
    if not token_matches(settings.receipts_secret.get_secret_value(), app_id, offered):
        raise ApiError(401, "AuthFailure.Unauthorized", "missing or invalid token in the callback URL")
    if app_id not in {app.app_id for app in settings.apps}:
        raise ApiError(403, "UnauthorizedOperation.RequestPermissionDeny", "the app is not in SMS_SDK_APP_IDS")

    from sms_receipt_stats.receipts.intake import IntakeError, decode_body, parse_batch

    now = request.deps.now().timestamp()
    try:
        receipts = parse_batch(decode_body(request.event.body, request.event.isBase64Encoded), now)
    except IntakeError as exc:
        code = "RequestSizeLimitExceeded" if exc.status == 413 else "InvalidParameter"
        raise ApiError(exc.status, code, str(exc)) from None

    unavailable = {"Retry-After": RETRY_AFTER_SECONDS}
    state = request.open_state()
    if state is None:
        raise ApiError(503, "UnsupportedOperation.StateNotConfigured",
                       "receipts are counted in the state store and STATE_URL is not set", unavailable)
    try:
        from sms_receipt_stats.state.receipts import count_batch

        counted = count_batch(state, app_id, receipts, now)
        problem = state.problem
        if counted is not None:  # the minute rule (docs/alerts.md, *Alerts in minutes*): never raises
            from sms_receipt_stats.receipts.alerting import judge_after_batch

            judge_after_batch(state, settings, app_id, request.deps, request.deadline)
    finally:
        state.close()
    if counted is None:
        raise ApiError(503, "ResourceUnavailable.StateStore", f"the state store did not take the batch ({problem})",
                       unavailable)
    logging.getLogger("sms_receipt_stats.http").info(
        f"receipts: {len(receipts)} received, {counted} counted, {len(receipts) - counted} already seen",
        extra={"app_id": app_id})
    return http_response(200, {"result": 0, "errmsg": "OK"})


ROUTES = (Route("receipts/{app_id}", ("POST",), receive, auth="own", error_page=tencent_answer),)
