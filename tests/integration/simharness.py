"""Harness for duegate's integration tests: the real `duegate` daemon, the
real `sim/duegate-sim` and (optionally) a real SMTP server (smtp_sink.py,
python3-aiosmtpd), all on 127.0.0.1 port 0 with the ports read back. Both
the daemon and the simulator run MANUAL clocks: virtual time moves only
through POST /_duegate/clock and POST /_sim/clock; the tests wait for
asynchronous effects by polling with a bounded real-time timeout, never by
sleeping for virtual time.

Environment (set by `make check`): DG_TOP_BUILDDIR, DG_TOP_SRCDIR."""
import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

TOP_B = os.environ.get("DG_TOP_BUILDDIR", os.path.abspath("."))
TOP_S = os.environ.get("DG_TOP_SRCDIR", os.path.abspath(".."))
START = "2026-03-03T15:00:00Z"  # 10:00 in New York: inside every window
WA_SECRET, WA_TOKEN, WA_PHONE_ID = "wa-app-secret", "wa-token", "1122334455667"
TW_SID, TW_TOKEN, TW_FROM = "AC00000000000000000000000000000001", "tw-auth-token", "+15005550006"
PY = os.environ.get("DG_PYTHON3") or "/usr/bin/python3"
SHOP, SHOP_SECRET, SHOP_TOKEN = "duegate-test.myshopify.com", "shop-secret", "shpat_test"


def fail(msg):
    raise AssertionError(msg)


def http(method, url, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"null")


def wait_for(pred, what, timeout=20.0):
    """Poll pred() (real time, bounded) until it returns a true value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            fail("timed out waiting for " + what)
        time.sleep(0.02)


def wa_templates():
    """The simulator's registry: every shipped WhatsApp template, every locale."""
    out = []
    for f in sorted(glob.glob(os.path.join(TOP_S, "templates", "*", "*", "whatsapp.json"))):
        t = json.load(open(f))
        for loc in t["locales"].values():
            out.append({"name": loc["name"], "language": loc["language"],
                        "params": len(loc.get("params", t["params"])),
                        "buttons": [b["type"] for b in t.get("buttons", [])]})
    return out


def order(oid, phone, email, first="Ana", province="NY", total="45.00"):
    """A Shopify REST order, unpaid (pending), a New York customer."""
    return {
        "id": oid, "admin_graphql_api_id": "gid://shopify/Order/%d" % oid,
        "name": "#%d" % (oid % 100000), "order_number": oid % 100000,
        "email": email, "phone": phone, "customer_locale": "en",
        "created_at": START, "updated_at": START, "cancelled_at": None, "closed_at": None,
        "financial_status": "pending", "currency": "USD", "presentment_currency": "USD",
        "total_price": total, "current_total_price": total, "total_outstanding": total,
        "order_status_url": "https://shop.example.test/orders/%d/authenticate?key=k" % oid,
        "tags": "", "note_attributes": [], "payment_terms": None,
        "customer": {"id": oid + 7, "first_name": first, "last_name": "Test", "email": email,
                     "phone": phone, "orders_count": 1,
                     "default_address": {"country_code": "US", "province_code": province}},
        "billing_address": {"first_name": first, "last_name": "Test", "phone": phone,
                            "country_code": "US", "province_code": province, "city": "NYC"},
        "line_items": [{"id": oid + 1, "name": "Canvas tote", "title": "Canvas tote",
                        "quantity": 1, "price": total, "product_id": 1, "variant_id": 2}],
    }


