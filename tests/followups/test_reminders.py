"""Three-stage reminders: when each stage falls due, and that each is decided once."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from crm import clock
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.reminders import Settings, stage_times, sweep
from crm.messaging.models import Message
from crm.partners.models import Organization
from crm.roles import Role
from crm.tenancy import all_workspaces, workspace_context
from crm.workspaces.models import Membership

CHICAGO = ZoneInfo("America/Chicago")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


def test_journey_7_friday_tuesday_thursday():
    """Due Friday 09:00: reminded Friday, again Tuesday, escalated Thursday (2 and 4 working
    days overdue), each at 09:00 local."""
    times = stage_times(local(2026, 11, 6, 9, 0), "America/Chicago", Settings())
    assert [t.astimezone(CHICAGO) for t in times.values()] == [
        local(2026, 11, 6, 9, 0),
        local(2026, 11, 10, 9, 0),
        local(2026, 11, 12, 9, 0),
    ]


def test_reminders_wait_for_working_hours():
    settings = Settings(start_hour=8, end_hour=17)
    saturday = stage_times(local(2026, 11, 7, 10, 0), "America/Chicago", settings)
    assert saturday[1].astimezone(CHICAGO) == local(2026, 11, 9, 8, 0)  # Monday morning
    evening = stage_times(local(2026, 11, 4, 19, 30), "America/Chicago", settings)
    assert evening[1].astimezone(CHICAGO) == local(2026, 11, 5, 8, 0)
    early = stage_times(local(2026, 11, 4, 6, 0), "America/Chicago", settings)
    assert early[1].astimezone(CHICAGO) == local(2026, 11, 4, 8, 0)


@pytest.mark.parametrize(
    ("due", "utc_hours"),
    [
        (local(2026, 3, 6, 9, 0), [15, 14, 14]),  # Friday before spring-forward (Sun 8 Mar)
        (local(2026, 10, 30, 9, 0), [14, 15, 15]),  # Friday before fall-back (Sun 1 Nov)
    ],
)
def test_daylight_saving_keeps_09_00_local(due, utc_hours):
    times = stage_times(due, "America/Chicago", Settings())
    assert [t.astimezone(CHICAGO).hour for t in times.values()] == [9, 9, 9]
    assert [t.hour for t in times.values()] == utc_hours


def _make(app, world, due_at, assignee=None, **extra) -> int:
    with app.app_context(), workspace_context(world.a.id):
        member = assignee or world.a.staff
        membership_id = db.session.execute(
            select(Membership.id).where(Membership.public_id == member.membership_public_id)
        ).scalar_one()
        follow_up = FollowUp(
            subject_kind="organization",
            subject_id=world.a.own[Organization],
            title="Monthly check-in with the parenting program",
            assignee_id=membership_id,
            due_at=due_at,
            timezone="America/Chicago",
            **extra,
        )
        db.session.add(follow_up)
        db.session.commit()
        return follow_up.id


def _messages(app, follow_up_id) -> list[tuple[str, str]]:
    with app.app_context(), all_workspaces():
        rows = db.session.execute(
            select(Message.idempotency_key, Message.recipient)
            .where(Message.idempotency_key.like(f"followup:{follow_up_id}:%"))
            .order_by(Message.id)
        ).all()
    return [tuple(r) for r in rows]


def _sweep(app, now):
    with app.app_context():
        return sweep(now)


def test_each_stage_is_decided_once_however_often_the_sweep_runs(app, world):
    due = local(2026, 11, 6, 9, 0)
    follow_up_id = _make(app, world, due)
    for now in (due - timedelta(minutes=5), due, due + timedelta(minutes=5), due):
        _sweep(app, now)
    assert _messages(app, follow_up_id) == [
        (f"followup:{follow_up_id}:r1:s1:{world.a.staff.user_id}", world.a.staff.email)
    ]
    tuesday, thursday = local(2026, 11, 10, 9, 0), local(2026, 11, 12, 9, 1)
    _sweep(app, tuesday)
    _sweep(app, tuesday)
    _sweep(app, thursday)
    _sweep(app, thursday + timedelta(days=7))
    keys = [key for key, _ in _messages(app, follow_up_id)]
    staff_id, admin_id = world.a.staff.user_id, world.a.admin.user_id
    assert keys == [
        f"followup:{follow_up_id}:r1:s1:{staff_id}",
        f"followup:{follow_up_id}:r1:s2:{staff_id}",
        f"followup:{follow_up_id}:r1:s3:{admin_id}",  # the workspace's other admin(s)
    ]


def test_escalation_goes_to_every_other_admin_and_never_the_assignee(app, world):
    with app.app_context(), workspace_context(world.a.id):
        membership = db.session.execute(
            select(Membership).where(Membership.public_id == world.a.viewer.membership_public_id)
        ).scalar_one()
        membership.role = Role.ADMIN  # a second admin
        db.session.commit()
    follow_up_id = _make(app, world, local(2026, 11, 6, 9, 0), assignee=world.a.admin)
    _sweep(app, local(2026, 11, 20, 9, 0))  # long overdue: only the latest stage goes out
    recipients = sorted(r for _, r in _messages(app, follow_up_id))
    assert recipients == [world.a.viewer.email]


def test_a_follow_up_found_late_sends_one_message_not_three(app, world):
    follow_up_id = _make(app, world, local(2026, 11, 6, 9, 0))
    _sweep(app, local(2026, 11, 11, 9, 0))  # past stage 2, before stage 3
    assert [k.split(":")[3] for k, _ in _messages(app, follow_up_id)] == ["s2"]


def test_done_and_cancelled_follow_ups_are_left_alone(app, world):
    done = _make(
        app,
        world,
        local(2026, 11, 6, 9, 0),
        status=FollowUpStatus.DONE,
        completed_at=datetime(2026, 11, 5, tzinfo=UTC),
    )
    cancelled = _make(app, world, local(2026, 11, 6, 9, 0), status=FollowUpStatus.CANCELLED)
    _sweep(app, local(2026, 11, 20, 9, 0))
    assert _messages(app, done) == [] and _messages(app, cancelled) == []


def test_a_reassignment_starts_a_new_round_for_the_new_assignee(app, world):
    follow_up_id = _make(app, world, local(2026, 11, 6, 9, 0))
    _sweep(app, local(2026, 11, 6, 9, 0))
    with app.app_context(), workspace_context(world.a.id):
        follow_up = db.session.get(FollowUp, follow_up_id)
        follow_up.assignee_id = db.session.execute(
            select(Membership.id).where(Membership.public_id == world.a.admin.membership_public_id)
        ).scalar_one()
        db.session.commit()
    _sweep(app, local(2026, 11, 6, 10, 0))
    assert [k for k, _ in _messages(app, follow_up_id)] == [
        f"followup:{follow_up_id}:r1:s1:{world.a.staff.user_id}",
        f"followup:{follow_up_id}:r2:s1:{world.a.admin.user_id}",
    ]


def test_a_sweep_never_mixes_workspaces(app, world):
    """B's follow-up reminds B's people; a message of A never names B's records."""
    due = local(2026, 11, 6, 9, 0)
    a_id = _make(app, world, due)
    with app.app_context(), workspace_context(world.b.id):
        b_staff = db.session.execute(
            select(Membership.id).where(Membership.public_id == world.b.staff.membership_public_id)
        ).scalar_one()
        db.session.add(
            FollowUp(
                subject_kind="organization",
                subject_id=world.b.own[Organization],
                title="B's task",
                assignee_id=b_staff,
                due_at=due,
                timezone="America/New_York",
            )
        )
        db.session.commit()
    _sweep(app, due + timedelta(hours=2))
    with app.app_context(), all_workspaces():
        messages = (
            db.session.execute(select(Message).where(Message.kind == "followup_stage_1"))
            .scalars()
            .all()
        )
        by_workspace = {m.workspace_id: m for m in messages}
    assert by_workspace[world.a.id].recipient == world.a.staff.email
    assert by_workspace[world.b.id].recipient == world.b.staff.email
    assert "B's task" not in by_workspace[world.a.id].body
    assert _messages(app, a_id)


