"""Error pages and JSON errors: a clear message, never a stack trace or SQL."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
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


def wants_json() -> bool:
    if request.path.startswith("/api/"):
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


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return error_response(
            400, "The form expired or was sent from elsewhere. Reload and try again."
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return error_response(error.code)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return error_response(InternalServerError.code)
