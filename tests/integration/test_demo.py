#!/usr/bin/python3
"""The demo's scenario (scripts/demo_scenario.py) as an integration test, on
manual clocks: the real SMTP server, sim/duegate-sim and the daemon with
examples/demo.json, both clocks at the demo's start and moved forward together
in steps (POST /_sim/clock and /_duegate/clock, no sleeping for virtual time);
after each step the test waits until nothing is in flight (the simulator's
webhooks, touches being sent, SMTP). The test plays the merchant's operator
as the demo does: when Dan's reply is waiting for a person, it records his
promise to pay through the real admin API (127.0.0.1 port 0, a random token in
the daemon's environment). It then asserts each customer's outcome from
the daemon's database, the messages the simulator received and the mails the SMTP
server got. Run by `make check` from the build directory (the working directory
holds duegate, plugins/ and sim/duegate-sim)."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import demo_scenario as scen  # noqa: E402

BUILD = os.environ.get("DG_BUILD_DIR", os.getcwd())
STEP_MS = 10 * 60 * 1000
DAYS = 11


def ms(iso):
    import datetime as dt
    return int(dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc).timestamp() * 1000)


def post(url, body):
    return scen.call(url, "POST", body, timeout=30)


class DemoScenario(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="dg-demo-test.")
        cls.procs = []
        try:
            cls.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def spawn(cls, argv, name, env=None):
        with open(os.path.join(cls.work, name + ".log"), "wb") as log:
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.PIPE, stderr=log,
                                 env=env)
        cls.procs.append(p)
        return p

    @classmethod
    def start(cls):
        sim_bin = os.path.join(BUILD, "sim", "duegate-sim")
        mail = os.path.join(cls.work, "mail")
        cls.mail = mail
        smtp = cls.spawn(["/usr/bin/python3", os.path.join(HERE, "smtp_sink.py"), "--dir", mail],
                         "smtp")
        line = smtp.stdout.readline().decode()
        assert line.startswith("PORT "), "smtp_sink did not start"
        smtp_port = int(line.split()[1])
        with open(os.path.join(TOP, "examples", "demo.json")) as f:
            base = json.load(f)
        clock = {"mode": "manual", "start": scen.START}
        # the daemon's port first (free now, taken by the daemon just after)
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        dport = s.getsockname()[1]
        s.close()
        with open(os.path.join(cls.work, "sim.json"), "w") as f:
            json.dump(scen.sim_config(base, dport, clock, os.path.join(TOP, "templates")), f)
        sim = cls.spawn([sim_bin, "-c", os.path.join(cls.work, "sim.json")], "sim")
        line = sim.stdout.readline().decode()
        assert "duegate-sim listening port=" in line, "duegate-sim did not start"
        cls.sim = "http://127.0.0.1:%d" % int(line.rsplit("=", 1)[1])
        cfg = scen.daemon_config(base, TOP, cls.work, dport, cls.sim, smtp_port, clock)
        cpath = os.path.join(cls.work, "demo.json")
        with open(cpath, "w") as f:
            json.dump(cfg, f)
        token = scen.new_token()
        daemon = cls.spawn([os.path.join(BUILD, "duegate"), "run", "-c", cpath, "--plugin-dir",
                            os.path.join(BUILD, "plugins")], "daemon", env=scen.admin_env(token))
        cls.daemon = "http://127.0.0.1:%d" % dport
        for _ in range(200):  # the daemon starting (real time: process start-up)
            try:
                scen.call(cls.daemon + "/_duegate/clock")
                break
            except (OSError, urllib.error.URLError):
                time.sleep(0.05)
        else:
            raise AssertionError("the daemon did not start")
        aport = scen.admin_port(os.path.join(cls.work, "daemon.log"), daemon)
        cls.admin = scen.Admin("http://127.0.0.1:%d" % aport, token)
        cls.db = None
        cls.orders = scen.seed(cls.sim)
        cls.payer = scen.Customers(cls.sim, cls.orders)
        cls.operator = scen.Operator(cls.admin, cls.orders)
        cls.run_scenario()

    @classmethod
    def query(cls, sql):
        if cls.db is None:
            cls.db = sqlite3.connect("file:%s?mode=ro" % os.path.join(cls.work, "demo.db"),
                                     uri=True, timeout=5)
            cls.db.row_factory = sqlite3.Row
        return cls.db.execute(sql).fetchall()

    @classmethod
    def fingerprint(cls):
        st = scen.call(cls.sim + "/_sim/stats")
        busy = st.get("webhooks_in_flight", 0)
        rows = cls.query("SELECT count(*) n, sum(status = 1) sending, max(updated_at) u FROM eng_touches")
        cases = cls.query("SELECT count(*) n, max(changed_at) u, max(updated_at) v FROM eng_cases")
        mails = len([f for f in os.listdir(cls.mail) if f.endswith(".eml")]) if os.path.isdir(cls.mail) else 0
        fp = (json.dumps(st.get("webhooks"), sort_keys=True), st.get("sms_messages"),
              json.dumps(st.get("whatsapp"), sort_keys=True), tuple(rows[0]), tuple(cases[0]), mails)
        return fp, busy or (rows[0]["sending"] or 0)

    @classmethod
    def settle(cls):
        """Wait (real time) until the simulator, the daemon and SMTP are idle."""
        last, same = None, 0
        for _ in range(2000):
            fp, busy = cls.fingerprint()
            if not busy and fp == last:
                same += 1
                if same >= 2:
                    return
            else:
                same = 0
            last = fp
            time.sleep(0.01)
        raise AssertionError("the system did not settle")

    @classmethod
    def run_scenario(cls):
        cls.settle()
        for _ in range(DAYS * 24 * 3600 * 1000 // STEP_MS):
            post(cls.sim + "/_sim/clock", {"advance_ms": STEP_MS})
            post(cls.daemon + "/_duegate/clock", {"advance_ms": STEP_MS})
            cls.settle()
            if cls.operator.react(cls):
                cls.settle()
            if cls.payer.react(cls):
                cls.settle()
            cases = {r["id"]: r for r in cls.query("SELECT * FROM eng_cases")}
            if scen.all_settled(cases, len(cls.orders)):
                break
        cls.cases = {r["order_name"]: r for r in cls.query("SELECT * FROM eng_cases")}
        cls.touches = {}
        for r in cls.query("SELECT c.order_name, t.stage, t.channel, t.status, t.error_code, "
                           "t.created_at, t.sent_at "
                           "FROM eng_touches t JOIN eng_cases c ON c.id = t.case_id ORDER BY t.id"):
            cls.touches.setdefault(r["order_name"], []).append(dict(r))
        cls.messages = scen.sim_messages(cls.sim)
        cls.actions = {}
        for r in cls.query("SELECT c.order_name, a.who, a.what, a.arg, a.at FROM eng_actions a "
                           "JOIN eng_cases c ON c.id = a.case_id ORDER BY a.id"):
            cls.actions.setdefault(r["order_name"], []).append(dict(r))
        cls.history = cls.query("SELECT * FROM eng_history")
        dan = cls.cases["#%d" % (1001 + [c["key"] for c in scen.CUSTOMERS].index("promises"))]
        cls.dan_api = cls.admin.case(dan["id"])

    @classmethod
    def tearDownClass(cls):
        for p in reversed(cls.procs):
            if p.poll() is None:
                p.terminate()
        for p in cls.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            for f in (p.stdin, p.stdout):
                f.close()
        if getattr(cls, "db", None):
            cls.db.close()
        if os.environ.get("DG_KEEP"):
            print("kept in", cls.work, file=sys.stderr)
        else:
            shutil.rmtree(cls.work, ignore_errors=True)

    # ---------------------------------------------------------------- helpers
    def case(self, key):
        i = [c["key"] for c in scen.CUSTOMERS].index(key)
        return self.cases["#%d" % (1001 + i)], self.touches.get("#%d" % (1001 + i), [])

    def status(self, c):
        return scen.STATUS_CASE[c["status"]]

    def sent(self, touches):
        return [(t["stage"], t["channel"]) for t in touches
                if scen.STATUS_TOUCH[t["status"]] not in ("scheduled", "sending", "failed")]

    # ------------------------------------------------------------------ tests
    def test_every_order_became_a_case_with_its_zone_and_locale(self):
        self.assertEqual(len(self.cases), len(scen.CUSTOMERS))
        for i, cu in enumerate(scen.CUSTOMERS):
            c = self.cases["#%d" % (1001 + i)]
            self.assertEqual(c["locale"], cu["locale"])
            self.assertEqual(c["country"], cu["country"])
            self.assertEqual(c["phone"], cu["phone"])

    def test_presale_customer_pays_after_the_gentle_reminder(self):
        c, t = self.case("pays")
        self.assertEqual(self.status(c), "paid")
        self.assertEqual(self.sent(t), [("gentle", "whatsapp")])

    def test_silent_customer_gets_whatsapp_sms_email_then_final_then_expiry(self):
        c, t = self.case("silent")
        self.assertEqual(self.status(c), "expired")
        sent = self.sent(t)
        self.assertEqual([ch for st, ch in sent if st == "formal"], ["whatsapp", "sms", "email"])
        self.assertIn("final", [st for st, ch in sent])
        self.assertEqual(sent[0], ("gentle", "whatsapp"))
        self.assertIn(("gentle", "sms"), sent)
        self.assertLessEqual(len({st for st, ch in sent}), 3)  # at most three stages

    def test_question_pauses_the_case_for_a_person(self):
        c, t = self.case("asks")
        self.assertEqual(self.status(c), "paused")
        self.assertEqual(c["needs_person"], 1)
        self.assertEqual(c["feedback"], "请问可以分两次付款吗？")
        self.assertEqual(self.sent(t), [("gentle", "whatsapp")])

    def test_operator_records_the_promise_then_one_followup_then_payment(self):
        c, t = self.case("promises")
        self.assertEqual(self.status(c), "paid")
        self.assertEqual(c["needs_person"], 0)
        self.assertIn("Dec 7", c["feedback"])
        # the operator's action, through the admin API: who, what, the date
        acts = self.actions.get(c["order_name"], [])
        self.assertEqual([(a["who"], a["what"]) for a in acts], [("demo-operator", "promise")])
        promise_at = ms("2026-12-07T23:59:59Z")
        self.assertEqual(acts[0]["arg"][:19], "2026-12-07T23:59:59")
        # after the reply (30 minutes after the gentle reminder), before the date
        self.assertGreaterEqual(acts[0]["at"], t[0]["sent_at"] + 30 * scen.MIN)
        self.assertLess(acts[0]["at"], promise_at)
        # the gentle reminder, nothing until the date, then exactly one follow-up stage:
        # its text has no pre-approved WhatsApp template, and WhatsApp's 24-hour window
        # closed days ago, so the WhatsApp attempt fails and the stage falls back to SMS
        self.assertEqual(self.sent(t), [("gentle", "whatsapp"), ("followup", "sms")])
        self.assertEqual([x for x in t if acts[0]["at"] < x["created_at"] < promise_at], [])
        follow = [x for x in t if x["stage"] == "followup"]
        self.assertEqual([(x["channel"], x["error_code"]) for x in follow],
                         [("whatsapp", "window_closed"), ("sms", "")])
        self.assertTrue(all(x["created_at"] >= promise_at for x in follow))
        self.assertEqual(len([x for x in t if x["stage"] != "followup"]), 1)
        # then he paid: after the follow-up, later than his own date
        self.assertGreaterEqual(c["changed_at"], follow[-1]["sent_at"])
        kinds = [h["event"] for h in self.history if h["order_id"] == c["order_id"]]
        self.assertEqual(kinds[-2:], ["paid", "promise_late"])
        # the admin API's case: paid, the promise date, the operator's action in its timeline
        self.assertEqual(self.dan_api["status"], "paid")
        self.assertEqual(self.dan_api["promise_at"][:19], "2026-12-07T23:59:59")
        tl = [(e["type"], e.get("stage") or e.get("what")) for e in self.dan_api["timeline"]
              if e["type"] != "reply"]
        self.assertEqual(tl, [("touch", "gentle"), ("action", "promise"), ("touch", "followup"),
                              ("touch", "followup")])
        act = [e for e in self.dan_api["timeline"] if e["type"] == "action"][0]
        self.assertEqual((act["who"], act["arg"][:10]), ("demo-operator", "2026-12-07"))

    def test_stop_opts_out_and_nothing_more_is_sent(self):
        c, t = self.case("stop")
        self.assertEqual(self.status(c), "opted_out")
        self.assertEqual(self.sent(t), [("gentle", "whatsapp")])

    def test_unpaid_order_recovered_at_three_hours(self):
        c, t = self.case("unpaid")
        self.assertEqual(self.status(c), "paid")
        stages = [st for st, ch in self.sent(t)]
        self.assertEqual(stages[-1], "value")
        self.assertNotIn("last_chance", stages)

    def test_simulator_and_smtp_received_what_the_daemon_recorded(self):
        wa = [r for r in self.messages.get("whatsapp", []) if r.get("status") == 200]
        sms = self.messages.get("sms", [])
        sent = [x for ts in self.touches.values() for x in self.sent(ts)]
        self.assertEqual(len(wa), sum(1 for st, ch in sent if ch == "whatsapp"))
        self.assertEqual(len(sms), sum(1 for st, ch in sent if ch == "sms"))
        mails = [f for f in os.listdir(self.mail) if f.endswith(".eml")]
        self.assertEqual(len(mails), sum(1 for st, ch in sent if ch == "email"))


if __name__ == "__main__":
    if not os.access(os.path.join(BUILD, "sim", "duegate-sim"), os.X_OK):
        print("test_demo: %s/sim/duegate-sim not built" % BUILD, file=sys.stderr)
        sys.exit(99)
    unittest.main(verbosity=2)
