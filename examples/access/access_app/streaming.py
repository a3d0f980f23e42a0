"""Streaming Access's audit events to an external system.

Access PR #360 added a plugin hook so that SIEMs, log platforms and data
lakes could receive its audit events. With Hashtrail the app does nothing
more: the tenant's log is the outbox, and a Hashtrail sink delivers every
committed event, in order, with retries, to the destination. This module
creates a Standard Webhooks sink through Hashtrail's API; the
``flask audit-stream`` command wraps it.
"""

import json
import urllib.request

import click


def add_webhook_stream(url, admin_key, tenant, webhook_url, secret, name="access-stream", filter=""):
    """Create a webhook sink on ``tenant`` and return it (Hashtrail's answer).

    ``secret`` is a ``whsec_...`` Standard Webhooks secret the receiver
    verifies signatures with; ``filter`` (search syntax) limits what is sent.
    """
    body = {"type": "webhook", "name": name, "filter": filter,
            "settings": {"url": webhook_url, "secrets": [secret]}}
    req = urllib.request.Request(
        f"{url.rstrip('/')}/v1/tenants/{tenant}/sinks", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {admin_key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def register_cli(app):
    """Add ``flask audit-stream WEBHOOK_URL --secret ... --admin-key ...``."""

    @app.cli.command("audit-stream")
    @click.argument("webhook_url")
    @click.option("--secret", required=True, help="whsec_... secret the receiver verifies with")
    @click.option("--admin-key", envvar="HASHTRAIL_ADMIN_KEY", required=True, help="the tenant's admin key")
    @click.option("--filter", "filter_", default="", help="only events matching this search")
    def audit_stream(webhook_url, secret, admin_key, filter_):
        """Stream every committed audit event to WEBHOOK_URL."""
        sink = add_webhook_stream(app.config["HASHTRAIL_URL"], admin_key, app.config["HASHTRAIL_TENANT"],
                                  webhook_url, secret, filter=filter_)
        click.echo(f"sink {sink.get('id')} created")
