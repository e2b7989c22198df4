"""Log in and out, passwords (change, forgotten, reset) and accepting an invitation."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from crm.audit.context import request_actor, set_actor
from crm.auth.forms import (
    AcceptExistingAccountForm,
    AcceptNewAccountForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
)
from crm.auth.services import (
    AccountError,
    authenticate,
    change_password,
    create_user,
    end_sessions,
    find_reset_token,
    find_user,
    record_login_attempt,
    request_password_reset,
    reset_password,
)
from crm.extensions import db, limiter
from crm.tenancy import workspace_context
from crm.web.access import authenticated, end_this_session, public, session_expired, start_session
from crm.workspaces.services import (
    WorkspaceError,
    accept_invitation,
    memberships_of,
    open_invitation,
    usable_invitation,
)

bp = Blueprint("auth", __name__)

LOGIN_FAILED = (
    "The email or password is not right. After 5 failed attempts in a row, "
    "an account is locked for 10 minutes."
)
RESET_SENT = (
    "If an account uses this email, we sent it a link to choose a new password. "
    "The link works once, for an hour."
)


def _client() -> dict:
    return {"ip": request.remote_addr or "", "user_agent": request.user_agent.string or ""}


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("home")


def _rate_limited(_limit) -> None:
    record_login_attempt(request.form.get("email", ""), None, "rate_limited", **_client())
    db.session.commit()


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    lambda: current_app.config["LOGIN_FAILURE_LIMIT"],
    methods=["POST"],
    deduct_when=lambda response: response.status_code == 401,
    on_breach=_rate_limited,
)
def login():
    if current_user.is_authenticated:
        if not session_expired():
            return redirect(url_for("home"))
        end_this_session()
    form = LoginForm()
    if form.validate_on_submit():
        result = authenticate(form.email.data, form.password.data, **_client())
        memberships = memberships_of(result.user.id) if result.succeeded else []
        if memberships:
            workspace_id = memberships[0].workspace_id
            db.session.commit()
            start_session(result.user, workspace_id)
            return redirect(_safe_next(request.args.get("next")))
        db.session.commit()  # the attempt, the failure count and any lock are kept
        form.password.data = ""
        if result.succeeded:
            flash(
                "Your account belongs to no workspace any more. Ask your administrator.", "warning"
            )
        else:
            flash(LOGIN_FAILED, "danger")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form), (422 if form.errors else 200)


@bp.post("/logout")
@authenticated
def logout():
    end_sessions(current_user)
    db.session.commit()
    end_this_session()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@authenticated
def password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current.data, form.password.data)
        except AccountError as error:
            db.session.rollback()
            field = form.current if "current" in str(error) else form.password
            field.errors = [str(error)]
        else:
            workspace_id = g.membership.workspace_id
            user = current_user._get_current_object()
            db.session.commit()
            start_session(user, workspace_id)  # this session goes on; every other one ended
            flash("Your password was changed. Other sessions were logged out.", "success")
            return redirect(url_for("home"))
    return render_template("auth/password.html", form=form), (422 if form.errors else 200)


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit("5 per minute;30 per hour", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data, current_app.config["BASE_URL"])
        db.session.commit()
        flash(RESET_SENT, "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form), (422 if form.errors else 200)


@bp.route("/password/reset/<secret>", methods=["GET", "POST"])
@public
def reset(secret: str):
    if find_reset_token(secret) is None:
        return render_template("auth/link_expired.html", what="reset"), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            reset_password(secret, form.password.data)
        except AccountError as error:
            db.session.rollback()
            form.password.errors = [str(error)]
        else:
            db.session.commit()
            end_this_session()
            flash("Your password was changed. Log in with it now.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), (422 if form.errors else 200)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@public
def accept(token: str):
    opened = open_invitation(token, current_app.config["SECRET_KEY"])
    if opened is None:
        return render_template("auth/link_expired.html", what="invitation"), 404
    workspace_id, public_id, secret = opened
    with workspace_context(workspace_id):
        invitation = usable_invitation(public_id, secret)
        if invitation is None:
            return render_template("auth/link_expired.html", what="invitation"), 404
        existing = find_user(invitation.email)
        form = AcceptExistingAccountForm() if existing else AcceptNewAccountForm()
        if form.validate_on_submit():
            try:
                if existing:
                    result = authenticate(invitation.email, form.password.data, **_client())
                    if not result.succeeded:
                        db.session.commit()  # the failed attempt counts towards the lock
                        raise AccountError(LOGIN_FAILED)
                    user = result.user
                else:
                    user = create_user(invitation.email, form.password.data, name=form.name.data)
                set_actor(request_actor(user))  # the newcomer, not "anonymous", joined
                accept_invitation(invitation, user)
            except (AccountError, WorkspaceError) as error:
                db.session.rollback()
                form.password.errors = [str(error)]
            else:
                db.session.commit()
                start_session(user, workspace_id)
                flash("Welcome: the invitation is accepted.", "success")
                return redirect(url_for("home"))
        return render_template(
            "auth/accept.html", form=form, invitation=invitation, existing=existing is not None
        ), (422 if form.errors else 200)