class Stack:
    """SMTP sink + simulator + daemon, torn down by close()."""

    def __init__(self, wa_extra=None, daemon_extra=None, smtp=True, wa_rate=None, sms=True,
                 wa_webhooks=True):
        self.dir = tempfile.mkdtemp(prefix="dg_e2e_")
        self.procs = []
        self.smtp_port = None
        if smtp:
            self.maildir = os.path.join(self.dir, "mail")
            p = self.spawn([PY, os.path.join(TOP_S, "tests/integration/smtp_sink.py"),
                            "--dir", self.maildir], "smtp")
            line = p.stdout.readline().decode()
            m = re.match(r"PORT (\d+)", line)
            if not m:
                fail("smtp_sink did not start: %r" % line)
            self.smtp_port = int(m.group(1))
        wa = {"phone_number_id": WA_PHONE_ID, "access_token": WA_TOKEN, "app_secret": WA_SECRET,
              "templates": wa_templates()}
        wa.update(wa_extra or {})
        simcfg = {"listen": "127.0.0.1:0", "seed": 11,
                  "clock": {"mode": "manual", "start": START},
                  "whatsapp": wa,
                  "twilio": {"account_sid": TW_SID, "auth_token": TW_TOKEN},
                  "shopify": {"shop_domain": SHOP, "client_secret": SHOP_SECRET,
                              "access_token": SHOP_TOKEN, "api_version": "2025-10"}}
        self.write("sim.json", simcfg)
        p = self.spawn([os.path.join(TOP_B, "sim/duegate-sim"), "-c",
                        os.path.join(self.dir, "sim.json")], "sim")
        line = p.stdout.readline().decode()
        m = re.match(r"duegate-sim listening port=(\d+)", line)
        if not m:
            fail("duegate-sim did not start: %r" % line)
        self.sim = "http://127.0.0.1:%s" % m.group(1)
        chans = {
            "wa": {"plugin": "whatsapp", "phone_number_id": WA_PHONE_ID,
                   "access_token": WA_TOKEN, "app_secret": WA_SECRET, "verify_token": "v",
                   "api_base": self.sim},
        }
        if sms:
            chans["sms"] = {"plugin": "sms", "account_sid": TW_SID, "auth_token": TW_TOKEN,
                            "from": TW_FROM, "api_base": self.sim}
        if wa_rate is not None:
            chans["wa"]["rate_per_second"] = wa_rate
            chans["wa"]["recipient_spacing_ms"] = 0
        if smtp:
            chans["mail"] = {"plugin": "email", "smtp_url": "smtp://127.0.0.1:%d" % self.smtp_port,
                             "require_tls": False, "verify_peer": False,
                             "from_address": "billing@shop.example", "from_name": "Test Shop",
                             "unsubscribe_secret": "unsub-secret"}
        dcfg = {"daemon": {"state_db": os.path.join(self.dir, "state.db"),
                           "templates_dir": os.path.join(TOP_S, "templates"),
                           "listen": "127.0.0.1:0", "public_url": "http://127.0.0.1:0",
                           "plugin_dirs": [os.path.join(TOP_B, "plugins/.libs")],
                           "log_level": "info", "shutdown_timeout_ms": 2000,
                           "clock": {"mode": "manual", "start": START}},
                "channels": chans,
                "stores": {"shop": {"plugin": "shopify", "shop_domain": SHOP,
                                    "access_token": SHOP_TOKEN, "client_secret": SHOP_SECRET,
                                    "admin_base": self.sim}},
                "engine": {"store_tz": "America/New_York"}}
        for k, v in (daemon_extra or {}).items():
            dcfg.setdefault(k, {}).update(v)
        self.write("duegate.json", dcfg)
        self.dlog = open(os.path.join(self.dir, "daemon.log"), "w+")
        self.dcfg = dcfg
        d = self.start_daemon()

        def port():
            self.dlog.seek(0)
            m = re.search(r"http_listening addr=\S+ port=(\d+)", self.dlog.read())
            if d.poll() is not None:
                fail("the daemon exited:\n" + self.daemon_log())
            return m and m.group(1)
        # a start takes well under a second; the bound is for a loaded machine
        # (the sanitizer suite beside other jobs: once over 20 s)
        self.daemon = "http://127.0.0.1:%s" % wait_for(port, "the daemon's port", timeout=90)
        wait_for(lambda: "core ready" in self.daemon_log() or d.poll() is not None, "daemon ready",
                 timeout=90)
        if d.poll() is not None:
            fail("the daemon exited:\n" + self.daemon_log())
        http("POST", self.sim + "/_sim/callbacks",
             {"whatsapp": self.daemon + "/webhooks/whatsapp/wa" if wa_webhooks else None,
              "shopify": self.daemon + "/webhooks/shopify/shop",
              "twilio_inbound": self.daemon + "/webhooks/sms/sms/inbound"})

    def start_daemon(self):
        """(Re)start the daemon on duegate.json; returns the process."""
        env = dict(os.environ, DUEGATE_PLUGIN_PATH="")
        wrap = os.environ.get("DG_DAEMON_WRAP", "").split()  # e.g. "perf record -g -o F"
        d = subprocess.Popen(wrap + [os.path.join(TOP_B, "duegate"), "run", "-c",
                              os.path.join(self.dir, "duegate.json")],
                             stdout=self.dlog, stderr=subprocess.STDOUT, env=env)
        self.procs.append(("daemon", d))
        self.dproc = d
        return d

    def write(self, name, obj):
        with open(os.path.join(self.dir, name), "w") as f:
            json.dump(obj, f, indent=1)

    def spawn(self, argv, name):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                             stderr=None if name == "smtp" else sys.stderr)
        self.procs.append((name, p))
        return p

    def daemon_log(self):
        self.dlog.seek(0)
        return self.dlog.read()

    def close(self, keep=False):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        bad = ["%s exited with %s" % (name, p.returncode) for name, p in self.procs
               if name in ("daemon", "sim") and p.returncode != 0]
        if bad:  # both stop cleanly on SIGTERM (sanitizer reports end in 1)
            print("\n".join(bad) + "\n" + self.daemon_log()[-3000:])
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        return not bad

    # ---- clocks: both move together
    def advance(self, ms):
        http("POST", self.daemon + "/_duegate/clock", {"advance_ms": ms})
        http("POST", self.sim + "/_sim/clock", {"advance_ms": ms})

    def tick(self):
        """Fire the daemon's timers due at its current time without moving it
        (a webhook handled after the last advance may have planned an action
        for "now": a manual clock runs it at the next advance)."""
        http("POST", self.daemon + "/_duegate/clock", {"advance_ms": 0})

    def settle(self):
        """Wait until no webhook is in flight from the simulator, then tick."""
        wait_for(lambda: http("GET", self.sim + "/_sim/stats")["webhooks_in_flight"] == 0,
                 "simulator webhooks to land")
        self.tick()

    # ---- observations
    def messages(self):
        return http("GET", self.sim + "/_sim/messages")

    def wa_to(self, phone, accepted_only=True):
        return [r for r in self.messages()["whatsapp"]
                if (r.get("to") or "").lstrip("+") == phone.lstrip("+") and (r.get("code") == 0 or not accepted_only)]

    def sms_to(self, phone):
        return [m for m in self.messages()["sms"] if m["to"].lstrip("+") == phone.lstrip("+")]

    def mails(self):
        return sorted(glob.glob(os.path.join(self.maildir, "*.eml")))

    def db(self, sql, args=()):
        c = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.dir, "state.db"), uri=True,
                            timeout=10)
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

    def case(self, order_id):
        rows = self.db("SELECT status FROM eng_cases WHERE order_id = ?", (str(order_id),))
        return rows[0][0] if rows else None

    def add_order(self, o):
        http("POST", self.sim + "/_sim/shopify/orders", o)
        wait_for(lambda: self.case(o["id"]) is not None, "a case for order %d" % o["id"])
