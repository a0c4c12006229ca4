from sms_receipt_stats.dev.cli import main

raise SystemExit(main())
