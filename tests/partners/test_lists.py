"""Finding organizations: owner and archive filters, the three sorts page by page, the
pipeline's columns, and the export's batches. Services only; the pages are in test_views.py,
test_pipeline.py and test_export.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from crm import clock
from crm.extensions import db
from crm.partners.models import Organization, OrganizationKind, Stage
from crm.partners.services import (
    EXPORT_COLUMNS,
    STAFF_EXPORT_COLUMNS,
    STAGE_ORDER,
    ExportCursor,
    OrganizationFilter,
    OrganizationInput,
    Sort,
    archive_organization,
    create_organization,
    export_batch,
    export_columns,
    pipeline,
    search_organizations,
    stage_counts,
)
from crm.tenancy import workspace_context
from crm.workspaces.models import Membership

WORLD = {"A Other Org Y": Stage.IDENTIFIED, "A Partner Org X": Stage.ACTIVE}


def add(name: str, stage=Stage.IDENTIFIED, kind=OrganizationKind.CIVIC, **extra) -> Organization:
    return create_organization(OrganizationInput(name=name, kind=kind, stage=stage, **extra))


def search(*, page: int = 1, per_page: int = 50, **filters):
    return search_organizations(OrganizationFilter(**filters), page=page, per_page=per_page)


def names(page) -> list[str]:
    return [o.name for o in page.items]


def all_pages(per_page: int, **filters) -> list[list[str]]:
    pages, number = [], 1
    while True:
        page = search(page=number, per_page=per_page, **filters)
        pages.append(names(page))
        if not page.has_next:
            return pages
        number += 1


def membership_id(public_id) -> int:
    return db.session.execute(
        select(Membership.id).where(Membership.public_id == public_id)
    ).scalar_one()


# --- filters --------------------------------------------------------------------------------


def test_owner_filters_mine_and_nobody(app, world):
    with app.app_context(), workspace_context(world.a.id):
        staff, admin = world.a.staff.membership_public_id, world.a.admin.membership_public_id
        add("Owned By Staff", owner=staff)
        add("Owned By Admin", owner=admin)
        assert names(search(owner_id=membership_id(staff))) == ["Owned By Staff"]
        assert names(search(owner_id=membership_id(admin))) == ["Owned By Admin"]
        assert names(search(unowned=True)) == sorted(WORLD)


def test_archived_organizations_leave_the_list_unless_asked_for(app, world):
    with app.app_context(), workspace_context(world.a.id):
        archive_organization(add("Gone Quiet"))
        assert "Gone Quiet" not in names(search())
        assert "Gone Quiet" in names(search(include_archived=True))
        assert names(search(query="gone", include_archived=True)) == ["Gone Quiet"]


# --- the three orders, page by page ---------------------------------------------------------


def test_sorted_by_stage_follows_the_pipeline_across_pages(app, world):
    """Pipeline order, not alphabetical (which would put "active" first), names within each
    stage; a page may span stages, and no organization is lost or repeated between pages."""
    with app.app_context(), workspace_context(world.a.id):
        for stage, count in (
            (Stage.RESEARCHED, 3),
            (Stage.TOURED, 1),
            (Stage.PAUSED, 2),
            (Stage.AGREEMENT, 4),
        ):
            for n in range(count):
                add(f"{stage.value} {n}", stage=stage)
        expected = [
            "A Other Org Y",
            "researched 0",
            "researched 1",
            "researched 2",
            "toured 0",
            "agreement 0",
            "agreement 1",
            "agreement 2",
            "agreement 3",
            "A Partner Org X",
            "paused 0",
            "paused 1",
        ]
        for per_page in (1, 2, 3, 5, 12, 50):
            pages = all_pages(per_page, sort=Sort.STAGE)
            assert [n for p in pages for n in p] == expected, per_page
            assert all(len(p) == per_page for p in pages[:-1])
        assert names(search(sort=Sort.STAGE, kind=OrganizationKind.FAITH_BASED)) == [
            "A Other Org Y"
        ]
        # a page past the end is empty, not an error
        assert names(search(sort=Sort.STAGE, page=9, per_page=5)) == []


def test_sorted_by_stage_with_a_stage_filter_is_by_name(app, world):
    with app.app_context(), workspace_context(world.a.id):
        add("b toured", stage=Stage.TOURED)
        add("a toured", stage=Stage.TOURED)
        assert names(search(sort=Sort.STAGE, stage=Stage.TOURED)) == ["a toured", "b toured"]


def test_sorted_by_recent_update_newest_first(app, world):
    with app.app_context(), workspace_context(world.a.id):
        made = [add(f"Updated {n}") for n in range(4)]
        ids = [o.id for o in made]
        base = clock.now()
        for n, organization_id in enumerate(ids):
            db.session.execute(
                update(Organization)
                .where(Organization.id == organization_id)
                .values(updated_at=base.replace(year=base.year + 1, microsecond=n))
            )
        db.session.expire_all()
        pages = all_pages(2, sort=Sort.UPDATED, query="updated")
        assert pages == [["Updated 3", "Updated 2"], ["Updated 1", "Updated 0"]]


def test_stage_counts_follow_the_filters(app, world):
    with app.app_context(), workspace_context(world.a.id):
        add("Counted", stage=Stage.TOURED, kind=OrganizationKind.FAITH_BASED)
        archive_organization(add("Archived Count", stage=Stage.TOURED))
        assert stage_counts(OrganizationFilter()) == {
            Stage.IDENTIFIED: 1,
            Stage.ACTIVE: 1,
            Stage.TOURED: 1,
        }
        assert stage_counts(OrganizationFilter(include_archived=True))[Stage.TOURED] == 2
        assert stage_counts(OrganizationFilter(kind=OrganizationKind.FAITH_BASED)) == {
            Stage.IDENTIFIED: 1,
            Stage.TOURED: 1,
        }


# --- the pipeline ---------------------------------------------------------------------------


def test_the_pipeline_has_a_column_per_stage_with_counts_and_the_first_cards(app, world):
    with app.app_context(), workspace_context(world.a.id):
        for n in range(25):
            add(f"Researched {n:02d}", stage=Stage.RESEARCHED)
        archive_organization(add("Archived Researched", stage=Stage.RESEARCHED))
        columns = pipeline(OrganizationFilter(), per_column=20)
        assert [c.stage for c in columns] == list(STAGE_ORDER)
        by_stage = {c.stage: c for c in columns}
        researched = by_stage[Stage.RESEARCHED]
        assert researched.count == 25 and researched.more == 5
        assert [o.name for o in researched.organizations] == [
            f"Researched {n:02d}" for n in range(20)
        ]
        assert researched.next_stage is Stage.CONTACTED
        assert [o.name for o in by_stage[Stage.IDENTIFIED].organizations] == ["A Other Org Y"]
        assert by_stage[Stage.ACTIVE].next_stage is None
        assert by_stage[Stage.TOURED].count == 0 and by_stage[Stage.TOURED].organizations == []
        with_archived = pipeline(OrganizationFilter(include_archived=True))
        assert {c.stage: c.count for c in with_archived}[Stage.RESEARCHED] == 26


def test_the_pipeline_ignores_a_stage_filter_and_keeps_the_others(app, world):
    with app.app_context(), workspace_context(world.a.id):
        add("Faith Contacted", stage=Stage.CONTACTED, kind=OrganizationKind.FAITH_BASED)
        columns = pipeline(
            OrganizationFilter(stage=Stage.ACTIVE, kind=OrganizationKind.FAITH_BASED)
        )
        shown = {c.stage: [o.name for o in c.organizations] for c in columns if c.count}
        assert shown == {Stage.IDENTIFIED: ["A Other Org Y"], Stage.CONTACTED: ["Faith Contacted"]}


def test_the_pipeline_never_shows_another_workspace(app, world):
    with app.app_context(), workspace_context(world.b.id):
        add("B Only", stage=Stage.TOURED)
    with app.app_context(), workspace_context(world.a.id):
        columns = pipeline()
        shown = [o.name for c in columns for o in c.organizations]
        assert sorted(shown) == sorted(WORLD)


# --- the export's batches -------------------------------------------------------------------


def export_all(filters: OrganizationFilter, size: int, limit: int | None = None) -> list[tuple]:
    rows, cursor = export_batch(filters, ExportCursor(left=limit) if limit else None, size)
    batches = 1
    while cursor is not None:
        more, cursor = export_batch(filters, cursor, size)
        rows += more
        batches += 1
        assert batches < 100
    return rows


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1_000])
@pytest.mark.parametrize("sort", list(Sort))
def test_the_export_reads_every_row_once_in_the_lists_order(app, world, size, sort):
    with app.app_context(), workspace_context(world.a.id):
        for n, stage in enumerate([Stage.TOURED, Stage.RESEARCHED, Stage.TOURED, Stage.ENDED]):
            add(f"Export {n}", stage=stage)
        add("Export 1", stage=Stage.RESEARCHED)  # same name twice: the id breaks the tie
        filters = OrganizationFilter(sort=sort)
        listed = [o.name for o in search(sort=sort, per_page=100).items]
        exported = [row[0] for row in export_all(filters, size)]
        assert exported == listed
        assert len(exported) == 7


def test_the_export_stops_at_its_cap(app, world):
    with app.app_context(), workspace_context(world.a.id):
        for n in range(5):
            add(f"Capped {n}")
        rows = export_all(OrganizationFilter(query="capped"), size=2, limit=3)
        assert [r[0] for r in rows] == ["Capped 0", "Capped 1", "Capped 2"]


def test_staff_export_columns_and_values(app, world):
    with app.app_context(), workspace_context(world.a.id):
        add(
            "Full Row",
            stage=Stage.TOURED,
            kind=OrganizationKind.WOMENS_HEALTH,
            website="https://full.example",
            email="a@full.example",
            phone="555 0100",
            address="1 Main St",
            interests="Notes",
            owner=world.a.staff.membership_public_id,
        )
        assert export_columns() == EXPORT_COLUMNS + STAFF_EXPORT_COLUMNS
        rows, cursor = export_batch(OrganizationFilter(query="full row"))
        assert cursor is None
        assert rows == [
            (
                "Full Row",
                "Women's health",
                "Toured",
                "https://full.example",
                "a@full.example",
                "555 0100",
                "1 Main St",
                "Staff a",
                "Notes",
            )
        ]


@pytest.mark.parametrize("role", ["viewer", "partner"])
def test_a_scope_without_staff_fields_never_gets_staff_columns(app, world, role):
    organization_id = world.a.org_x_id if role == "partner" else None
    with (
        app.app_context(),
        workspace_context(world.a.id, organization_id=organization_id, hide_staff_only=True),
    ):
        assert export_columns() == EXPORT_COLUMNS
        rows, _ = export_batch(OrganizationFilter())
        assert all(len(row) == len(EXPORT_COLUMNS) for row in rows)
        assert not any("Secret notes" in cell for row in rows for cell in row)
        expected = ["A Partner Org X"] if role == "partner" else sorted(WORLD)
        assert [row[0] for row in rows] == expected
