"""Notifications: where result documents go, and everything about each platform.

`delivery.deliver_all(doc, settings)` sends a document to every `NOTIFY_URLS` entry and
returns one `Delivery` per sink; `urls` parses the entries (the URL grammar), `base` is the
sink protocol and the HTTP helpers, `markup` the markup bases the chat formats refine. Each
platform (its hosts, options, limit, markup and sinks) is one module of `notify.platforms`.
This package file imports nothing: `config` imports `notify.urls`, and a job that never notifies
(an HTTP lookup) must not pay for `delivery` and its thread pool.
"""
