"""Alert backtests: replay synthetic quarters (or the account's own recent data) through the
product's timer jobs and score the alerts they send (bench/README.md, "Alert quality")."""
