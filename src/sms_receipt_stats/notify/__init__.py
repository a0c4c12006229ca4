"""Sinks: where result documents go.

`delivery.deliver_all(doc, settings)` sends a document to every `NOTIFY_URLS` entry and
returns one `Delivery` per sink; `spec` parses the entries, `base` is the sink protocol and
the HTTP helpers. The sinks themselves live with their platform in `sms_receipt_stats.platforms`.
This package file imports nothing: `config` imports `sinks.spec`, and a job that never notifies
(an HTTP lookup) must not pay for `delivery` and its thread pool.
"""
