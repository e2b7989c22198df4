"""With Redis configured, failed logins are counted there: every web process shares the count.

The app runs in a subprocess because Flask-Limiter keeps one storage per Limiter object, and
the test process's app must keep its own."""

import os
import subprocess
import sys
import textwrap
import uuid

import pytest

from tests.conftest import missing

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")

SCRIPT = textwrap.dedent(
    """
    import sys, tempfile, re
    from flask_migrate import upgrade
    from crm import create_app
    folder = tempfile.mkdtemp()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/x.db", "TESTING": True,
                      "RATELIMIT_STORAGE_URI": sys.argv[1], "RATELIMIT_KEY_PREFIX": sys.argv[2]})
    with app.app_context():
        upgrade()
    client = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text).group(1)
    statuses = []
    for n in range(11):
        response = client.post("/login", data={"email": f"x{n}@nowhere.example",
                                               "password": "wrong password", "csrf_token": token})
        statuses.append(response.status_code)
    print(" ".join(map(str, statuses)))
    """
)


@pytest.fixture
def redis_url():
    if not TEST_REDIS_URL:
        missing("TEST_REDIS_URL is not set (a Redis server, e.g. redis://127.0.0.1:6379/15)")
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL).ping()
    except redis.RedisError as error:
        missing(f"Redis at {TEST_REDIS_URL} does not answer: {error}")
    return TEST_REDIS_URL


def test_failed_logins_are_counted_in_redis(redis_url):
    import redis

    prefix = f"inreach-test-{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, redis_url, prefix],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    statuses = result.stdout.split()
    assert statuses == ["401"] * 10 + ["429"]
    server = redis.Redis.from_url(redis_url)
    keys = server.keys(f"*{prefix}*")
    assert keys, "the limiter kept its counts elsewhere"
    server.delete(*keys)
