#!/usr/bin/python3
"""Generate N distinct signed Shopify orders/create webhooks for
bench/shopify-ingest: SAMPLES_DIR OUT_DIR N SECRET.

Each order is a sample from tests/plugins/shopify/ with a new id, name, customer,
dates moved into the future and 8-21 line items (8-20 KB bodies). Writes
OUT_DIR/bodies.bin (bodies back to back), OUT_DIR/post.lua (the wrk script that
sends them in turn with Shopify's headers and the base64 HMAC), OUT_DIR/sizes."""
import base64, copy, datetime, hashlib, hmac, json, os, random, sys, uuid

samples_dir, out, n, secret = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
rng = random.Random(7)
samples = [json.load(open(os.path.join(samples_dir, f)))
           for f in ("order_presale.json", "order_unpaid_jpy.json")]
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
iso = lambda t: t.isoformat().replace("+00:00", "Z")
offs, sizes, heads = [], [], []
with open(os.path.join(out, "bodies.bin"), "wb") as f:
    for i in range(n):
        o = copy.deepcopy(samples[i % len(samples)])
        oid = 7000000000000000000 + i
        o["id"] = oid
        o["admin_graphql_api_id"] = "gid://shopify/Order/%d" % oid
        o["name"] = "#B%d" % (10000 + i)
        o["order_number"] = o["number"] = 10000 + i
        o["created_at"] = o["processed_at"] = iso(now)
        o["updated_at"] = iso(now)
        cust = o.get("customer") or {}
        cust["id"] = 9000000000 + i
        cust["email"] = o["email"] = o["contact_email"] = "buyer%d@example.com" % i
        o["customer"] = cust
        pt = o.get("payment_terms")
        if pt:
            for s in pt.get("payment_schedules", []):
                s["due_at"] = iso(now + datetime.timedelta(days=10))
        items = o["line_items"]
        want = rng.randint(9, 20)
        while len(items) < want:
            li = copy.deepcopy(items[len(items) % 20 if len(items) >= 20 else 0])
            li["id"] = 5000000000000 + len(items)
            li["title"] = li.get("title", "Item") + " v%d" % len(items)
            items.append(li)
        del items[want:]
        body = json.dumps(o, separators=(",", ":")).encode()
        sig = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
        offs.append(f.tell()); sizes.append(len(body))
        heads.append((sig, str(uuid.UUID(int=rng.getrandbits(128))), str(uuid.UUID(int=rng.getrandbits(128)))))
        f.write(body)
with open(os.path.join(out, "index.txt"), "w") as f:
    for (o, s, h) in zip(offs, sizes, heads):
        f.write("%d %d %s %s %s\n" % (o, s, *h))
lua = r'''
local dir = "%s"
local bodies, idx = {}, {}
local f = assert(io.open(dir .. "/bodies.bin", "rb"))
local all = f:read("*a"); f:close()
for line in io.lines(dir .. "/index.txt") do
  local o, s, sig, wid, eid = line:match("(%%d+) (%%d+) (%%S+) (%%S+) (%%S+)")
  o = tonumber(o); s = tonumber(s)
  idx[#idx + 1] = { body = all:sub(o + 1, o + s), sig = sig, wid = wid, eid = eid }
end
all = nil
-- every request formatted once, at start (after wrk has set Host): the
-- client then only hands out prepared strings, so its cost per request is
-- small and the same for the daemon and the bare server
local reqs = {}
function init(args)
  for j, e in ipairs(idx) do
    reqs[j] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["X-Shopify-Topic"] = "orders/create",
      ["X-Shopify-Hmac-Sha256"] = e.sig,
      ["X-Shopify-Shop-Domain"] = "bench-shop.myshopify.com",
      ["X-Shopify-API-Version"] = "2025-10",
      ["X-Shopify-Webhook-Id"] = e.wid,
      ["X-Shopify-Event-Id"] = e.eid,
      ["X-Shopify-Triggered-At"] = "2026-11-23T00:00:00.000000000Z",
    }, e.body)
  end
  idx = nil
  collectgarbage()
end
local i = 0
request = function()
  i = i + 1
  return reqs[((i - 1) %% #reqs) + 1]
end
''' % out
open(os.path.join(out, "post.lua"), "w").write(lua)
# the same, paced: each connection waits PACE_MS between its requests
open(os.path.join(out, "paced.lua"), "w").write(
    lua + "local pace = tonumber(os.getenv(\"PACE_MS\") or \"3\")\n"
          "delay = function() return pace end\n")
desc = "%d distinct orders, %d-%d bytes, mean %d" % (n, min(sizes), max(sizes), sum(sizes) // n)
open(os.path.join(out, "sizes"), "w").write(desc)
print("generated " + desc)
