"""HTTP: one route table for every HTTP event (function URL, API Gateway, TSE gateway).

    response = dispatch(raw_event, settings, deps_factory, deadline, invocation_id)

`router.py` holds the table and `dispatch`, which routes, checks the method and the token, runs
the route's handler and answers every `errors.ApiError` in one place; `params.py` parses the
query string and the JSON body (aliases, size and depth limits); `errors.py` builds every
error body. Each route is one module declaring `ROUTES` (`stats.py`, `dashboard.py`,
`silences.py`, `health.py`): a new route is one new module, found by `router.table()`.
Nothing here is imported by a timer event, and route modules load their work when they run.
"""
