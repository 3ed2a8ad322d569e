#!/usr/bin/env python3
"""A real SMTP server for duegate's e-mail tests and demo: Debian's
python3-aiosmtpd on 127.0.0.1, every received message written to a directory.

usage: smtp_sink.py --dir DIR [--port N] [--reply-code CODE] [--auth USER:PASS]

--port 0 (the default) lets the kernel pick a free port. Once listening the
script prints one line "PORT <n>" on stdout (and flushes), so a test can read
the port back. Each message lands in DIR as <seq>.eml (the DATA bytes, CRLF
as received) with <seq>.json next to it: {"mail_from", "rcpt_tos", "peer"}.
--reply-code makes every DATA answer with that code instead of 250 (e.g. 451
or 550) to exercise the plugin's reply classification end to end.
The server stops on SIGTERM/SIGINT or when stdin reaches EOF (so it dies with
the test that spawned it).
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, reply_code):
        self.dir = directory
        self.reply = reply_code
        self.seq = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.reply and self.reply != 250:
            return "%d simulated reply" % self.reply
        with self.lock:
            self.seq += 1
            n = self.seq
        base = os.path.join(self.dir, "%04d" % n)
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(data)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "peer": str(session.peer)}, f)
        os.rename(base + ".eml.tmp", base + ".eml")  # appears complete or not at all
        return "250 OK queued as %04d" % n


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--reply-code", type=int, default=250)
    ap.add_argument("--auth", help="USER:PASS accepted with AUTH PLAIN/LOGIN")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    kwargs = {}
    if a.auth:
        from aiosmtpd.smtp import AuthResult
        user, _, pw = a.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (auth_data.login.decode() == user and auth_data.password.decode() == pw)
            return AuthResult(success=ok)

        # Loopback tests have no TLS: allow AUTH in clear on 127.0.0.1 only.
        kwargs.update(authenticator=authenticator, auth_require_tls=False)
    port = a.port or free_port()
    ctl = Controller(Sink(a.dir, a.reply_code), hostname="127.0.0.1", port=port, **kwargs)
    ctl.start()
    print("PORT %d" % port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def watch_stdin():
        try:
            while sys.stdin.read(4096):
                pass
        except (OSError, ValueError):
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    stop.wait()
    ctl.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
