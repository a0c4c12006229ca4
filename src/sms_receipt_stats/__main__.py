from sms_receipt_stats.cli import main

raise SystemExit(main())
