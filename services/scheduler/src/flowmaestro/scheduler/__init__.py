"""FlowMaestro scheduler: folds execution logs and dispatches ready nodes."""

from flowmaestro.scheduler.service import Scheduler

__all__ = ["Scheduler"]
