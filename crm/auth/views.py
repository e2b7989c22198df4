"""Log in and log out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from crm.auth.forms import LoginForm
from crm.auth.services import authenticate, end_sessions
from crm.extensions import db
from crm.web.access import authenticated, public
from crm.workspaces.services import memberships_of

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
        ):
            return target
    return url_for("home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        memberships = memberships_of(user.id) if user else []
        if user is not None and memberships:
            workspace_id = memberships[0].workspace_id
            db.session.commit()
            session.clear()  # a fresh session: nothing carried over from before login
            login_user(user)
            session["workspace_id"] = workspace_id
            return redirect(_safe_next(request.args.get("next")))
        db.session.commit()
        form.password.data = ""
        flash("The email or password is not right.", "danger")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@authenticated
def logout():
    end_sessions(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
