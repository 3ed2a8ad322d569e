#!/usr/bin/env python3
"""Check an e-mail built by duegate's e-mail plugin with Python's `email`
package: wire format (CRLF, line lengths, ASCII headers), the headers we
promise, multipart/alternative structure (text/plain first, text/html last),
quoted-printable UTF-8 parts whose decoded content matches what was sent.

usage: check_mail.py MESSAGE [--subject S] [--text-file F] [--html-file F]
                     [--from ADDR] [--from-name N] [--to ADDR] [--to-name N]
                     [--reply-to ADDR] [--unsubscribe-prefix URL] [--message-id ID]
Exit 0 when every check passes; otherwise each failure is printed, exit 1.
"""
import argparse
import email
import email.policy
import email.utils
import re
import sys

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def read_text(path):
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read().decode("utf-8").replace("\r\n", "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("message")
    ap.add_argument("--subject")
    ap.add_argument("--text-file")
    ap.add_argument("--html-file")
    ap.add_argument("--from", dest="from_addr")
    ap.add_argument("--from-name")
    ap.add_argument("--to")
    ap.add_argument("--to-name")
    ap.add_argument("--reply-to")
    ap.add_argument("--unsubscribe-prefix")
    ap.add_argument("--message-id")
    a = ap.parse_args()
    raw = open(a.message, "rb").read()

    # ---- wire format
    check(raw.endswith(b"\r\n"), "message does not end with CRLF")
    check(b"\n" not in raw.replace(b"\r\n", b""), "bare LF in message")
    check(b"\r" not in raw.replace(b"\r\n", b""), "bare CR in message")
    lines = raw.split(b"\r\n")
    for i, line in enumerate(lines):
        check(len(line) <= 998, "line %d longer than 998" % (i + 1))
    head, _, _ = raw.partition(b"\r\n\r\n")
    check(all(b < 128 for b in head), "non-ASCII byte in the header section")
    for i, line in enumerate(head.split(b"\r\n")):
        # RFC 5322 "SHOULD" 78; a URL cannot be folded, so List-Unsubscribe
        # only has to respect the 998 limit above.
        if not line.startswith(b"List-Unsubscribe:"):
            check(len(line) <= 78, "header line %d longer than 78: %r" % (i + 1, line[:40]))

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if msg.defects:
        failures.append("parser defects: %r" % msg.defects)

    # ---- headers
    for h in ("Date", "From", "To", "Subject", "Message-ID", "MIME-Version"):
        check(msg[h] is not None, "missing header " + h)
        check(len(msg.get_all(h) or []) <= 1, "repeated header " + h)
    check(str(msg["MIME-Version"]).strip() == "1.0", "MIME-Version is not 1.0")
    try:
        d = email.utils.parsedate_to_datetime(str(msg["Date"]))
        check(d.tzinfo is not None, "Date has no zone")
    except (TypeError, ValueError):
        failures.append("Date does not parse: %r" % msg["Date"])
    mid = str(msg["Message-ID"] or "")
    check(re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", mid) is not None, "bad Message-ID %r" % mid)
    if a.message_id:
        check(mid == a.message_id, "Message-ID %r != %r" % (mid, a.message_id))
    if a.subject is not None:
        check(str(msg["Subject"]) == a.subject, "Subject %r != %r" % (str(msg["Subject"]), a.subject))
    if a.from_addr:
        fa = msg["From"].addresses
        check(len(fa) == 1 and fa[0].addr_spec == a.from_addr, "From address %r" % str(msg["From"]))
        if a.from_name is not None:
            check(len(fa) == 1 and fa[0].display_name == a.from_name,
                  "From name %r != %r" % (fa[0].display_name if fa else None, a.from_name))
    if a.to:
        ta = msg["To"].addresses
        check(len(ta) == 1 and ta[0].addr_spec == a.to, "To address %r" % str(msg["To"]))
        if a.to_name is not None:
            check(len(ta) == 1 and ta[0].display_name == a.to_name,
                  "To name %r != %r" % (ta[0].display_name if ta else None, a.to_name))
    if a.reply_to:
        ra = msg["Reply-To"].addresses if msg["Reply-To"] else ()
        check(len(ra) == 1 and ra[0].addr_spec == a.reply_to, "Reply-To %r" % msg["Reply-To"])
    if a.unsubscribe_prefix:
        lu = str(msg["List-Unsubscribe"] or "")
        check(lu.startswith("<" + a.unsubscribe_prefix) and lu.endswith(">"),
              "List-Unsubscribe %r" % lu)
        check(str(msg["List-Unsubscribe-Post"] or "") == "List-Unsubscribe=One-Click",
              "List-Unsubscribe-Post %r" % msg["List-Unsubscribe-Post"])

    # ---- structure (a multipart message is checked as one even when the
    # caller does not know the rendered HTML to compare with)
    if a.html_file or msg.is_multipart():
        check(msg.get_content_type() == "multipart/alternative",
              "top type %s, want multipart/alternative" % msg.get_content_type())
        parts = list(msg.iter_parts()) if msg.is_multipart() else []
        check([p.get_content_type() for p in parts] == ["text/plain", "text/html"],
              "parts %r, want text/plain then text/html" % [p.get_content_type() for p in parts])
        boundary = msg.get_boundary()
        check(boundary is not None and raw.count(b"--" + boundary.encode() + b"--") == 1,
              "closing boundary missing or repeated")
    else:
        check(msg.get_content_type() == "text/plain", "single part is not text/plain")
        parts = [msg]
    want = [read_text(a.text_file), read_text(a.html_file)]
    for p, w in zip(parts, want):
        ct = p.get_content_type()
        check(p.get_content_charset() == "utf-8", "%s charset %r" % (ct, p.get_content_charset()))
        check(str(p["Content-Transfer-Encoding"]).lower() == "quoted-printable",
              "%s not quoted-printable" % ct)
        body = p.get_payload(decode=False)
        for i, line in enumerate(body.split("\r\n") if "\r\n" in body else body.split("\n")):
            check(len(line) <= 76, "%s QP line %d has %d chars" % (ct, i + 1, len(line)))
        got = p.get_content().replace("\r\n", "\n")
        if w is not None:
            check(got == w, "%s content differs:\n got %r\nwant %r" % (ct, got[:200], w[:200]))

    for f in failures:
        print("check_mail: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
