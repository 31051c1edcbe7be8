"""Runnable examples of wecom_kf_async (see docs/fleet-worker.md)."""
