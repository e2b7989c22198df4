"""A real SMTP server for the delivery tests: aiosmtpd on 127.0.0.1, on a free port, whose
answers a test programs, and which keeps what it received (envelope and parsed headers).

`answer_data(...)` / `answer_rcpt(...)` queue answers given before it accepts again; `refuse`
maps an address to the answer its RCPT always gets; `stop()` is a server that is down, and
`start()` brings it back on the same port.
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

SERVER_NAME = "mx.inreach.test"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    email: EmailMessage

    @property
    def message_id(self) -> str:
        return self.email["Message-ID"]


class Handler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.connections = 0  # EHLO commands: one per connection (our client sends one)
        self.data_commands = 0
        self.rcpt_commands: list[str] = []
        self.data_answers: deque[str] = deque()
        self.rcpt_answers: deque[str] = deque()
        self.mail_answers: deque[str] = deque()
        self.refuse: dict[str, str] = {}

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        with self.lock:
            if self.mail_answers:
                return self.mail_answers.popleft()
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.lock:
            self.rcpt_commands.append(address)
            if address in self.refuse:
                return self.refuse[address]
            if self.rcpt_answers:
                return self.rcpt_answers.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.data_commands += 1
            if self.data_answers:
                return self.data_answers.popleft()
            parsed = message_from_bytes(envelope.content, policy=default)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


class SMTPServer:
    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.handler = Handler()
        self.port = free_port()
        self.credentials = credentials
        self.controller: Controller | None = None

    # --- programming it ---------------------------------------------------------------------

    def answer_data(self, answer: str, times: int = 1) -> None:
        with self.handler.lock:
            self.handler.data_answers.extend([answer] * times)

    def answer_rcpt(self, answer: str, times: int = 1) -> None:
        with self.handler.lock:
            self.handler.rcpt_answers.extend([answer] * times)

    def answer_mail(self, answer: str, times: int = 1) -> None:
        with self.handler.lock:
            self.handler.mail_answers.extend([answer] * times)

    def refuse(self, address: str, answer: str = "550 5.1.1 no such user") -> None:
        with self.handler.lock:
            self.handler.refuse[address] = answer

    # --- reading it -------------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def connections(self) -> int:
        with self.handler.lock:
            return self.handler.connections

    @property
    def data_commands(self) -> int:
        with self.handler.lock:
            return self.handler.data_commands

    def rcpt_commands(self, address: str) -> int:
        with self.handler.lock:
            return self.handler.rcpt_commands.count(address)

    # --- up and down ------------------------------------------------------------------------

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        login = (auth_data.login.decode(), auth_data.password.decode())
        # handled=False: aiosmtpd answers a failure itself (535); True would leave the client
        # waiting for an answer the handler never gives
        return AuthResult(success=login == self.credentials, handled=False)

    def start(self) -> SMTPServer:
        auth = (
            {
                "auth_required": True,
                "auth_require_tls": False,  # a test server without TLS; never in production
                "authenticator": self._authenticate,
            }
            if self.credentials
            else {}
        )
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname=SERVER_NAME,
            ready_timeout=5,
            **auth,
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
