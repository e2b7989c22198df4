"""Organizations: search, the pipeline, create, edit, stage changes, archive, delete, export.

Every query here is workspace-scoped by the tenancy listener; nothing in this module names a
workspace. Staff-only data (research notes, owner, stage history, activities) reaches partners
and viewers neither through pages nor exports: their scope blanks those attributes on load,
and the column queries below (the export) leave them out for that scope explicitly, because
column queries load no objects for the listener to blank.
"""

from __future__ import annotations

import re
import sys
import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum
from urllib.parse import urlsplit

from sqlalchemy import Select, and_, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased, joinedload

from crm import clock
from crm.auth.models import User
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.services import cancel_for_subject, follow_ups_about
from crm.partners.models import (
    Activity,
    Contact,
    Organization,
    OrganizationKind,
    Stage,
    StageChange,
    name_key,
)
from crm.roles import JAIL_ROLES
from crm.tenancy import current_scope
from crm.web.pagination import Page
from crm.workspaces.models import Membership

NAME_MAX = 200
TEXT_MAX = 10_000
ADDRESS_MAX = 1_000
WEBSITE_MAX = 300
EMAIL_MAX = 254
PHONE_MAX = 40
NOTE_MAX = 2_000
EXPORT_MAX = 100_000
PIPELINE_CARDS = 20  # organizations shown per pipeline column; "more" links to the list

NUL_MESSAGE = "Remove the invisible NUL character from this text."
PHONE_MESSAGE = "Use digits, spaces and + - ( ) . x only, like (555) 123-4567 x12."
# Loose on purpose: people write phones in many ways; this keeps out what is not a phone.
_PHONE = re.compile(r"[0-9 +\-().xX]*")

# The courting of a partner, steps 4-7 of the tip sheet, then the life of the partnership.
# Paused and ended are set explicitly, never reached by "next".
PIPELINE = (
    Stage.IDENTIFIED,
    Stage.RESEARCHED,
    Stage.CONTACTED,
    Stage.TOURED,
    Stage.CROSS_TRAINED,
    Stage.AGREEMENT,
    Stage.ACTIVE,
)
NEXT_STAGE = dict(zip(PIPELINE, PIPELINE[1:], strict=False))
# Every stage in the order lists and the pipeline show them.
STAGE_ORDER = (*PIPELINE, Stage.PAUSED, Stage.ENDED)


def next_stage(stage: Stage) -> Stage | None:
    """The pipeline's next step after `stage`, None at its end (active, paused, ended)."""
    return NEXT_STAGE.get(stage)


class InvalidInput(ValueError):
    """Field errors of a write; each message is safe to show next to its field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class WriteRefused(ValueError):
    """A write the organization's state does not allow now; the message says why and what
    to do instead."""


class StillReferenced(WriteRefused):
    """A delete refused because other records need the organization; the message says which."""


# --- input and its checks -------------------------------------------------------------------


@dataclass
class ProfileInput:
    """What an organization says of itself: the fields its partner users may edit too."""

    mission: str = ""
    values: str = ""
    clients_served: str = ""
    website: str = ""
    email: str = ""
    phone: str = ""
    phone_alt: str = ""
    address: str = ""


PROFILE_FIELDS = tuple(ProfileInput.__dataclass_fields__)


@dataclass
class OrganizationInput(ProfileInput):
    """Everything staff and admins write; name and kind are the jail's inventory keys."""

    name: str = ""
    kind: OrganizationKind | str = ""
    stage: Stage | str = Stage.IDENTIFIED
    interests: str = ""  # research notes: staff-only
    owner: uuid.UUID | str | None = None  # public id of a staff or admin membership


