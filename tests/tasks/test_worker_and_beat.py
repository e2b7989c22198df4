"""Production's way, all real: PostgreSQL, Redis, an `inreach worker` and an `inreach beat`
process, and an SMTP server. A follow-up that fell due reaches the assignee's mailbox with
nothing but the two processes started; beat's first tick of each job comes at its start.

PostgreSQL only (deselected on SQLite); Redis from TEST_REDIS_URL (skipped without it, a
failure in CI).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm.followups.reminders import SUBJECTS
from tests.tasks.helpers import add_follow_ups, copies, key, make_teams, outbox_keys, wait_for

pytestmark = pytest.mark.postgres_only

NOW = datetime(2026, 11, 4, 10, 0, tzinfo=ZoneInfo("America/Chicago"))  # a Wednesday morning


def test_a_due_follow_up_arrives_over_smtp_with_a_worker_and_a_beat(stack, mailbox):
    team = make_teams(stack.app, ["America/Chicago"])[0]
    due, later = add_follow_ups(
        stack.app, team, [NOW - timedelta(minutes=20), NOW + timedelta(days=2)]
    )
    settings = {
        "now": NOW.isoformat(),  # the processes' clock (INREACH_NOW)
        "mail_host": "127.0.0.1",
        "mail_port": str(mailbox.port),
        "mail_starttls": "false",
        "mail_from": "Inreach <inreach@county.example>",
        "base_url": "https://inreach.county.example",
    }
    # one task at a time, in the order beat sends them: the sweep, then the outbox
    stack.workers.start("--pool=solo", "--concurrency=1", **settings)
    beat = stack.workers.start(name="beat", command="beat", **settings)

    wait_for(lambda: mailbox.received, 120, "the reminder to arrive", stack.logs)
    assert "beat: Starting" in beat.text()
    (received,) = mailbox.received
    assert received.rcpt_tos == [team.assignee_email]
    assert received.email["Subject"] == SUBJECTS[1]
    assert received.email["From"] == "Inreach <inreach@county.example>"
    body = received.email.get_content()
    assert "https://inreach.county.example/follow-ups/" in body
    assert "https://inreach.county.example/account/notifications" in body
    # decided once, for the due one only; the later one waits for its time
    assert outbox_keys(stack.app) == {key(due, 1, team.assignee_user_id): 1}
    assert later not in {int(k.split(":")[1]) for k in outbox_keys(stack.app)}
    assert copies(mailbox) == {received.message_id: 1}
