"""Where the deployment files live."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "deploy" / "docker"
CHART = ROOT / "deploy" / "helm" / "flowmaestro"
SERVICES = ("gateway", "scheduler", "executors")
