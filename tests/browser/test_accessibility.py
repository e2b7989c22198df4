"""Accessibility of the main pages in a real browser: axe-core (the npm package pinned in
tests/browser/package.json) checks each page against WCAG 2.1 A and AA, and a serious or
critical violation fails the test. The pages show the demo (crm/demo.py) as its admin, Lt. Dana
Reyes, sees it: full lists, overdue badges, an organization with its contacts and history.
Pages still being built are checked as soon as the app routes them. The keyboard alone logs in.

axe-core is installed by `make test` (npm ci --prefix tests/browser). The page's
Content-Security-Policy allows no inline script, so axe goes in through the DevTools protocol
(`page.evaluate`), which the policy does not govern; nothing is loaded over the network.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed, NotFound

from crm.demo import HARBOR, load_demo
from crm.extensions import db
from crm.facilities.models import Facility
from crm.followups.models import FollowUp
from crm.partners.models import Organization
from crm.tenancy import all_workspaces
from tests.conftest import missing

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the browser fixture skips (or, in CI, fails) with the reason
    Page = expect = None

pytestmark = pytest.mark.browser

AXE_JS = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("critical", "serious")
NO_SUCH_RECORD = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Check:
    name: str
    path: str  # {organization}, {facility}, {follow_up}: public ids of the demo's records
    as_admin: bool = True
    submit_empty: bool = False  # the form again, after saving it empty: its errors

    def __str__(self) -> str:
        return self.name


CHECKS = [
    Check("login", "/login", as_admin=False),
    Check("forgot password", "/password/forgot", as_admin=False),
    Check("partners list", "/partners/"),
    Check("organization page", "/partners/{organization}"),
    Check("new organization form", "/partners/new"),
    Check("new organization form with errors", "/partners/new", submit_empty=True),
    Check("edit organization form", "/partners/{organization}/edit"),
    Check("members", "/workspaces/members"),
    Check("outbox", "/outbox/"),
    Check("audit log", "/audit/"),
    Check("change password", "/account/password"),
    Check("not found", f"/partners/{NO_SUCH_RECORD}"),
    Check("expired link", "/password/reset/no-such-link", as_admin=False),
    # built by others right now: checked as soon as the app routes them
    Check("facilities", "/facilities/"),
    Check("facility page", "/facilities/{facility}"),
    Check("new facility form", "/facilities/new"),
    Check("follow-ups", "/follow-ups/"),
    Check("follow-up page", "/follow-ups/{follow_up}"),
    Check(
        "new follow-up form", "/follow-ups/new?subject_kind=organization&subject_id={organization}"
    ),
    Check("pipeline", "/partners/pipeline"),
    Check("notification settings", "/account/notifications"),
]


def axe_source() -> str:
    if not AXE_JS.is_file():
        missing(
            f"axe-core is not installed ({AXE_JS} is missing): "
            "npm ci --prefix tests/browser (make test does it when npm is there)"
        )
    return AXE_JS.read_text(encoding="utf-8")


def log_in_as(page: Page, who) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(who.workspace_name)


def routed(app, path: str) -> bool:
    """The app answers GET on `path` (placeholders standing for any record)."""
    filled = urlsplit(path.format_map(defaultdict(lambda: NO_SUCH_RECORD))).path
    try:
        app.url_map.bind("localhost").match(filled, method="GET")
    except (NotFound, MethodNotAllowed):
        return False
    return True


def axe_violations(page: Page, source: str) -> list[dict]:
    # what closed <details> hold (the stage form, say) is checked too: axe skips hidden content
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    result = page.evaluate(
        """tags => axe.run(document, {
            runOnly: {type: 'tag', values: tags},
            resultTypes: ['violations'],
        })""",
        AXE_TAGS,
    )
    return result["violations"]


def unlabeled_fields(page: Page) -> list[str]:
    """Fields the browser itself finds no label for. axe trusts `<label for=id>` even when
    another element holds the same id first; the browser then labels nothing."""
    return page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')].filter(e => {
            if (['hidden', 'submit', 'button', 'reset', 'image'].includes(e.type)) return false;
            if (!e.getClientRects().length) return false;  // not rendered
            const labelledBy = (e.getAttribute('aria-labelledby') || '').split(/\\s+/)
                .filter(Boolean).map(id => document.getElementById(id)).filter(Boolean);
            return !(e.labels && e.labels.length) && !labelledBy.length
                && !(e.getAttribute('aria-label') || '').trim() && !(e.title || '').trim();
        }).map(e => e.outerHTML.slice(0, 200))"""
    )


