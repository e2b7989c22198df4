"""The route walk: every rule of the URL map, every method, every role, both workspaces.

No route is listed by hand. A URL argument named `<model>_id` with the uuid converter is the
public id of that model; the world (tests/world.py) holds a record of it in each workspace,
owned by the partner's organization X and by another organization Y. For each route:
- anonymous: redirected to log in;
- a role the route does not allow: 403 (and viewers are never allowed a write);
- every allowed role, with ids of workspace B (and nested ids mixing A and B): 404;
- partner users, with records of another organization: 404;
- with the user's own records, a GET answers (the walk's own control: it cannot pass by 404ing
  everything).
"""

from __future__ import annotations

import itertools
import re
import uuid

from flask import Blueprint, Flask
from sqlalchemy import select
from werkzeug.routing import UUIDConverter

from crm.extensions import db
from crm.partners.models import Organization
from crm.roles import ALL_ROLES, Role
from crm.tenancy import OrganizationOwned, OrganizationRoot, WorkspaceScoped, all_workspaces
from crm.web.access import AUTHENTICATED, PUBLIC, access_of, allow
from tests.conftest import Client, make_test_app
from tests.world import World

SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def models_by_arg() -> dict[str, type]:
    return {
        f"{snake(m.class_.__name__)}_id": m.class_
        for m in db.Model.registry.mappers
        if issubclass(m.class_, WorkspaceScoped)
    }


def record_args(rule) -> list[str]:
    return [name for name, conv in rule._converters.items() if isinstance(conv, UUIDConverter)]


class Walk:
    def __init__(self, app: Flask, world: World):
        self.app, self.world = app, world
        self.problems: list[str] = []
        self.requests = 0
        with app.app_context():
            self.models = models_by_arg()

    def client(self, member=None) -> Client:
        client = Client(self.app)
        return client.login(member) if member else client

    def request(self, client: Client, method: str, url: str):
        self.requests += 1
        if method == "GET":
            return client.get(url)
        return (
            client.post(url, {})
            if method == "POST"
            else client.http.open(url, method=method, data={"csrf_token": client.csrf()})
        )

    def expect(self, label, response, *codes, location=None):
        ok = response.status_code in codes
        if ok and location:
            ok = location in (response.location or "")
        if not ok:
            self.problems.append(f"{label}: expected {codes}, got {response.status_code}")

    def url(self, rule, values) -> str:
        with self.app.test_request_context():
            from flask import url_for

            return url_for(rule.endpoint, **values)

    def values(self, rule, side_for_arg: dict[str, object], which: str = "own") -> dict:
        values = {}
        for arg in rule.arguments:
            if arg not in record_args(rule):
                self.problems.append(f"{rule.rule}: the walk cannot fill <{arg}>")
                continue
            model = self.models.get(arg)
            if model is None:
                self.problems.append(f"{rule.rule}: <{arg}> names no workspace model")
                continue
            side = side_for_arg.get(arg, self.world.a)
            records = getattr(side, which)
            if model not in records:
                self.problems.append(f"{rule.rule}: tests/world.py has no {model.__name__} record")
                continue
            values[arg] = records[model]
        return values

    def organization_args(self, rule) -> list[str]:
        """Arguments naming records that belong to one organization (partners see their own)."""
        return [
            arg
            for arg in record_args(rule)
            if issubclass(self.models.get(arg, object), (OrganizationOwned, OrganizationRoot))
        ]

    def run(self) -> list[str]:
        world = self.world
        for rule in self.app.url_map.iter_rules():
            access = access_of(self.app, rule.endpoint)
            if access == PUBLIC:
                continue
            methods = sorted(rule.methods - SKIPPED_METHODS)
            args = record_args(rule)
            own = self.values(rule, {})
            if len(own) != len(rule.arguments):
                continue
            own_url = self.url(rule, own)
            allowed = ALL_ROLES if access == AUTHENTICATED else access

            anonymous = self.client()
            for method in methods:
                self.expect(
                    f"anonymous {method} {rule.rule}",
                    self.request(anonymous, method, own_url),
                    302,
                    location="/login",
                )

            for role in sorted(ALL_ROLES - allowed):
                client = self.client(world.a.members[role])
                for method in methods:
                    self.expect(
                        f"{role} {method} {rule.rule}", self.request(client, method, own_url), 403
                    )
            if Role.VIEWER in allowed and access != AUTHENTICATED and set(methods) - {"GET"}:
                self.problems.append(f"{rule.rule}: a write route allows viewers")

            for role in sorted(allowed):
                client = self.client(world.a.members[role])
                for method in methods:
                    # every non-empty choice of arguments taken from workspace B
                    for count in range(1, len(args) + 1):
                        for foreign in itertools.combinations(args, count):
                            values = self.values(rule, {arg: world.b for arg in foreign})
                            self.expect(
                                f"{role} {method} {rule.rule} with B's {foreign}",
                                self.request(client, method, self.url(rule, values)),
                                404,
                            )
                    if role is Role.PARTNER and self.organization_args(rule):
                        values = self.values(rule, {}, which="other_org")
                        self.expect(
                            f"partner {method} {rule.rule} of another organization",
                            self.request(client, method, self.url(rule, values)),
                            404,
                        )
                    missing = {arg: uuid.uuid4() for arg in args}
                    if args:
                        self.expect(
                            f"{role} {method} {rule.rule} unknown id",
                            self.request(client, method, self.url(rule, missing)),
                            404,
                        )
                if "GET" in methods:
                    response = self.request(client, "GET", own_url)
                    self.expect(f"{role} GET {rule.rule} own record", response, 200, 302)
        return self.problems


def test_every_route_is_scoped_and_guarded(app, world):
    walk = Walk(app, world)
    assert walk.run() == []
    assert walk.requests > 50  # the walk really walked


def test_the_walk_catches_an_unscoped_route(app, world):
    """A route that looks a record up outside the tenancy mechanism fails the walk."""
    leaky = Blueprint("leaky", __name__)

    @leaky.get("/leaky/<uuid:organization_id>")
    @allow(*ALL_ROLES)
    def show(organization_id):
        with all_workspaces():  # what no view may do: it sees every workspace
            organization = db.session.execute(
                select(Organization).where(Organization.public_id == organization_id)
            ).scalar_one_or_none()
            return organization.name if organization else ("none", 404)

    bad_app = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"])
    bad_app.register_blueprint(leaky)
    problems = Walk(bad_app, world).run()
    assert any("/leaky/" in p and "with B's" in p for p in problems), problems
    assert any("/leaky/" in p and "another organization" in p for p in problems), problems
    assert not any("/partners/" in p for p in problems), problems
