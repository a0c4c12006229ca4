"""Receipts pushed by Tencent Cloud SMS to the function URL (docs/http-api.md, *Receipts*).

`credential.py` derives each app's callback credential from RECEIPTS_SECRET, `intake.py`
validates one pushed batch, `codes.py` (with `codes.json`) knows what each receipt status
code means. The counters live in the state store (`state/receipts.py`); the route is
`http/receipts.py`. Nothing here is imported by `import handler`.
"""