def readable(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            target = " ".join(str(t) for t in node["target"])
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {target}\n      {node['html'][:160]}\n      {summary[:400]}")
        if len(v["nodes"]) > 8:
            lines.append(f"    ... and {len(v['nodes']) - 8} more elements")
    return "\n".join(lines)


@dataclass(frozen=True)
class Demo:
    email: str
    password: str
    workspace_name: str
    # public ids: an active partner with contacts, activities and history; the county jail;
    # one of Dana's overdue follow-ups
    records: dict[str, str]
    cookies: list  # of the admin's session, logged in once through the login page


@pytest.fixture(scope="module")
def demo(browser, live_server) -> Demo:
    """The demo loaded into the live server's database, its admin logged in through the login
    page, and a pending invitation sent through the members page (so that table shows too)."""
    with live_server.app.app_context():
        logins = load_demo()
        db.session.commit()
        with all_workspaces():
            records = {
                name: str(db.session.execute(select(model.public_id).where(where)).scalar_one())
                for name, model, where in (
                    ("organization", Organization, Organization.name == "NAMI Harbor County"),
                    ("facility", Facility, Facility.name == "Harbor County Jail"),
                    (
                        "follow_up",
                        FollowUp,
                        FollowUp.title.startswith("Call Marcus Hill"),
                    ),
                )
            }
        db.session.remove()
    admin = next(login for login in logins if login.role == "admin" and login.where == HARBOR)
    loaded = Demo(admin.email, admin.password, HARBOR, records, [])
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    try:
        log_in_as(page, loaded)
        page.goto("/workspaces/members")
        page.get_by_label("Email", exact=True).fill("new.officer@harbor.example")
        page.get_by_label("Role", exact=True).select_option(label="Staff")
        page.get_by_role("button", name="Send invitation").click()
        expect(page.get_by_role("heading", name="Invitations not yet accepted")).to_be_visible()
        loaded.cookies.extend(context.cookies())
    finally:
        context.close()
    return loaded


@pytest.mark.parametrize("check", CHECKS, ids=str)
def test_no_serious_accessibility_violation(live_server, page: Page, demo: Demo, check: Check):
    if not routed(live_server.app, check.path):
        pytest.skip(f"{check.path} is not a page of the app yet")
    source = axe_source()
    if check.as_admin:
        page.context.add_cookies(demo.cookies)
    path = check.path.format(**demo.records)
    page.goto(path)
    assert urlsplit(page.url).path == urlsplit(path).path, f"{path} led to {page.url}"
    if check.as_admin:
        expect(page.get_by_role("navigation", name="Main")).to_contain_text(demo.workspace_name)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    if check.submit_empty:
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("alert")).to_be_visible()
    violations = axe_violations(page, source)
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    if violations:
        print(f"axe on {check.name} ({page.url}):\n{readable(violations)}")
    assert not failing, f"axe on {check.name} ({page.url}):\n{readable(failing)}"
    unlabeled = unlabeled_fields(page)
    assert not unlabeled, f"fields without a label on {check.name}:\n" + "\n".join(unlabeled)


def test_the_keyboard_alone_logs_in_and_skips_to_the_content(live_server, page: Page, demo: Demo):
    """The login form fills and submits from the keyboard with a visible focus ring; on the
    next page Tab reaches the skip link first, and the skip link leads past the menu."""
    page.goto("/login")
    email = page.get_by_label("Email")
    if not email.evaluate("e => e === document.activeElement"):  # no autofocus: tab to it
        page.keyboard.press("Tab")
    expect(email).to_be_focused()
    ring = email.evaluate(
        """e => {
            const style = getComputedStyle(e);
            return style.boxShadow !== 'none'
                || (style.outlineStyle !== 'none' && style.outlineWidth !== '0px');
        }"""
    )
    assert ring, "the focused field shows no focus ring"
    page.keyboard.type(demo.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(demo.password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(demo.workspace_name)

    page.goto("/partners/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # visually hidden until focused
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('main') !== null"), (
        "after the skip link, Tab should land inside the page's main content"
    )


def test_the_check_sees_a_violation_when_there_is_one(live_server, page: Page):
    """The control: a field without a label and grey-on-grey text are caught, so the silence of
    the checks above means something; and a label whose id another element took first."""
    source = axe_source()
    page.goto("/login")
    page.evaluate(
        """() => {
            const form = document.querySelector('main form');
            const field = document.createElement('input');
            field.type = 'text';
            field.name = 'nameless';
            form.appendChild(field);
            const faint = document.createElement('p');
            faint.textContent = 'Barely readable';
            faint.className = 'text-body-tertiary bg-body-secondary';
            form.appendChild(faint);
        }"""
    )
    found = {v["id"]: v["impact"] for v in axe_violations(page, source)}
    assert found.get("label") == "critical", found
    assert found.get("color-contrast") == "serious", found
    assert unlabeled_fields(page) == ['<input type="text" name="nameless">']

    page.evaluate(
        """() => document.querySelector('main h1').insertAdjacentHTML(
            'afterend', '<span id="email">taken</span>')"""
    )
    assert len(unlabeled_fields(page)) == 2  # the Email field lost its label


def test_on_a_phone_the_pages_do_not_scroll_sideways(live_server, page: Page, demo: Demo):
    """Reflow (WCAG 1.4.10) at 320 CSS pixels on the shared pages: wide tables scroll inside
    their own box, which the keyboard can reach."""
    page.context.add_cookies(demo.cookies)
    page.set_viewport_size({"width": 320, "height": 640})
    wide, unreachable = {}, []
    for path in (
        "/partners/",
        "/partners/pipeline",
        "/follow-ups/",
        "/facilities/",
        "/workspaces/members",
        "/outbox/",
        "/audit/",
        "/account/password",
    ):
        page.goto(path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > 320:
            wide[path] = width
        # a box that scrolls sideways takes focus, or holds something that does
        unreachable += page.evaluate(
            """() => [...document.querySelectorAll('*')]
                .filter(e => e.scrollWidth > e.clientWidth + 1
                    && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
                .filter(e => e.tabIndex < 0 && !e.querySelector('a, button, input, select'))
                .map(e => location.pathname + ' ' + e.outerHTML.slice(0, 80))"""
        )
    assert wide == {}, f"pages wider than the screen: {wide}"
    assert unreachable == [], unreachable
    page.context.clear_cookies()
    page.goto("/login")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
