"""Triggers: cron schedules, webhooks and tenants' events that start executions."""
