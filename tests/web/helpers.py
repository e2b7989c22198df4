"""Helpers of the web walks: the URL of every rule that answers a method, with its arguments
filled, and the security headers every response must carry.

Record arguments (`<uuid:model_id>`) take the world's record of workspace A, as the route walk
(tests/test_route_walk.py) does; other arguments (a reset secret, an invitation token) take a
value that names nothing, which their views answer with a page of their own.
"""

from __future__ import annotations

import re
import uuid

from flask import Flask, url_for
from werkzeug.routing import IntegerConverter, Rule

from tests.test_route_walk import models_by_arg, record_args
from tests.world import World

STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static"})
PLACEHOLDER = "no-such-link"


def is_static(rule: Rule) -> bool:
    return rule.endpoint in STATIC_ENDPOINTS or rule.endpoint.endswith(".static")


def rule_urls(app: Flask, world: World, method: str) -> list[tuple[Rule, str]]:
    """(rule, url) for every non-static rule that accepts `method`."""
    with app.app_context():
        models = models_by_arg()
    found = []
    for rule in app.url_map.iter_rules():
        if method not in rule.methods or is_static(rule):
            continue
        records = record_args(rule)
        values: dict[str, object] = {}
        for name, converter in rule._converters.items():
            if name in records:
                values[name] = world.a.own.get(models.get(name), uuid.uuid4())
            elif isinstance(converter, IntegerConverter):
                values[name] = 1
            else:
                values[name] = PLACEHOLDER
        with app.test_request_context():
            found.append((rule, url_for(rule.endpoint, **values)))
    return found


CSP_DIRECTIVES = {
    "default-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "form-action": {"'self'"},
}
# Not "no-referrer": over HTTPS, Flask-WTF refuses a form whose Referer is not this site.
REFERRER_POLICIES = {"same-origin", "strict-origin-when-cross-origin"}
STATIC_FILES = ["/static/inreach.css", "/bootstrap/static/css/bootstrap.min.css"]
# What a CSP without 'unsafe-inline' blocks: style attributes, inline scripts, event handlers.
INLINE = re.compile(
    r"<[^>]*\sstyle\s*=|<script(?![^>]*\ssrc=)[^>]*>|<[^>]*\son[a-z]+\s*=|javascript:", re.I
)


def csp(response) -> dict[str, set[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = set(words[1:])
    return directives


def header_problems(label: str, response) -> list[str]:
    problems = []
    directives = csp(response)
    for name, sources in CSP_DIRECTIVES.items():
        if directives.get(name) != sources:
            problems.append(f"{label}: CSP {name} is {directives.get(name)}")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{label}: no X-Content-Type-Options: nosniff")
    if response.headers.get("Referrer-Policy") not in REFERRER_POLICIES:
        problems.append(f"{label}: Referrer-Policy {response.headers.get('Referrer-Policy')}")
    if response.headers.get("X-Frame-Options") != "DENY":
        problems.append(f"{label}: X-Frame-Options {response.headers.get('X-Frame-Options')}")
    if "Strict-Transport-Security" in response.headers:
        problems.append(f"{label}: HSTS outside production")
    return problems


def no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")