def _text(errors: dict[str, str], key: str, value: str | None, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        errors[key] = f"Use at most {limit:,} characters."
    elif "\x00" in value:  # PostgreSQL refuses NUL in text: say so instead of failing
        errors[key] = NUL_MESSAGE
    return value


def _phone(errors: dict[str, str], key: str, value: str | None) -> str:
    value = " ".join((value or "").split())
    if len(value) > PHONE_MAX:
        errors[key] = f"Use at most {PHONE_MAX} characters."
    elif value and (not _PHONE.fullmatch(value) or not any(c.isdigit() for c in value)):
        errors[key] = PHONE_MESSAGE
    return value


def _website(errors: dict[str, str], value: str | None) -> str:
    """An http(s) address; "example.org" is taken as https://example.org. Anything else
    (javascript:, data:, ftp:) is refused: the page shows the address as a link."""
    value = (value or "").strip()
    if not value:
        return ""
    if "://" not in value and not value.lower().startswith(("http:", "https:")):
        head = value.split("/", 1)[0]
        if ":" not in head:  # no scheme at all: a bare host name
            value = "https://" + value
    if len(value) > WEBSITE_MAX:
        errors["website"] = f"Use at most {WEBSITE_MAX} characters."
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or "." not in parts.hostname
        or any(c.isspace() or ord(c) < 32 for c in value)
    ):
        errors["website"] = "Enter a web address starting with http:// or https://."
    return value


def _email(errors: dict[str, str], value: str | None) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    local, at, domain = value.rpartition("@")
    if (
        len(value) > EMAIL_MAX
        or not at
        or not local
        or "@" in local
        or "." not in domain.strip(".")
        or any(c.isspace() or ord(c) < 32 for c in value)
    ):
        errors["email"] = "Enter an email address like director@example.org."
    return value


def _clean_profile(data: ProfileInput, errors: dict[str, str]) -> dict:
    return {
        "mission": _text(errors, "mission", data.mission, TEXT_MAX),
        "values": _text(errors, "values", data.values, TEXT_MAX),
        "clients_served": _text(errors, "clients_served", data.clients_served, TEXT_MAX),
        "website": _website(errors, data.website),
        "email": _email(errors, data.email),
        "phone": _phone(errors, "phone", data.phone),
        "phone_alt": _phone(errors, "phone_alt", data.phone_alt),
        "address": _text(errors, "address", data.address, ADDRESS_MAX),
    }


def _clean(data: OrganizationInput) -> dict:
    errors: dict[str, str] = {}
    name = " ".join((data.name or "").split())
    if not name:
        errors["name"] = "Enter the organization's name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Use at most {NAME_MAX} characters."
    elif "\x00" in name:
        errors["name"] = NUL_MESSAGE
    try:
        kind = OrganizationKind(data.kind)
    except ValueError:
        errors["kind"] = "Choose a kind from the list."
        kind = None
    try:
        stage = Stage(data.stage)
    except ValueError:
        errors["stage"] = "Choose a stage from the list."
        stage = None
    cleaned = _clean_profile(data, errors)
    interests = _text(errors, "interests", data.interests, TEXT_MAX)
    owner = None
    if data.owner:
        owner = find_owner(data.owner)
        if owner is None:
            errors["owner"] = "Choose an owner from the list."
    if errors:
        raise InvalidInput(errors)
    cleaned.update(
        name=name, kind=kind, stage=stage, interests=interests, owner_id=owner.id if owner else None
    )
    return cleaned


def owner_choices() -> list[Membership]:
    """Staff and admins of the current workspace, who can own a relationship."""
    return list(
        db.session.execute(
            select(Membership).where(Membership.role.in_(JAIL_ROLES)).order_by(Membership.id)
        ).scalars()
    )


def find_owner(public_id: uuid.UUID | str) -> Membership | None:
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return db.session.execute(
        select(Membership).where(Membership.public_id == public_id, Membership.role.in_(JAIL_ROLES))
    ).scalar_one_or_none()


def member_name(membership: Membership | None) -> str:
    if membership is None:
        return ""
    return membership.user.name or membership.user.email


# --- finding organizations ------------------------------------------------------------------


