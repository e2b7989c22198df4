"""The demo: two neighbouring county jail systems and the organizations around them.

Names are fictional. Demo passwords are random, made once, and kept in the instance folder
(readable by the machine's operator only) so `make run` can print them every time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from crm.auth.services import create_user, find_user, generate_password
from crm.extensions import db
from crm.partners.models import Organization
from crm.partners.models import OrganizationKind as K
from crm.partners.models import Stage as S
from crm.roles import Role
from crm.tenancy import workspace_context
from crm.workspaces.services import add_membership, create_workspace

HARBOR = "Harbor County Sheriff's Office"
LAKES = "Lakes County Jail"

HARBOR_ORGANIZATIONS = [
    (
        "NAMI Harbor County",
        K.MENTAL_HEALTH,
        S.ACTIVE,
        "Free peer-led education and support for people living with mental illness "
        "and their families.",
    ),
    (
        "Harbor Area AA/NA Intergroup",
        K.SUBSTANCE_USE,
        S.ACTIVE,
        "Coordinates 12-step meetings across the county, including meetings inside the jail.",
    ),
    (
        "Safe Harbor Rape Crisis Center",
        K.RAPE_CRISIS,
        S.AGREEMENT,
        "24-hour crisis line, advocacy and counseling for survivors of sexual violence.",
    ),
    (
        "Harbor Workforce Development Board",
        K.JOB_SKILLS,
        S.CONTACTED,
        "Job readiness, training vouchers and placement through the American Job Center.",
    ),
    (
        "First Methodist Prison Ministry",
        K.FAITH_BASED,
        S.ACTIVE,
        "Weekly worship and one-to-one visits; reentry mentoring after release.",
    ),
    (
        "Harbor County Probation Department",
        K.PROBATION_PAROLE,
        S.ACTIVE,
        "Supervision and case planning for people released on probation.",
    ),
    (
        "Little Steps Parenting Collective",
        K.CHILD_WELFARE,
        S.IDENTIFIED,
        "Parenting classes and supervised family visits for parents working toward reunification.",
    ),
    (
        "Bright Futures Family Services",
        K.HUMAN_SERVICES,
        S.RESEARCHED,
        "Parenting support, family linkage and help with benefits applications.",
    ),
    (
        "Harbor Women's Health Clinic",
        K.WOMENS_HEALTH,
        S.TOURED,
        "Reproductive and primary health care on a sliding fee scale.",
    ),
    (
        "New Dawn Halfway House",
        K.HALFWAY_HOUSE,
        S.CROSS_TRAINED,
        "Transitional housing for women leaving jail, with case management.",
    ),
    (
        "Peer Bridges Recovery Network",
        K.PEER_SUPPORT,
        S.CONTACTED,
        "Certified peer recovery specialists who meet people before and after release.",
    ),
    (
        "Harbor Pretrial Services",
        K.PRETRIAL,
        S.PAUSED,
        "Risk assessment and supervision alternatives before trial.",
    ),
    (
        "Literacy Volunteers of Harbor",
        K.CIVIC,
        S.ENDED,
        "One-to-one tutoring in reading, writing and GED preparation.",
    ),
    (
        "Goodwill Career Center",
        K.JOB_SKILLS,
        S.IDENTIFIED,
        "Job placement and work clothing for job seekers with records.",
    ),
    (
        "Harbor Legal Aid Society",
        K.OTHER,
        S.RESEARCHED,
        "Civil legal help with housing, custody and record expungement.",
    ),
    (
        "Community Kitchen of Harbor",
        K.HUMAN_SERVICES,
        S.IDENTIFIED,
        "Meals and groceries with no questions asked.",
    ),
]

LAKES_ORGANIZATIONS = [
    (
        "Lakes Region Mental Health Center",
        K.MENTAL_HEALTH,
        S.ACTIVE,
        "Outpatient counseling, crisis services and medication management.",
    ),
    (
        "Lakes Recovery Community",
        K.PEER_SUPPORT,
        S.CONTACTED,
        "Peer-run recovery center with meetings, coaching and a warm line.",
    ),
    (
        "Bright Futures Family Services",
        K.HUMAN_SERVICES,
        S.ACTIVE,
        "Parenting support, family linkage and help with benefits applications.",
    ),
    (
        "St. Brigid Jail Ministry",
        K.FAITH_BASED,
        S.TOURED,
        "Chaplaincy volunteers for worship, study and one-to-one visits.",
    ),
    (
        "Lakes County Probation",
        K.PROBATION_PAROLE,
        S.ACTIVE,
        "Supervision and reentry planning for people on probation.",
    ),
]


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: str
    where: str


def demo_logins_file(instance_path: str) -> Path:
    return Path(instance_path) / "demo-logins.json"


def load_demo() -> list[DemoLogin]:
    """Create the demo workspaces, organizations and users; the caller commits."""
    harbor = create_workspace(HARBOR, "America/Chicago")
    lakes = create_workspace(LAKES, "America/Chicago")
    logins: list[DemoLogin] = []

    def user(email: str, name: str) -> tuple:
        existing = find_user(email)
        if existing:
            return existing, next(x.password for x in logins if x.email == email)
        password = generate_password()
        return create_user(email, password, name=name), password

    def organizations(rows):
        made = {}
        for name, kind, stage, mission in rows:
            organization = Organization(name=name, kind=kind, stage=stage, mission=mission)
            db.session.add(organization)
            made[name] = organization
        db.session.flush()
        return made

    with workspace_context(harbor.id):
        orgs = organizations(HARBOR_ORGANIZATIONS)
        for email, name, role in [
            ("dana.reyes@harbor.example", "Lt. Dana Reyes", Role.ADMIN),
            ("sam.owens@harbor.example", "Sgt. Sam Owens", Role.STAFF),
            ("board@harbor.example", "County board member", Role.VIEWER),
        ]:
            account, password = user(email, name)
            add_membership(account, role)
            logins.append(DemoLogin(email, password, role.value, HARBOR))
        ana, password = user("ana@brightfutures.example", "Ana Flores")
        add_membership(ana, Role.PARTNER, orgs["Bright Futures Family Services"].id)
        logins.append(DemoLogin(ana.email, password, "partner", f"{HARBOR} and {LAKES}"))

    with workspace_context(lakes.id):
        orgs = organizations(LAKES_ORGANIZATIONS)
        account, password = user("chris.wells@lakes.example", "Capt. Chris Wells")
        add_membership(account, Role.ADMIN)
        logins.append(DemoLogin(account.email, password, "admin", LAKES))
        add_membership(ana, Role.PARTNER, orgs["Bright Futures Family Services"].id)
    return logins


def demo_is_loaded() -> bool:
    """The demo's workspaces are in this database (its logins file may be another's)."""
    from crm.workspaces.services import find_workspace, slugify

    return all(find_workspace(slugify(name)) for name in (HARBOR, LAKES))


def save_logins(instance_path: str, logins: list[DemoLogin]) -> None:
    path = demo_logins_file(instance_path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump([login.__dict__ for login in logins], handle, indent=2)


def read_logins(instance_path: str) -> list[DemoLogin]:
    path = demo_logins_file(instance_path)
    if not path.exists():
        return []
    return [DemoLogin(**row) for row in json.loads(path.read_text())]
