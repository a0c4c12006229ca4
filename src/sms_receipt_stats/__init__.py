"""SMS delivery-receipt statistics for Tencent Cloud SCF (CallbackStatusStatistics)."""

__version__ = "0.1.0"
SCHEMA = "sms-receipt-stats/v1"