class Sort(StrEnum):
    NAME = "name"
    STAGE = "stage"  # pipeline order, then name
    UPDATED = "updated"  # recently updated first

    @property
    def label(self) -> str:
        return {"name": "Name", "stage": "Stage", "updated": "Recently updated"}[self.value]


@dataclass(frozen=True)
class OrganizationFilter:
    """What the list, the pipeline and the export narrow to. Owner filters are for staff:
    the owner is staff-only, so views pass them only for admins and staff."""

    query: str = ""  # a name prefix, any case
    kind: OrganizationKind | None = None
    stage: Stage | None = None
    owner_id: int | None = None  # a staff or admin membership's id
    unowned: bool = False
    include_archived: bool = False
    sort: Sort = Sort.NAME

    def described(self, owner_label: str = "") -> dict:
        """The filters as the audit log records them (only those in use)."""
        shown = {
            "query": self.query,
            "kind": self.kind.value if self.kind else "",
            "stage": self.stage.value if self.stage else "",
            "owner": owner_label or ("nobody" if self.unowned else ""),
            "archived": "included" if self.include_archived else "",
            "sort": self.sort.value,
        }
        return {k: v for k, v in shown.items() if v}


def _filtered(statement: Select, filters: OrganizationFilter) -> Select:
    prefix = name_key(filters.query.replace("\x00", ""))  # no name holds NUL
    if prefix:
        # A range on the binary-collated key uses the (workspace_id, name_key) index on both
        # databases; LIKE would not on PostgreSQL without a special operator class.
        statement = statement.where(Organization.name_key >= prefix)
        upper = _after_prefix(prefix)
        if upper is not None:
            statement = statement.where(Organization.name_key < upper)
    if filters.kind is not None:
        statement = statement.where(Organization.kind == filters.kind)
    if filters.stage is not None:
        statement = statement.where(Organization.stage == filters.stage)
    if filters.owner_id is not None:
        statement = statement.where(Organization.owner_id == filters.owner_id)
    elif filters.unowned:
        statement = statement.where(Organization.owner_id.is_(None))
    if not filters.include_archived:
        statement = statement.where(Organization.archived_at.is_(None))
    return statement