def test_a_task_for_workspace_a_cannot_touch_b(app, world):
    from crm.followups.reminders import decide_follow_up
    from crm.tenancy import NoWorkspaceError
    from tasks.jobs import in_workspace

    b_follow_up = world.b.own[FollowUp]
    with app.app_context():
        with pytest.raises(LookupError):
            in_workspace(world.a.id, decide_follow_up, b_follow_up, clock.now())
        with pytest.raises(NoWorkspaceError):
            decide_follow_up(b_follow_up, clock.now())
        with pytest.raises(TypeError):
            in_workspace(None, decide_follow_up, b_follow_up, clock.now())


def test_the_sweep_uses_the_next_stage_index(app):
    query = (
        "SELECT id FROM follow_ups WHERE next_stage_at <= '2026-01-01' "
        "AND status IN ('open', 'snoozed') ORDER BY next_stage_at LIMIT 500"
    )
    with app.app_context(), all_workspaces():
        if db.engine.dialect.name == "sqlite":
            plan = db.session.execute(text(f"EXPLAIN QUERY PLAN {query}")).all()
        else:  # a small test table would be scanned: ask what the index would do
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
            db.session.execute(text("SET LOCAL enable_sort = off"))
            plan = db.session.execute(text(f"EXPLAIN {query}")).all()
        db.session.rollback()
    assert any("ix_follow_ups_next_stage_at" in str(row) for row in plan), plan


