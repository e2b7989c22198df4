"""Error pages and JSON errors: a clear message, never a stack trace or SQL.

A request wants JSON when it is under /api/, sends JSON, or prefers `application/json` to HTML in
its Accept header; it then gets `{"error": {"status": N, "message": "..."}}`. Everyone else gets
templates/errors/error.html. The message is always one of ours: an exception's own text (which
may quote SQL or data) goes to the log only.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

from crm.extensions import db

MESSAGES = {
    400: "The request could not be understood. Reload the page and try again.",
    401: "Please log in.",
    403: "Your role does not allow this page.",
    404: "There is nothing here. The link may be old or mistyped.",
    405: "This page does not accept that kind of request.",
    413: "The upload is too large.",
    429: "Too many attempts. Wait a minute and try again.",
    500: "Something went wrong on our side. Nothing was saved; please try again.",
}
CSRF_MESSAGE = "The form expired or was sent from elsewhere. Reload the page and try again."
# Headers an error keeps from werkzeug's exception (405's Allow, 429's Retry-After, ...).
KEPT_HEADERS = frozenset({"allow", "retry-after", "www-authenticate"})


def wants_json() -> bool:
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(code: int, message: str | None = None):
    message = message or MESSAGES.get(code, "The request failed.")
    if wants_json():
        return jsonify(error={"status": code, "message": message}), code
    return render_template("errors/error.html", code=code, message=message), code


def _plain_page(code: int) -> tuple[str, int]:
    """When even the error page fails (the database is gone, say): a page that needs nothing."""
    message = escape(MESSAGES.get(code, "The request failed."))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{code} · Inreach'
        f"</title></head><body><main><h1>Error {code}</h1><p>{message}</p></main></body></html>",
        code,
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return error_response(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error  # a redirect, or abort(response): werkzeug's own answer
        response = app.make_response(error_response(error.code))
        for name, value in error.get_headers():
            if name.lower() in KEPT_HEADERS:
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        try:
            db.session.rollback()
            return error_response(InternalServerError.code)
        except Exception:
            app.logger.exception("the error page failed too")
            if wants_json():
                return jsonify(error={"status": 500, "message": MESSAGES[500]}), 500
            return _plain_page(500)
