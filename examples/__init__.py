"""Runnable examples of wecom_kf_async (see examples/README.md and docs/recipes/)."""
