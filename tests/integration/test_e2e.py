#!/usr/bin/env python3
"""End-to-end integration (issues 7, 8, 9): the real daemon, the real
duegate-sim (Shopify, WhatsApp and Twilio personas) and a real SMTP server,
on manual clocks. Orders enter through the Shopify persona's signed
webhooks; every observation is made at the simulator's control API, the
SMTP sink's directory and the daemon's SQLite (read-only).

usage: test_e2e.py [SCENARIO...]  (default: all); exit 0 when all pass."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simharness as h  # noqa: E402

MIN = 60000
CASE_OPEN, CASE_PAUSED, CASE_OPTED_OUT = 0, 1, 6
SENT_OR_LATER = (2, 3, 4, 5)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def first_touch(st, phone):
    """The unpaid_order playbook's first touch goes out 30 min after the order."""
    st.advance(31 * MIN)
    h.wait_for(lambda: st.wa_to(phone), "the WhatsApp touch to " + phone)
    st.advance(10000)  # sent, delivered, read / replies come due at the simulator
    st.settle()


def s_never_replies_falls_through(st):
    """WhatsApp unanswered -> SMS unanswered -> e-mail at a real SMTP server."""
    phone, mail = "+12125550101", "ana@example.com"
    o = h.order(5001000000000000101, phone, mail, first="Ana")
    h.http("POST", st.sim + "/_sim/whatsapp/script",
           {"customers": [{"phone": phone, "behaviour": "never_reply"}]})
    st.add_order(o)
    first_touch(st, phone)
    expect(len(st.wa_to(phone)) == 1, "one WhatsApp message")
    expect(not st.sms_to(phone), "no SMS before the answer window ends")
    wa = st.wa_to(phone)[0]["request"]
    expect(wa["type"] == "template" and wa["template"]["name"] == "dg_unpaid_checkout_help",
           "the unpaid/30min template: %r" % wa)
    st.advance(21 * MIN)  # the 20 min answer window passes: next channel
    sms = h.wait_for(lambda: st.sms_to(phone), "the SMS fallback")
    expect(len(sms) == 1 and "Ana" in sms[0]["body"], "one SMS naming the customer: %r" % sms)
    st.advance(10000)
    st.settle()
    st.advance(21 * MIN)  # the SMS goes unanswered too: e-mail
    mails = h.wait_for(lambda: st.mails(), "the e-mail at the SMTP server")
    expect(len(mails) == 1, "one e-mail")
    r = subprocess.run([h.PY, os.path.join(h.TOP_S, "tests/integration/check_mail.py"),
                        mails[0], "--from", "billing@shop.example", "--to", mail,
                        "--unsubscribe-prefix", st.daemon + "/webhooks/email/mail/unsubscribe"],
                       capture_output=True, text=True)
    expect(r.returncode == 0, "check_mail.py: " + r.stdout + r.stderr)
    raw = open(mails[0], "rb").read()
    expect(b"Ana" in raw, "the e-mail names the customer")
    expect(len(st.wa_to(phone)) == 1 and len(st.sms_to(phone)) == 1, "nothing sent twice")
    chans = [r[0] for r in st.db("SELECT t.channel FROM eng_touches t JOIN eng_cases c ON "
                                 "c.id = t.case_id WHERE c.order_id = ? ORDER BY t.id",
                                 (str(o["id"]),))]
    expect(chans == ["wa", "sms", "mail"], "touches wa, sms, mail: %r" % chans)


def s_reply_pauses(st):
    phone = "+12125550102"
    o = h.order(5001000000000000102, phone, "bo@example.com", first="Bo")
    h.http("POST", st.sim + "/_sim/whatsapp/script",
           {"customers": [{"phone": phone, "behaviour": "reply_text", "after_ms": 2000,
                           "text": "Is the tote waterproof?"}]})
    st.add_order(o)
    first_touch(st, phone)
    h.wait_for(lambda: st.case(o["id"]) == CASE_PAUSED, "the case paused by the reply")
    st.advance(60 * MIN)
    st.settle()
    expect(st.case(o["id"]) == CASE_PAUSED, "still paused")
    expect(len(st.wa_to(phone)) == 1 and not st.sms_to(phone), "nothing more sent")
    fb = st.db("SELECT feedback, needs_person FROM eng_cases WHERE order_id = ?",
               (str(o["id"]),))[0]
    expect("waterproof" in (fb[0] or "") and fb[1] == 1, "feedback stored: %r" % (fb,))


def s_not_on_whatsapp(st):
    phone = "+12125550103"
    o = h.order(5001000000000000103, phone, "cy@example.com", first="Cy")
    h.http("POST", st.sim + "/_sim/whatsapp/script",
           {"customers": [{"phone": phone, "behaviour": "not_on_whatsapp"}]})
    st.add_order(o)
    first_touch(st, phone)
    # the failed 131026 status moves to the next channel at once (no answer window)
    h.wait_for(lambda: st.tick() or st.sms_to(phone), "the SMS right after 131026", timeout=20)
    rows = st.db("SELECT t.channel, t.status, t.error_code FROM eng_touches t JOIN eng_cases c"
                 " ON c.id = t.case_id WHERE c.order_id = ? ORDER BY t.id", (str(o["id"]),))
    expect(rows[0][0] == "wa" and rows[0][1] == 6 and "131026" in (rows[0][2] or ""),
           "the WhatsApp touch failed 131026: %r" % rows)


def s_stop_suppresses(st):
    phone = "+12125550104"
    o = h.order(5001000000000000104, phone, "di@example.com", first="Di")
    h.http("POST", st.sim + "/_sim/whatsapp/script",
           {"customers": [{"phone": phone, "behaviour": "stop", "after_ms": 2000}]})
    st.add_order(o)
    first_touch(st, phone)
    h.wait_for(lambda: st.case(o["id"]) == CASE_OPTED_OUT, "the case opted out")
    sup = st.db("SELECT kind, address FROM eng_suppressed")
    expect(any(r[0] == "whatsapp" for r in sup), "the number suppressed: %r" % sup)
    st.advance(4 * 60 * MIN)
    st.settle()
    expect(len(st.wa_to(phone)) == 1 and not st.sms_to(phone), "nothing sent after STOP")


SCENARIOS = [s_never_replies_falls_through, s_reply_pauses, s_not_on_whatsapp,
             s_stop_suppresses]


def main():
    want = sys.argv[1:]
    failed = 0
    for s in SCENARIOS:
        if want and s.__name__ not in want:
            continue
        st = h.Stack()
        try:
            s(st)
            print("ok   %s" % s.__name__)
        except AssertionError as e:
            failed += 1
            print("FAIL %s: %s" % (s.__name__, e))
            print(st.daemon_log()[-4000:])
        finally:
            if not st.close():
                failed += 1
                print("FAIL %s: a process did not exit cleanly" % s.__name__)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
