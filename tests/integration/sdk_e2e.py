#!/usr/bin/env python3
"""The out-of-tree skeleton plugin as a fallback channel after WhatsApp
(issue 11), run by scripts/sdk-smoke against the STAGED install:

  loopback receiver (http.server, 127.0.0.1 port 0, records POSTed JSON)
  + sim/duegate-sim (WhatsApp + Shopify personas, manual clock)
  + the staged `duegate run` (manual clock) with the channels
    "wa" (the staged whatsapp plugin, pointed at the simulator) and
    "hook" (skeleton.so built out of tree, url = the receiver),
    and the unpaid_order playbook's first step going ["whatsapp", "hook"].

One unpaid order enters through the Shopify persona's signed webhook; the
customer never replies on WhatsApp. Both clocks move past the first touch
(+30 min): the WhatsApp template must reach the simulator and nothing the
receiver. Then past the 20 min answer window: the skeleton's JSON POST must
reach the receiver, carrying the case's facts. No sleeping for virtual time:
effects are polled for with a bounded real-time timeout.

usage: sdk_e2e.py --duegate BIN --plugin-dir DIR --plugin-dir DIR
                  --sim BIN --templates DIR
exit 0 on success; every process it starts is stopped on exit."""
import argparse
import http.server
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simharness as h  # noqa: E402

MIN = 60000
PHONE, MAIL, FIRST = "+12125550111", "eve@example.com", "Eve"
OID = 5001000000000000111
HOOK_SECRET = "sdk-e2e-hook-secret"


