"""`flowmaestro triggers`: list, create, pause, resume and delete a user's triggers, and
publish an event into the user's namespace, through the gateway's API (triggers live in
its database, so this command speaks HTTP).

The gateway is `--gateway`, else `FLOWMAESTRO_GATEWAY_URL`, else the running stack's. The
user is `FLOWMAESTRO_TOKEN` (a bearer token), else `FLOWMAESTRO_EMAIL` and
`FLOWMAESTRO_PASSWORD` (signed in for this command).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, TextIO

from flowmaestro.cli.commands import CommandError
from flowmaestro.runtime.service import stack_value

__all__ = ["add_parser", "triggers"]


def add_parser(sub: Any) -> None:
    """The `triggers` command and its subcommands."""
    parser = sub.add_parser("triggers", help="cron schedules, webhooks and event triggers")
    parser.add_argument(
        "--gateway", help="gateway URL (default: FLOWMAESTRO_GATEWAY_URL or the stack's)"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="triggers with their next fire and last fire")
    listing.add_argument("--workflow", help="only this workflow's")
    create = actions.add_parser("create", help="a new trigger of a workflow")
    create.add_argument("workflow_id")
    create.add_argument("--name", required=True)
    kind = create.add_mutually_exclusive_group(required=True)
    kind.add_argument("--cron", help="a cron expression (5 fields, or 6 with seconds first)")
    kind.add_argument("--webhook", action="store_true", help="a webhook URL")
    kind.add_argument("--event", metavar="SUBJECT", help="a subject in your event namespace")
    create.add_argument("--timezone", default="UTC", help="the cron's IANA time zone")
    create.add_argument("--missed", choices=("skip", "run_once"), default="skip")
    create.add_argument("--sync", action="store_true", help="the webhook answers the outputs")
    create.add_argument("--secret", help="the webhook's HMAC-SHA256 secret")
    create.add_argument("--input", action="append", default=[], metavar="KEY=JSON")
    create.add_argument("--inputs", type=Path, metavar="FILE", help="JSON object of inputs")
    create.add_argument("--paused", action="store_true")
    for action in ("pause", "resume", "delete"):
        actions.add_parser(action, help=f"{action} a trigger").add_argument("trigger_id")
    publish = actions.add_parser(
        "publish", help="publish an event into your namespace (starts matching event triggers)"
    )
    publish.add_argument("subject", help="a subject in your event namespace, e.g. orders.created")
    publish.add_argument("--input", action="append", default=[], metavar="KEY=JSON")
    publish.add_argument("--inputs", type=Path, metavar="FILE", help="JSON object: the event")


class _Api:
    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())["data"]
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read())["error"]
                message = f"{error['code']}: {error['message']}"
                if error.get("details"):
                    message += f" {json.dumps(error['details'])}"
            except (ValueError, KeyError, TypeError):
                message = f"HTTP {exc.code}"
            raise CommandError(message, exit_code=1) from None
        except urllib.error.URLError as exc:
            raise CommandError(f"the gateway at {self.base} is unreachable: {exc.reason}") from None


def _signed_in(base: str) -> _Api:
    token = os.environ.get("FLOWMAESTRO_TOKEN")
    if token:
        return _Api(base, token)
    email, password = os.environ.get("FLOWMAESTRO_EMAIL"), os.environ.get("FLOWMAESTRO_PASSWORD")
    if not (email and password):
        raise CommandError(
            "set FLOWMAESTRO_TOKEN, or FLOWMAESTRO_EMAIL and FLOWMAESTRO_PASSWORD, to act as a user"
        )
    signed = _Api(base).call("POST", "/api/auth/login", {"email": email, "password": password})
    return _Api(base, signed["token"])


def _inputs(pairs: list[str], inputs_file: Path | None) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    if inputs_file is not None:
        loaded = json.loads(inputs_file.read_text())
        if not isinstance(loaded, dict):
            raise CommandError("--inputs must hold a JSON object")
        inputs.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise CommandError(f"--input {pair!r}: expected KEY=VALUE")
        try:
            inputs[key] = json.loads(raw)
        except ValueError:
            inputs[key] = raw  # a bare word is a string
    return inputs


def _what(trigger: dict[str, Any]) -> str:
    if trigger["kind"] == "schedule":
        return f"{trigger['schedule']['cron']} ({trigger['schedule']['timezone']})"
    if trigger["kind"] == "webhook":
        return trigger["webhook"]["url"]
    return trigger["event"]["filter"]


def _print_list(items: list[dict[str, Any]], out: TextIO) -> None:
    print(
        f"{'id':32}  {'kind':8}  {'state':6}  {'name':20}  what / next fire / last fire", file=out
    )
    for t in items:
        state = "paused" if t["paused"] else "active"
        nxt = t["next_fires"][0] if t["next_fires"] else "-"
        last = t["last_fires"][0] if t["last_fires"] else None
        fired = f"{last['fired_at']} {last['outcome']}" if last else "-"
        line = f"{t['id']:32}  {t['kind']:8}  {state:6}  {t['name'][:20]:20}  {_what(t)}"
        print(f"{line}  next {nxt}  last {fired}", file=out)


def triggers(args: argparse.Namespace, to: TextIO | None = None) -> int:
    """Run one `triggers` subcommand; 0 on success, 1 when the gateway refuses."""
    out = to or sys.stdout
    base = stack_value("gateway_url", "FLOWMAESTRO_GATEWAY_URL", args.gateway)
    api = _signed_in(base)
    if args.action == "list":
        query = f"?workflow_id={args.workflow}" if args.workflow else ""
        _print_list(api.call("GET", f"/api/triggers{query}")["triggers"], out)
        return 0
    if args.action == "create":
        body: dict[str, Any] = {
            "workflow_id": args.workflow_id,
            "name": args.name,
            "inputs": _inputs(args.input, args.inputs),
            "paused": args.paused,
        }
        if args.cron:
            body["kind"] = "schedule"
            body["schedule"] = {"cron": args.cron, "timezone": args.timezone, "missed": args.missed}
        elif args.webhook:
            body["kind"] = "webhook"
            body["webhook"] = {"mode": "sync" if args.sync else "async"}
            if args.secret:
                body["webhook"]["secret"] = args.secret
        else:
            body["kind"] = "event"
            body["event"] = {"subject": args.event}
        made = api.call("POST", "/api/triggers", body)
        print(made["id"], file=out)
        if made["kind"] == "webhook":
            print(f"{base.rstrip('/')}{made['webhook']['url']}", file=out)
        for moment in made["next_fires"][:3]:
            print(f"next: {moment}", file=out)
        return 0
    if args.action == "publish":
        event = _inputs(args.input, args.inputs)
        sent = api.call("POST", f"/api/events/{urllib.parse.quote(args.subject, safe='')}", event)
        print(f"published {sent['subject']} #{sent['sequence']}", file=out)
        return 0
    if args.action == "delete":
        api.call("DELETE", f"/api/triggers/{args.trigger_id}")
        print(f"deleted {args.trigger_id}", file=out)
        return 0
    changed = api.call("POST", f"/api/triggers/{args.trigger_id}/{args.action}")
    print(f"{changed['id']} {'paused' if changed['paused'] else 'active'}", file=out)
    return 0
