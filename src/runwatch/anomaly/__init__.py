"""Anomaly detection: streaming statistics on what each workload does, per window."""

from runwatch.anomaly.rates import RateAnomalyDetector

__all__ = ["RateAnomalyDetector"]