class Receiver:
    """A loopback webhook: records each POSTed JSON body, answers 200 with
    an id (the skeleton takes it as the provider's message id)."""

    def __init__(self):
        self.posts = []
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                with outer.lock:
                    outer.posts.append({"path": self.path, "headers": dict(self.headers),
                                        "body": body})
                    rid = "rcv-%d" % len(outer.posts)
                out = json.dumps({"id": rid}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def got(self):
        with self.lock:
            return list(self.posts)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duegate", required=True)
    ap.add_argument("--plugin-dir", action="append", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--templates", required=True)
    a = ap.parse_args()
    # a SIGTERM/SIGHUP (CI timeout, ^C of sdk-smoke) still runs the cleanups
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(1))
    # the simulator's WhatsApp template registry: the templates the daemon
    # uses (h.wa_templates() reads <TOP_S>/templates/*/*/whatsapp.json)
    h.TOP_S = os.path.dirname(os.path.abspath(a.templates.rstrip("/")))
    expect(os.path.basename(a.templates.rstrip("/")) == "templates" and h.wa_templates(),
           "no WhatsApp templates under %s" % a.templates)
    ok = True
    # kind None: the engine derives it from the capabilities (the skeleton
    # declares DG_CAP_EMAIL and no DG_CAP_TEMPLATES: "email");
    # "sms": engine.channel_kinds makes it a plain text channel.
    for kind in (None, "sms"):
        ok = run(a, kind) and ok
    print("sdk-e2e: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def run(a, kind):
    """One stack, one order; True when every expectation held."""
    tag = "kind=%s" % (kind or "from capabilities")
    tmp = tempfile.mkdtemp(prefix="dg_sdk_e2e_")
    procs = []
    rcv = None
    dlog = open(os.path.join(tmp, "daemon.log"), "w+")

    def log():
        dlog.seek(0)
        return dlog.read()

    def write(name, obj):
        with open(os.path.join(tmp, name), "w") as f:
            json.dump(obj, f, indent=1)
        return os.path.join(tmp, name)

    ok = False
    try:
        rcv = Receiver()
        hook_url = "http://127.0.0.1:%d/hook" % rcv.port

        simcfg = {"listen": "127.0.0.1:0", "seed": 11,
                  "clock": {"mode": "manual", "start": h.START},
                  "whatsapp": {"phone_number_id": h.WA_PHONE_ID, "access_token": h.WA_TOKEN,
                               "app_secret": h.WA_SECRET, "templates": h.wa_templates()},
                  "shopify": {"shop_domain": h.SHOP, "client_secret": h.SHOP_SECRET,
                              "access_token": h.SHOP_TOKEN, "api_version": "2025-10"}}
        sim = subprocess.Popen([a.sim, "-c", write("sim.json", simcfg)],
                               stdout=subprocess.PIPE, stdin=subprocess.PIPE)
        procs.append(("sim", sim))
        line = sim.stdout.readline().decode()
        m = re.match(r"duegate-sim listening port=(\d+)", line)
        expect(m, "duegate-sim did not start: %r" % line)
        simurl = "http://127.0.0.1:%s" % m.group(1)

        dcfg = {"daemon": {"state_db": os.path.join(tmp, "state.db"),
                           "templates_dir": a.templates,
                           "listen": "127.0.0.1:0", "public_url": "http://127.0.0.1:0",
                           "plugin_dirs": a.plugin_dir,
                           "log_level": "info", "shutdown_timeout_ms": 2000,
                           "clock": {"mode": "manual", "start": h.START}},
                "channels": {
                    "wa": {"plugin": "whatsapp", "phone_number_id": h.WA_PHONE_ID,
                           "access_token": h.WA_TOKEN, "app_secret": h.WA_SECRET,
                           "verify_token": "v", "api_base": simurl},
                    # the third-party plugin, built out of tree
                    "hook": {"plugin": "skeleton", "url": hook_url,
                             "webhook_secret": {"env": "DG_SDK_E2E_HOOK_SECRET"}}},
                "stores": {"shop": {"plugin": "shopify", "shop_domain": h.SHOP,
                                    "access_token": h.SHOP_TOKEN,
                                    "client_secret": h.SHOP_SECRET, "admin_base": simurl}},
                "playbooks": {"unpaid_order": {"steps": [
                    {"stage": "service", "anchor": "created", "offset": "30m",
                     "template": "unpaid/30min", "answer_window": "20m",
                     "channels": ["whatsapp", "hook"]}]}},
                "engine": {"store_tz": "America/New_York"}}
        if kind:
            dcfg["engine"]["channel_kinds"] = {"hook": kind}
        env = dict(os.environ, DUEGATE_PLUGIN_PATH="", DG_SDK_E2E_HOOK_SECRET=HOOK_SECRET)
        d = subprocess.Popen([a.duegate, "run", "-c", write("duegate.json", dcfg)],
                             stdout=dlog, stderr=subprocess.STDOUT, env=env)
        procs.append(("daemon", d))

        def port():
            if d.poll() is not None:
                h.fail("the daemon exited:\n" + log())
            m = re.search(r"http_listening addr=\S+ port=(\d+)", log())
            return m and m.group(1)
        daemon = "http://127.0.0.1:%s" % h.wait_for(port, "the daemon's port", timeout=90)
        h.wait_for(lambda: "core ready" in log() or d.poll() is not None, "daemon ready")
        expect(d.poll() is None, "the daemon exited:\n" + log())
        h.http("POST", simurl + "/_sim/callbacks",
               {"whatsapp": daemon + "/webhooks/whatsapp/wa",
                "shopify": daemon + "/webhooks/shopify/shop"})

        def advance(ms):
            h.http("POST", daemon + "/_duegate/clock", {"advance_ms": ms})
            h.http("POST", simurl + "/_sim/clock", {"advance_ms": ms})

        def settle():
            h.wait_for(lambda: h.http("GET", simurl + "/_sim/stats")["webhooks_in_flight"] == 0,
                       "simulator webhooks to land")
            h.http("POST", daemon + "/_duegate/clock", {"advance_ms": 0})

        def wa_to():
            return [r for r in h.http("GET", simurl + "/_sim/messages")["whatsapp"]
                    if (r.get("to") or "").lstrip("+") == PHONE.lstrip("+")
                    and r.get("code") == 0]

        def db(sql, args=()):
            c = sqlite3.connect("file:%s?mode=ro" % os.path.join(tmp, "state.db"), uri=True,
                                timeout=10)
            try:
                return c.execute(sql, args).fetchall()
            finally:
                c.close()

        def case_row():
            return db("SELECT id FROM eng_cases WHERE order_id = ?", (str(OID),))

        h.http("POST", simurl + "/_sim/whatsapp/script",
               {"customers": [{"phone": PHONE, "behaviour": "never_reply"}]})
        # the order enters through the Shopify persona's signed webhook
        h.http("POST", simurl + "/_sim/shopify/orders",
               h.order(OID, PHONE, MAIL, first=FIRST))
        case_id = h.wait_for(case_row, "a case for order %d" % OID)[0][0]

        advance(31 * MIN)  # the first touch (+30 min): WhatsApp
        wa = h.wait_for(wa_to, "the WhatsApp touch at the simulator")
        advance(10000)     # sent / delivered / read come due at the simulator
        settle()
        expect(len(wa_to()) == 1, "one WhatsApp message: %r" % wa_to())
        req = wa[0]["request"]
        expect(req.get("type") == "template"
               and req["template"]["name"] == "dg_unpaid_checkout_help",
               "the unpaid/30min WhatsApp template: %r" % req)
        expect(not rcv.got(), "nothing at the receiver before the answer window ends: %r"
               % rcv.got())
        print("sdk-e2e: %s: WhatsApp touch at the simulator: template %s to %s"
              % (tag, req["template"]["name"], req.get("to")))

        advance(21 * MIN)  # the 20 min answer window passes: the skeleton
        posts = h.wait_for(rcv.got, "the skeleton's POST at the receiver")
        settle()
        posts = rcv.got()
        expect(len(posts) == 1, "one POST at the receiver: %r" % posts)
        p = posts[0]
        b = p["body"]
        expect(p["path"] == "/hook", "posted to the configured url: %r" % p["path"])
        expect(p["headers"].get("Content-Type") == "application/json", "JSON: %r" % p["headers"])
        expect(b.get("case_id") == case_id, "the case id %r: %r" % (case_id, b))
        expect(b.get("stage") == "service" and b.get("template") == "unpaid/30min",
               "stage and template of the touch: %r" % b)
        want = kind or "email"
        if want == "email":  # the e-mail parts: subject + text, to the e-mail address
            expect(b.get("to_email") == MAIL and b.get("subject"),
                   "an e-mail-kind message to %s with a subject: %r" % (MAIL, b))
        else:  # the SMS text, to the phone, no subject
            expect((b.get("to_phone") or "").lstrip("+") == PHONE.lstrip("+")
                   and not b.get("subject"), "a text message to %s: %r" % (PHONE, b))
        expect(FIRST in (b.get("text") or "") and "#111" in b["text"],
               "the text names the customer and the order: %r" % b)
        rows = db("SELECT t.channel, t.kind FROM eng_touches t JOIN eng_cases c ON "
                  "c.id = t.case_id WHERE c.order_id = ? ORDER BY t.id", (str(OID),))
        expect(rows == [("wa", "whatsapp"), ("hook", want)],
               "touches wa (whatsapp) then hook (%s): %r" % (want, rows))
        expect(b.get("idempotency_key") and
               p["headers"].get("Idempotency-Key") == b["idempotency_key"],
               "the idempotency key in body and header: %r" % p)
        expect(len(wa_to()) == 1, "WhatsApp not sent twice")
        print("sdk-e2e: %s: skeleton POST at the receiver: case %s stage %s template %s text %r"
              % (tag, b["case_id"], b["stage"], b["template"], (b.get("text") or "")[:60]))
        ok = True
    except AssertionError as e:
        print("sdk-e2e: %s: FAIL: %s" % (tag, e))
        try:
            c = sqlite3.connect("file:%s?mode=ro" % os.path.join(tmp, "state.db"), uri=True)
            for t in ("eng_cases", "eng_touches"):
                print(t, c.execute("SELECT * FROM %s" % t).fetchall())
            c.close()
        except Exception as x:  # the database may not exist yet
            print("(no state: %s)" % x)
        print(log()[-4000:])
    finally:
        for name, p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if p.returncode != 0:
                print("sdk-e2e: %s exited with %s" % (name, p.returncode))
                ok = False
        if rcv:
            rcv.close()
        dlog.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("sdk-e2e: %s: %s" % (tag, "ok" if ok else "FAILED"))
    return ok


if __name__ == "__main__":
    sys.exit(main())