def test_a_snoozed_follow_up_is_left_alone_until_its_snooze_ends(app, world):
    follow_up_id = _make(app, world, local(2026, 11, 6, 9, 0))
    _sweep(app, local(2026, 11, 6, 9, 5))
    with app.app_context(), workspace_context(world.a.id):
        follow_up = db.session.get(FollowUp, follow_up_id)
        follow_up.status = FollowUpStatus.SNOOZED
        follow_up.due_at = local(2026, 11, 9, 9, 0)  # snoozed to Monday
        db.session.commit()
    _sweep(app, local(2026, 11, 6, 15, 0))
    _sweep(app, local(2026, 11, 8, 12, 0))
    assert len(_messages(app, follow_up_id)) == 1  # nothing while snoozed
    _sweep(app, local(2026, 11, 9, 9, 1))
    keys = [k for k, _ in _messages(app, follow_up_id)]
    assert keys[1:] == [f"followup:{follow_up_id}:r3:s1:{world.a.staff.user_id}"]
    with app.app_context(), workspace_context(world.a.id):
        assert db.session.get(FollowUp, follow_up_id).status is FollowUpStatus.OPEN


# --- the sweep's batch: messages queued together, plans moved on together --------------------


def _queue_before(app, world, follow_up_id) -> str:
    """A stage 1 message of the follow-up, queued before the sweep runs."""
    from crm.messaging.services import queue_message

    key = f"followup:{follow_up_id}:r1:s1:{world.a.staff.user_id}"
    with app.app_context(), workspace_context(world.a.id):
        queue_message(
            kind="followup_stage_1",
            idempotency_key=key,
            recipient=world.a.staff.email,
            recipient_user_id=world.a.staff.user_id,
            subject="A follow-up is due",
            body="queued before the sweep",
        )
        db.session.commit()
    return key


def _outcome(app, world, ids) -> tuple[list, list]:
    """Each follow-up's messages (key, body) and (next stage, next stage at)."""
    with app.app_context(), all_workspaces():
        messages = [
            [
                tuple(row)
                for row in db.session.execute(
                    select(Message.idempotency_key, Message.body)
                    .where(Message.idempotency_key.like(f"followup:{i}:%"))
                    .order_by(Message.id)
                )
            ]
            for i in ids
        ]
        plans = [
            tuple(
                db.session.execute(
                    select(FollowUp.next_stage, FollowUp.next_stage_at).where(FollowUp.id == i)
                ).one()
            )
            for i in ids
        ]
    return messages, plans


def test_a_message_queued_before_the_sweep_is_not_queued_again(app, world):
    due = local(2026, 11, 6, 9, 0)
    first, second = _make(app, world, due), _make(app, world, due)
    key = _queue_before(app, world, first)
    result = _sweep(app, due + timedelta(minutes=5))
    assert result.decided == 2
    messages, plans = _outcome(app, world, [first, second])
    assert messages[0] == [(key, "queued before the sweep")]  # the first decision stands
    assert [k for k, _ in messages[1]] == [f"followup:{second}:r1:s1:{world.a.staff.user_id}"]
    tuesday = stage_times(due, "America/Chicago", Settings())[2]
    assert plans == [(2, tuesday), (2, tuesday)]


def test_a_key_queued_after_the_lookup_sends_the_batch_one_message_at_a_time(
    app, world, monkeypatch
):
    """Another transaction queues a key between the batch's lookup and its flush (made here by
    a lookup that finds nothing): the unique index refuses the flush, the batch's savepoint is
    rolled back and the batch written again message by message; nothing is sent twice or lost."""
    import crm.messaging.services as services

    due = local(2026, 11, 6, 9, 0)
    first, second = _make(app, world, due), _make(app, world, due)
    key = _queue_before(app, world, first)
    monkeypatch.setattr(services, "existing_messages", lambda keys: {})
    result = _sweep(app, due + timedelta(minutes=5))
    assert (result.decided, result.messages) == (2, 2)
    messages, plans = _outcome(app, world, [first, second])
    assert messages[0] == [(key, "queued before the sweep")]
    assert [k for k, _ in messages[1]] == [f"followup:{second}:r1:s1:{world.a.staff.user_id}"]
    assert [stage for stage, _ in plans] == [2, 2]


def test_deciding_one_follow_up_moves_the_plan_of_the_object_held(app, world):
    from crm.followups.reminders import decide_follow_up

    due = local(2026, 11, 6, 9, 0)
    follow_up_id = _make(app, world, due)
    with app.app_context(), workspace_context(world.a.id):
        held = db.session.get(FollowUp, follow_up_id)
        assert held.next_stage == 1
        outcome = decide_follow_up(held.public_id, due + timedelta(minutes=5))
        assert outcome == "1 reminder stage(s) decided, 1 message(s) queued"
        assert (held.next_stage, held.next_stage_at) == (
            2,
            stage_times(due, "America/Chicago", Settings())[2],
        )
        db.session.commit()
    assert [k for k, _ in _messages(app, follow_up_id)] == [
        f"followup:{follow_up_id}:r1:s1:{world.a.staff.user_id}"
    ]
