"""Security headers, cookies and the proxy in front of the app: set once, for every response.

- Flask-Talisman sends the Content-Security-Policy below (no inline script or style anywhere: a
  template needing a style gets a class in crm/static/inreach.css), `X-Content-Type-Options:
  nosniff`, a Referrer-Policy and `X-Frame-Options: DENY`. Session cookies are always HttpOnly and
  SameSite=Lax.
- HTTPS is forced (redirect, HSTS, Secure cookies) only in production (`INREACH_ENV=production`)
  or with `INREACH_FORCE_HTTPS=1`; never in tests or `make run`, which speak plain HTTP.
- Pages of a logged-in user, the login page and the pages of reset and invitation links are
  `Cache-Control: no-store`: a shared computer's browser cache or back button must not show
  participants after logout.
- Behind a reverse proxy, set `INREACH_PROXY_FIX` to the number of proxies in front of the app
  (1 for one nginx or Caddy). Werkzeug's ProxyFix then trusts that many `X-Forwarded-For` and
  `X-Forwarded-Proto` values, so the client address (rate limits, login log) and the scheme
  (HTTPS redirect, HSTS) are the real ones. The proxy must overwrite those headers and pass the
  original Host through (nginx: `proxy_set_header Host $host`). Left at 0 (the default), the
  headers are ignored: with no proxy, a client could otherwise forge its own address. (Talisman
  reads `X-Forwarded-Proto` by itself: a client sending `https` there only skips its own
  redirect to HTTPS.)
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_login import current_user
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",  # Bootstrap's CSS draws its icons with data: SVG
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Same-origin: links out of the app never tell another site which page (or reset link) they
# came from, while our own forms keep the Referer that Flask-WTF checks over HTTPS.
REFERRER_POLICY = "same-origin"
# Public pages that are never stored either: the login form, and pages of one-time links.
NO_STORE_ENDPOINTS = frozenset({"auth.login", "auth.reset", "auth.accept"})
STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static"})


def https_required(app: Flask) -> bool:
    return app.config.get("ENV_NAME") == "production" or bool(app.config.get("FORCE_HTTPS"))


def init_app(app: Flask) -> None:
    https = https_required(app)
    # One Talisman per app: it keeps its options on itself, and tests build several apps.
    app.extensions["talisman"] = Talisman(
        app,
        force_https=https,
        strict_transport_security=https,
        session_cookie_secure=https,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy=REFERRER_POLICY,
        frame_options="DENY",
    )
    # Flask-Login's remember cookie is not used (no remember-me); if it ever is, same rules.
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    if https:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True

    proxies = int(app.config.get("PROXY_FIX") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    app.after_request(_no_store)
    app.before_request(_refuse_nul_characters)


NUL_MESSAGE = (
    "The request contained an invisible NUL character, which no text can hold. "
    "Remove it (it usually comes from pasting) and try again."
)


def _refuse_nul_characters():
    """One check for every route: PostgreSQL refuses NUL in text, so a NUL anywhere in the
    path, the query or the form is a clear 400, never a 500 from deep inside a query."""
    from crm.web.errors import error_response

    values = [request.path]
    for source in (request.args, request.form):
        for key, value in source.items(multi=True):
            values += (key, value)
    if any("\x00" in value for value in values):
        return error_response(400, NUL_MESSAGE)
    return None


def _no_store(response):
    """No copy of a logged-in user's page (or of the login form) in any cache. Static files
    carry nothing personal and stay cacheable."""
    endpoint = request.endpoint
    if endpoint in STATIC_ENDPOINTS or (endpoint or "").endswith(".static"):
        return response
    # A login cookie is enough to decide, without loading the user (no query on a failing
    # database); current_user covers logins that come without a session cookie.
    signed_in = "_user_id" in session or current_user.is_authenticated
    if endpoint in NO_STORE_ENDPOINTS or signed_in:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response