def _after_prefix(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix`, in code point order
    (which is the byte order of UTF-8 that both databases' binary collations use); None when
    there is none. Skips the surrogates, which no stored text can hold."""
    stripped = prefix.rstrip(chr(sys.maxunicode))
    if not stripped:
        return None
    following = ord(stripped[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:
        following = 0xE000
    return stripped[:-1] + chr(following)


def _ordered(statement: Select, sort: Sort) -> Select:
    if sort is Sort.UPDATED:
        # (workspace_id, updated_at): read backwards
        return statement.order_by(Organization.updated_at.desc(), Organization.id.desc())
    # (workspace_id, name_key), or (workspace_id, kind|stage, name_key) with those filters
    return statement.order_by(Organization.name_key, Organization.id)


def stage_counts(filters: OrganizationFilter) -> dict[Stage, int]:
    """How many organizations each stage holds under the filters: one GROUP BY over the
    workspace's rows (a workspace-first index range; every row of it is counted)."""
    statement = _filtered(
        select(Organization.stage, func.count(Organization.id)).group_by(Organization.stage),
        filters,
    )
    return {Stage(stage): n for stage, n in db.session.execute(statement).all()}


def _stage_slices(
    filters: OrganizationFilter, slices: list[tuple[Stage, int, int]], *, with_owner: bool
) -> list[Organization]:
    """Organizations of several stages in one query: for each (stage, offset, limit) the
    names of that stage in order, each part a range of the (workspace_id, stage, name_key)
    index, stitched together in pipeline order. The loader criteria reach every part."""
    if not slices:
        return []
    parts = []
    for stage, offset, limit in slices:
        part = _filtered(
            select(Organization.id, literal(STAGE_ORDER.index(stage)).label("rank")),
            filters,
        ).where(Organization.stage == stage)
        part = part.order_by(Organization.name_key, Organization.id).offset(offset).limit(limit)
        # SQLite accepts LIMIT inside a compound only within a subquery
        parts.append(part.subquery().select())
    chosen = union_all(*parts).subquery()
    statement = (
        select(Organization)
        .join(chosen, chosen.c.id == Organization.id)
        .order_by(chosen.c.rank, Organization.name_key, Organization.id)
    )
    if with_owner:
        statement = statement.options(joinedload(Organization.owner))
    return list(db.session.execute(statement).unique().scalars())


def search_organizations(
    filters: OrganizationFilter | None = None,
    *,
    page: int = 1,
    per_page: int = 50,
    with_owner: bool = False,
) -> Page:
    """One page of the organizations matching `filters`, in the chosen order. Each order is
    an index range starting with the workspace: by name and by recent update directly; by
    stage through the stages' counts (one GROUP BY) and then one query that reads, stage by
    stage, just the slice of each stage the page shows. `with_owner` loads owners (staff)."""
    filters = filters or OrganizationFilter()
    if filters.sort is Sort.STAGE and filters.stage is None:
        rows = _stage_sorted_rows(filters, (page - 1) * per_page, per_page + 1, with_owner)
    else:
        statement = _ordered(_filtered(select(Organization), filters), filters.sort)
        if with_owner:
            statement = statement.options(joinedload(Organization.owner))
        statement = statement.limit(per_page + 1).offset((page - 1) * per_page)
        rows = list(db.session.execute(statement).unique().scalars())
    return Page(
        items=rows[:per_page], number=page, per_page=per_page, has_next=len(rows) > per_page
    )


def _stage_sorted_rows(
    filters: OrganizationFilter, offset: int, want: int, with_owner: bool
) -> list[Organization]:
    counts = stage_counts(filters)
    slices: list[tuple[Stage, int, int]] = []
    position = 0
    for stage in STAGE_ORDER:
        n = counts.get(stage, 0)
        if want <= 0:
            break
        if position + n > offset:
            start = max(0, offset - position)
            take = min(n - start, want)
            slices.append((stage, start, take))
            want -= take
        position += n
    return _stage_slices(filters, slices, with_owner=with_owner)


@dataclass
class PipelineColumn:
    stage: Stage
    count: int
    organizations: list[Organization] = field(default_factory=list)

    @property
    def next_stage(self) -> Stage | None:
        return next_stage(self.stage)

    @property
    def more(self) -> int:
        return self.count - len(self.organizations)


def pipeline(
    filters: OrganizationFilter | None = None, per_column: int = PIPELINE_CARDS
) -> list[PipelineColumn]:
    """The pipeline board: a column per stage with its count and its first organizations
    by name. Two queries whatever the number of organizations or stages: the counts, and
    the cards of every column at once."""
    # every stage is a column: a stage filter or a sort has no meaning here
    filters = replace(filters or OrganizationFilter(), stage=None, sort=Sort.NAME)
    counts = stage_counts(filters)
    slices = [(s, 0, min(counts[s], per_column)) for s in STAGE_ORDER if counts.get(s)]
    by_stage: dict[Stage, list[Organization]] = {s: [] for s in STAGE_ORDER}
    for organization in _stage_slices(filters, slices, with_owner=False):
        by_stage[organization.stage].append(organization)
    return [PipelineColumn(s, counts.get(s, 0), by_stage[s]) for s in STAGE_ORDER]


# --- one organization -----------------------------------------------------------------------


def load_organization(public_id: uuid.UUID, *, with_owner: bool = True) -> Organization | None:
    statement = select(Organization).where(Organization.public_id == public_id)
    if with_owner:
        statement = statement.options(joinedload(Organization.owner))
    return db.session.execute(statement).unique().scalar_one_or_none()


@dataclass
class StaffSections:
    """The staff-only parts of an organization's page: its stage history and the follow-ups
    about it (contacts and the outreach log come from crm/partners/outreach.py)."""

    stage_changes: list[StageChange] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    assignees: dict[int, Membership] = field(default_factory=dict)

    @property
    def open_follow_ups(self) -> list[FollowUp]:
        return [f for f in self.follow_ups if f.status in PENDING_FOLLOW_UPS]

    @property
    def closed_follow_ups(self) -> list[FollowUp]:
        return [f for f in self.follow_ups if f.status not in PENDING_FOLLOW_UPS]


PENDING_FOLLOW_UPS = (FollowUpStatus.OPEN, FollowUpStatus.SNOOZED)


def staff_sections(organization: Organization) -> StaffSections:
    """Stage history (with who moved it) and follow-ups (with their assignees) of one
    organization, in three queries however many rows each has: never one per row. Partners
    and viewers get empty sections without a query (their scope would find no rows anyway)."""
    scope = current_scope()
    if scope is None or scope.hide_staff_only:
        return StaffSections()
    sections = StaffSections()
    sections.stage_changes = list(
        db.session.execute(
            select(StageChange)
            .where(StageChange.organization_id == organization.id)
            .order_by(StageChange.changed_at.desc(), StageChange.id.desc())
            .options(joinedload(StageChange.changed_by))
        )
        .unique()
        .scalars()
    )
    sections.follow_ups = follow_ups_about("organization", organization.public_id)
    wanted = {f.assignee_id for f in sections.follow_ups}
    if wanted:  # every assignee at once, not one query per follow-up
        sections.assignees = {
            m.id: m
            for m in db.session.execute(select(Membership).where(Membership.id.in_(wanted)))
            .unique()
            .scalars()
        }
    return sections


# --- writes ---------------------------------------------------------------------------------


def _check_mover(by: Membership | None) -> None:
    if by is not None and by.role not in JAIL_ROLES:
        raise InvalidInput({"stage": "Only staff and admins move organizations in the pipeline."})


def create_organization(data: OrganizationInput, by: Membership | None = None) -> Organization:
    """A new organization and the first line of its stage history (who added it, at which
    stage). `by` is None only for the system (imports, the demo)."""
    cleaned = _clean(data)
    _check_mover(by)
    organization = Organization(**cleaned)
    db.session.add(organization)
    db.session.flush()
    db.session.add(
        StageChange(
            organization_id=organization.id,
            from_stage=None,
            to_stage=organization.stage,
            changed_at=clock.now(),
            changed_by_id=by.id if by else None,
        )
    )
    db.session.flush()
    return organization


def update_organization(
    organization: Organization, data: OrganizationInput, by: Membership | None = None
) -> Organization:
    """Staff and admins' edit of everything; a new stage goes through `change_stage`."""
    cleaned = _clean(data)
    stage = cleaned.pop("stage")
    for key, value in cleaned.items():
        setattr(organization, key, value)
    if stage is not organization.stage:
        try:
            change_stage(organization, stage, by)
        except WriteRefused as refused:  # archived: the form marks the stage field
            raise InvalidInput({"stage": str(refused)}) from None
    db.session.flush()
    return organization


def update_profile(organization: Organization, data: ProfileInput) -> Organization:
    """A partner's edit of their organization's profile: only the fields of `ProfileInput`,
    never name, kind, stage, owner or research notes."""
    errors: dict[str, str] = {}
    cleaned = _clean_profile(data, errors)
    if errors:
        raise InvalidInput(errors)
    for key in PROFILE_FIELDS:
        setattr(organization, key, cleaned[key])
    db.session.flush()
    return organization


def change_stage(
    organization: Organization,
    to_stage: Stage | str,
    by: Membership | None,
    note: str = "",
    *,
    expected_from: Stage | str | None = None,
) -> StageChange:
    """Move the organization to `to_stage` and write down from where, when and by whom.

    `expected_from` is the stage the person saw: if someone else moved the organization
    meanwhile, nothing happens (a double click, or two tabs, never move it twice)."""
    errors: dict[str, str] = {}
    try:
        to_stage = Stage(to_stage)
    except ValueError:
        errors["stage"] = "Choose a stage from the list."
    note = _text(errors, "note", note, NOTE_MAX)
    if errors:
        raise InvalidInput(errors)
    _check_mover(by)
    if organization.archived_at is not None:
        raise WriteRefused(f"{organization.name} is archived: restore it first.")
    if expected_from is not None and str(expected_from) != organization.stage.value:
        raise WriteRefused(
            f"{organization.name} was moved to {organization.stage.label} meanwhile; "
            "nothing was changed."
        )
    if to_stage is organization.stage:
        raise WriteRefused(f"{organization.name} is already {to_stage.label}.")
    change = StageChange(
        organization_id=organization.id,
        from_stage=organization.stage,
        to_stage=to_stage,
        changed_at=clock.now(),
        changed_by_id=by.id if by else None,
        note=note,
    )
    organization.stage = to_stage
    db.session.add(change)
    db.session.flush()
    return change


def advance_stage(organization: Organization, by: Membership | None, note: str = "") -> StageChange:
    """One step along the pipeline: identified -> researched -> ... -> active."""
    following = next_stage(organization.stage)
    if following is None:
        raise WriteRefused(
            f"{organization.name} is {organization.stage.label}: "
            "it has no next stage in the pipeline."
        )
    return change_stage(organization, following, by, note, expected_from=organization.stage)


def archive_organization(organization: Organization) -> int:
    """Take the organization out of lists and the pipeline, keeping its history; cancels
    its open follow-ups. Returns how many were cancelled."""
    if organization.archived_at is not None:
        return 0
    organization.archived_at = clock.now()
    db.session.flush()
    return cancel_for_subject("organization", organization.public_id)


def restore_organization(organization: Organization) -> None:
    """Back in lists and the pipeline. Follow-ups cancelled by the archive stay cancelled."""
    organization.archived_at = None
    db.session.flush()


@dataclass(frozen=True)
class Attached:
    contacts: int
    activities: int
    partner_users: int

    def __bool__(self) -> bool:
        return bool(self.contacts or self.activities or self.partner_users)

    def described(self) -> str:
        parts = [
            _plural(self.contacts, "contact"),
            _plural(self.activities, "activity", "activities"),
            _plural(self.partner_users, "partner user"),
        ]
        parts = [p for p in parts if p]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _plural(n: int, one: str, many: str | None = None) -> str:
    if not n:
        return ""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def attached_to(organization: Organization) -> Attached:
    """What keeps an organization from being deleted: one query."""
    statement = select(
        select(func.count(Contact.id))
        .where(Contact.organization_id == organization.id)
        .scalar_subquery(),
        select(func.count(Activity.id))
        .where(Activity.organization_id == organization.id)
        .scalar_subquery(),
        select(func.count(Membership.id))
        .where(Membership.organization_id == organization.id)
        .scalar_subquery(),
    )
    contacts, activities, partner_users = db.session.execute(statement).one()
    return Attached(contacts, activities, partner_users)


def delete_organization(organization: Organization) -> None:
    """Only an organization nothing refers to yet (a mistake, a duplicate) is deleted, with
    its stage history; any other is archived instead. Its follow-ups are cancelled first."""
    attached = attached_to(organization)
    if attached:
        raise StillReferenced(
            f"{organization.name} cannot be deleted: it has {attached.described()}. "
            "Archive it instead: it leaves the lists and keeps its history."
        )
    cancel_for_subject("organization", organization.public_id)
    db.session.delete(organization)
    db.session.flush()


# --- export ---------------------------------------------------------------------------------

EXPORT_COLUMNS = ("Name", "Kind", "Stage", "Website", "Email", "Phone", "Address")
STAFF_EXPORT_COLUMNS = ("Owner", "Research notes")
EXPORT_BATCH = 1_000


def export_columns() -> tuple[str, ...]:
    """The export's header for the current scope: staff-only columns only for admins and
    staff (a scope that hides staff-only fields never gets them, whatever a view asks)."""
    scope = current_scope()
    if scope is None or scope.hide_staff_only:
        return EXPORT_COLUMNS
    return EXPORT_COLUMNS + STAFF_EXPORT_COLUMNS


def count_for_export(filters: OrganizationFilter, limit: int = EXPORT_MAX) -> int:
    """How many rows the export will hold, counting no further than `limit` + 1."""
    capped = _filtered(select(Organization.id), filters).limit(limit + 1).subquery()
    return db.session.execute(select(func.count()).select_from(capped)).scalar_one()


@dataclass(frozen=True)
class ExportCursor:
    """Where the next batch of an export starts: which part (a stage, when sorted by stage),
    after which row (its sort key and id), and how many rows the cap still allows."""

    part: int = 0
    after: tuple | None = None
    left: int = EXPORT_MAX


def _export_parts(filters: OrganizationFilter) -> list[OrganizationFilter]:
    if filters.sort is Sort.STAGE and filters.stage is None:
        # stage by stage in pipeline order, each an index range in name order
        return [replace(filters, stage=s, sort=Sort.NAME) for s in STAGE_ORDER]
    return [replace(filters, sort=Sort.NAME if filters.sort is Sort.STAGE else filters.sort)]


def export_batch(
    filters: OrganizationFilter, cursor: ExportCursor | None = None, size: int = EXPORT_BATCH
) -> tuple[list[tuple], ExportCursor | None]:
    """The next rows of the export (as `export_columns()`), in the list's order, and the
    cursor of the batch after them (None when done, or at the cap of EXPORT_MAX rows).

    Keyset pagination, each batch an index range after the last row sent: a batch is a short
    query of its own, so the download never holds a transaction (nor, on SQLite, a read
    snapshot) open while it crawls to a slow client. Rows changed during a long export may
    be left out or appear in their new place, as in any list read page by page."""
    cursor = cursor or ExportCursor()
    staff = len(export_columns()) > len(EXPORT_COLUMNS)
    parts = _export_parts(filters)
    owner = aliased(Membership)
    columns = [
        Organization.name,
        Organization.kind,
        Organization.stage,
        Organization.website,
        Organization.email,
        Organization.phone,
        Organization.address,
        Organization.name_key,
        Organization.updated_at,
        Organization.id,
    ]
    if staff:  # column queries load no objects: nothing would blank these for other scopes
        columns += [User.name, User.email, Organization.interests]
    rows: list[tuple] = []
    part, after, left = cursor.part, cursor.after, cursor.left
    while part < len(parts) and left > 0 and len(rows) < size:
        chosen = parts[part]
        statement = _ordered(_filtered(select(*columns), chosen), chosen.sort)
        if staff:
            statement = statement.outerjoin(owner, owner.id == Organization.owner_id).outerjoin(
                User, User.id == owner.user_id
            )
        if after is not None:
            statement = statement.where(_after_row(chosen.sort, after))
        wanted = min(size - len(rows), left)
        found = db.session.execute(statement.limit(wanted)).all()
        for row in found:
            cells = (row.name, row.kind.label, row.stage.label, *row[3:7])
            if staff:
                cells += (row[10] or row[11] or "", row[12])
            rows.append(cells)
        left -= len(found)
        if len(found) == wanted and found:
            last = found[-1]
            after = (last.updated_at if chosen.sort is Sort.UPDATED else last.name_key, last.id)
        else:  # this part is done: on to the next stage, if any
            part, after = part + 1, None
    done = part >= len(parts) or left <= 0
    return rows, None if done else ExportCursor(part, after, left)


def _after_row(sort: Sort, after: tuple):
    """Rows after (`key`, `id`) in the order of `sort`, written so the index range shows:
    key >= last AND (key > last OR id > last id)."""
    key, last_id = after
    if sort is Sort.UPDATED:  # newest first
        column = Organization.updated_at
        return and_(column <= key, or_(column < key, Organization.id < last_id))
    column = Organization.name_key
    return and_(column >= key, or_(column > key, Organization.id > last_id))
