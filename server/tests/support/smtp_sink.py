"""A real SMTP server for Vigil's tests (aiosmtpd), recording each message it accepts.

Usage: smtp_sink.py PORT OUT.jsonl [--count]. Every message becomes one JSON line: envelope
recipients, the headers the tests look at, and the decoded plain-text and HTML parts (Python's own
MIME parser, so quoted-printable and base64 are undone exactly as a mail client would). With
--count (the benchmark) only the recipients are written, so parsing does not slow the server.
"""
import asyncio
import email
import email.policy
import json
import sys

from aiosmtpd.controller import Controller


class Record:
    def __init__(self, path, count_only):
        self.path = path
        self.count_only = count_only

    async def handle_DATA(self, server, session, envelope):
        if self.count_only:
            with open(self.path, "a") as f:
                f.write(json.dumps({"to": list(envelope.rcpt_tos)}) + "\n")
            return "250 OK"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        line = {
            "to": list(envelope.rcpt_tos),
            "from": envelope.mail_from,
            "subject": str(msg["Subject"] or ""),
            "content_type": msg.get_content_type(),
            "list_unsubscribe": msg["List-Unsubscribe"] and str(msg["List-Unsubscribe"]),
            "list_unsubscribe_post": msg["List-Unsubscribe-Post"] and str(msg["List-Unsubscribe-Post"]),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
        }
        with open(self.path, "a") as f:
            f.write(json.dumps(line) + "\n")
        return "250 OK"


async def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Record(path, "--count" in sys.argv[3:]), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        controller.stop()


asyncio.run(main())
