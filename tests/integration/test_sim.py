#!/usr/bin/env python3
"""duegate-sim on its own, on a SCALED clock (rate 600: a virtual minute in
100 ms), against a small receiver that plays the daemon: the timer armed on
the earliest persona due time delivers WhatsApp statuses signed
X-Hub-Signature-256 and Twilio status callbacks signed X-Twilio-Signature;
a Shopify webhook answered 500 is retried with the same ids and payload
(retry 1 is due one virtual minute later); the control API's manual-only
clock route refuses a scaled clock; a bad clock anchor is refused at start.
Waits are bounded polls in real time."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simharness as h  # noqa: E402

GOT = []
LOCK = threading.Lock()
SHOP_FAIL_FIRST = {"left": 1}


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        status = 200
        with LOCK:
            if self.path.startswith("/shop") and SHOP_FAIL_FIRST["left"] > 0:
                SHOP_FAIL_FIRST["left"] -= 1
                status = 500
            GOT.append((self.path, dict(self.headers), body, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def got(prefix):
    with LOCK:
        return [g for g in GOT if g[0].startswith(prefix)]


def config_error(d, clock, needle):
    """The simulator refuses a bad clock with a one-line message and exits."""
    path = os.path.join(d, "bad.json")
    with open(path, "w") as f:
        json.dump({"listen": "127.0.0.1:0", "clock": clock}, f)
    r = subprocess.run([os.path.join(h.TOP_B, "sim/duegate-sim"), "-c", path],
                       capture_output=True, text=True, timeout=30)
    if r.returncode == 0 or needle not in r.stderr:
        h.fail("clock %r: expected an error naming %r, got rc=%d %r"
               % (clock, needle, r.returncode, r.stderr))


def main():
    d0 = tempfile.mkdtemp(prefix="dg_sim_cfg_")
    config_error(d0, {"mode": "scaled", "rate": 60, "anchor": "noon"},
                 "clock.anchor: an ISO 8601 time")
    config_error(d0, {"mode": "manual", "start": h.START, "anchor": "2026-11-24T10:00:00Z"},
                 "clock.anchor: only a scaled clock has an anchor")
    os.unlink(os.path.join(d0, "bad.json"))
    os.rmdir(d0)
    now = time.time()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % srv.server_address[1]
    d = tempfile.mkdtemp(prefix="dg_sim_")
    cfg = {"listen": "127.0.0.1:0", "seed": 3,
           # anchored now: the same clock as counting from the start (the demo
           # anchors the simulator and the daemon to one instant)
           "clock": {"mode": "scaled", "rate": 600, "start": h.START,
                     "anchor": "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)),
                                             int(now * 1000) % 1000)},
           "whatsapp": {"phone_number_id": h.WA_PHONE_ID, "access_token": h.WA_TOKEN,
                        "app_secret": h.WA_SECRET, "callback_url": base + "/wa",
                        "templates": [{"name": "t1", "language": "en", "params": 1}]},
           "twilio": {"account_sid": h.TW_SID, "auth_token": h.TW_TOKEN},
           "shopify": {"shop_domain": h.SHOP, "client_secret": h.SHOP_SECRET,
                       "access_token": h.SHOP_TOKEN, "callback_url": base + "/shop"}}
    with open(os.path.join(d, "sim.json"), "w") as f:
        json.dump(cfg, f)
    p = subprocess.Popen([os.path.join(h.TOP_B, "sim/duegate-sim"), "-c",
                          os.path.join(d, "sim.json")], stdout=subprocess.PIPE)
    ok = False
    try:
        sim = "http://127.0.0.1:%s" % p.stdout.readline().decode().split("port=")[1].strip()
        # WhatsApp: one template message; sent/delivered/read arrive on the timer
        req = urllib.request.Request(
            sim + "/v21.0/%s/messages" % h.WA_PHONE_ID, method="POST",
            data=json.dumps({"messaging_product": "whatsapp", "to": "+12125550199",
                             "type": "template",
                             "template": {"name": "t1", "language": {"code": "en"},
                                          "components": [{"type": "body", "parameters": [
                                              {"type": "text", "text": "x"}]}]}}).encode(),
            headers={"Authorization": "Bearer " + h.WA_TOKEN,
                     "Content-Type": "application/json"})
        wamid = json.loads(urllib.request.urlopen(req).read())["messages"][0]["id"]
        statuses = h.wait_for(lambda: len(got("/wa")) >= 3 and got("/wa"), "3 WhatsApp statuses")
        seen = []
        for _, hd, body, _ in statuses:
            want = "sha256=" + hmac.new(h.WA_SECRET.encode(), body, hashlib.sha256).hexdigest()
            if hd.get("X-Hub-Signature-256") != want:
                h.fail("bad X-Hub-Signature-256")
            for e in json.loads(body)["entry"]:
                for c in e["changes"]:
                    for s in c["value"].get("statuses", []):
                        if s["id"] != wamid:
                            h.fail("status for another message")
                        seen.append(s["status"])
        if sorted(seen) != ["delivered", "read", "sent"]:
            h.fail("statuses %r" % seen)
        # Twilio: the status callbacks go to the request's StatusCallback, signed
        cb = base + "/tw/status"
        form = urllib.parse.urlencode({"To": "+12125550199", "From": h.TW_FROM, "Body": "hi",
                                       "StatusCallback": cb}).encode()
        req = urllib.request.Request(
            sim + "/2010-04-01/Accounts/%s/Messages.json" % h.TW_SID, data=form, method="POST",
            headers={"Authorization": "Basic " + base64.b64encode(
                ("%s:%s" % (h.TW_SID, h.TW_TOKEN)).encode()).decode()})
        if urllib.request.urlopen(req).status != 201:
            h.fail("Twilio create not 201")
        tw = h.wait_for(lambda: any(b"MessageStatus=delivered" in g[2] for g in got("/tw"))
                        and got("/tw"), "the Twilio delivered callback")
        for _, hd, body, _ in tw:
            params = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
            data = cb + "".join(k + v for k, v in sorted(params))
            want = base64.b64encode(hmac.new(h.TW_TOKEN.encode(), data.encode(),
                                             hashlib.sha1).digest()).decode()
            if hd.get("X-Twilio-Signature") != want:
                h.fail("bad X-Twilio-Signature")
        # Shopify: answered 500 once, retried with the same ids and bytes
        o = h.order(5004000000000000001, "+12125550198", "s@example.com")
        urllib.request.urlopen(urllib.request.Request(
            sim + "/_sim/shopify/orders", data=json.dumps(o).encode(), method="POST"))
        sh = h.wait_for(lambda: len(got("/shop")) >= 2 and got("/shop"), "the Shopify retry")
        a, b = sh[0], sh[1]
        if a[3] != 500 or b[3] != 200 or a[2] != b[2]:
            h.fail("retry differs or statuses wrong")
        for k in ("X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Topic"):
            if a[1].get(k) != b[1].get(k) or not a[1].get(k):
                h.fail("header %s not kept on the retry" % k)
        want = base64.b64encode(hmac.new(h.SHOP_SECRET.encode(), a[2],
                                         hashlib.sha256).digest()).decode()
        if a[1].get("X-Shopify-Hmac-Sha256") != want:
            h.fail("bad X-Shopify-Hmac-Sha256")
        stats = json.loads(urllib.request.urlopen(sim + "/_sim/stats").read())["webhooks"]
        if stats["shopify"]["failed"] != 1 or stats["shopify"]["ok"] != 1:
            h.fail("shopify counters %r" % stats["shopify"])
        # a scaled clock cannot be moved by hand
        try:
            urllib.request.urlopen(urllib.request.Request(
                sim + "/_sim/clock", data=b'{"advance_ms": 1000}', method="POST"))
            h.fail("the scaled clock moved")
        except urllib.error.HTTPError as e:
            if e.code != 409:
                raise
        print("ok   sim on a scaled clock: signed WhatsApp, Twilio and Shopify webhooks, retry")
        ok = True
    except AssertionError as e:
        print("FAIL sim: %s" % e)
    finally:
        p.terminate()
        rc = p.wait(timeout=10)
        srv.shutdown()
        if rc != 0:
            print("duegate-sim exited with %s" % rc)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
