"""Every product module imported before any security test draws an example.

Hypothesis also draws the literals of the loaded non-test modules (strings such as
`ap-chengdu`, numbers), and the product imports its modules lazily, as its paths run. Without
this, the examples a derandomized property test draws depend on which tests were collected or
ran before it in the same process: a test could pass alone and fail in its folder. With every
module loaded up front the pool is the same whatever runs.
"""

from __future__ import annotations

import importlib
import pkgutil

import sms_receipt_stats


def _import_every_module() -> None:
    for info in pkgutil.walk_packages(sms_receipt_stats.__path__, "sms_receipt_stats."):
        if not info.name.endswith(".__main__"):  # the CLI: running it parses sys.argv
            importlib.import_module(info.name)


_import_every_module()
