"""State: the store, the alert lifecycle, silences, idempotent runs and the settled cache.

Without `STATE_URL` none of this loads and the function is stateless (docs/state.md).
Import what you need from its modules: `flow.open_state(settings)` gives a `store.GuardedStore`
(or None) that opens the back end on first use and goes stateless on its first failure;
`alerts.current_alerts` and `alerts.active_silences` feed the dashboard; `cache.SettledCache`
wraps a stats fetcher. The Redis back end speaks RESP itself (`resp.py`), so no client library
ships in the deployment zip.
"""
