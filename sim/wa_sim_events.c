/* The simulator's webhooks: what follows an accepted message (statuses,
 * scripted customer replies), held in a min-heap on (due, seq) until the
 * clock reaches them, then batched into a signed envelope (protocols.md A6). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "wa_sim_int.h"

/* ---------------------------------------------------------------- heap */

static int before(const sim_ev *a, const sim_ev *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void push(wa_sim *s, int64_t due, int is_msg, cJSON *obj, sim_peer *from)
{
    size_t i;
    if (!obj)
        return;
    if (s->n_heap == s->cap_heap) {
        size_t nc = s->cap_heap ? s->cap_heap * 2 : 256;
        sim_ev *n = realloc(s->heap, nc * sizeof *n);
        if (!n) {
            cJSON_Delete(obj);
            return;
        }
        s->heap = n;
        s->cap_heap = nc;
    }
    i = s->n_heap++;
    s->heap[i] = (sim_ev){due, s->seq++, is_msg, obj, from};
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!before(&s->heap[i], &s->heap[up]))
            break;
        sim_ev t = s->heap[i];
        s->heap[i] = s->heap[up];
        s->heap[up] = t;
        i = up;
    }
}

static sim_ev pop(wa_sim *s)
{
    sim_ev top = s->heap[0];
    size_t i = 0;
    s->heap[0] = s->heap[--s->n_heap];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->n_heap && before(&s->heap[l], &s->heap[m]))
            m = l;
        if (r < s->n_heap && before(&s->heap[r], &s->heap[m]))
            m = r;
        if (m == i)
            break;
        sim_ev t = s->heap[i];
        s->heap[i] = s->heap[m];
        s->heap[m] = t;
        i = m;
    }
    return top;
}

void wa_sim__events_free(wa_sim *s)
{
    for (size_t i = 0; i < s->n_heap; i++)
        cJSON_Delete(s->heap[i].obj);
    free(s->heap);
    s->heap = NULL;
    s->n_heap = s->cap_heap = 0;
}

int64_t wa_sim_next_due(const wa_sim *s)
{
    return s->n_heap ? s->heap[0].due : -1;
}

/* -------------------------------------------------------------- events */

static void add_ts(cJSON *o, int64_t ms)
{
    char t[24];
    snprintf(t, sizeof t, "%lld", (long long)(ms / 1000));
    cJSON_AddStringToObject(o, "timestamp", t);
}

static cJSON *status_obj(const char *wamid, const char *st, const char *rcpt, const char *cb,
                         int64_t due, long err, const char *title)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", wamid);
    cJSON_AddStringToObject(o, "status", st);
    add_ts(o, due);
    cJSON_AddStringToObject(o, "recipient_id", rcpt);
    if (cb)
        cJSON_AddStringToObject(o, "biz_opaque_callback_data", cb);
    if (err) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "code", (double)err);
        cJSON_AddStringToObject(e, "title", title);
        cJSON_AddStringToObject(e, "message", title);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "error_data"), "details", title);
        cJSON_AddStringToObject(
            e, "href",
            "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "errors"), e);
    } else if (strcmp(st, "read") != 0) {
        cJSON *p = cJSON_AddObjectToObject(o, "pricing");
        cJSON_AddBoolToObject(p, "billable", 1);
        cJSON_AddStringToObject(p, "pricing_model", "PMP");
        cJSON_AddStringToObject(p, "type", "regular");
        cJSON_AddStringToObject(p, "category", "utility");
    }
    return o;
}

static void push_status(wa_sim *s, int64_t due, const char *wamid, const char *st,
                        const sim_peer *p, const char *cb, long err, const char *title)
{
    push(s, due, 0, status_obj(wamid, st, p->digits, cb, due, err, title), NULL);
    if (s->dup > 0 && wa_sim__uniform(s) < s->dup) /* Meta may deliver it twice */
        push(s, due + 1, 0, status_obj(wamid, st, p->digits, cb, due, err, title), NULL);
}

static cJSON *inbound_obj(wa_sim *s, const sim_peer *p, int64_t due, const char *ctx_wamid,
                          int button, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    char id[64];
    snprintf(id, sizeof id, "wamid.IN%016" PRIX64, wa_sim__rand(s));
    if (ctx_wamid) {
        cJSON *c = cJSON_AddObjectToObject(o, "context");
        cJSON_AddStringToObject(c, "from", s->display);
        cJSON_AddStringToObject(c, "id", ctx_wamid);
    }
    cJSON_AddStringToObject(o, "from", p->digits);
    cJSON_AddStringToObject(o, "id", id);
    add_ts(o, due);
    if (button) {
        cJSON *b;
        cJSON_AddStringToObject(o, "type", "button");
        b = cJSON_AddObjectToObject(o, "button");
        cJSON_AddStringToObject(b, "payload", p->payload ? p->payload : "");
        cJSON_AddStringToObject(b, "text", text ? text : "");
    } else {
        cJSON_AddStringToObject(o, "type", "text");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "text"), "body", text ? text : "");
    }
    return o;
}

void wa_sim__after_accept(wa_sim *s, sim_peer *p, const char *wamid, const char *cb, int is_text,
                          int window_open)
{
    int64_t now = wa_sim__now(s);
    int64_t t_sent = now + s->sent_after, t_del = now + s->delivered_after;
    int64_t t_read = now + s->read_after;
    if (p->behaviour == B_NOT_ON_WA) {
        push_status(s, t_sent, wamid, "failed", p, cb, 131026, "Message undeliverable");
        return;
    }
    if (is_text && !window_open) { /* Meta accepts, then fails it */
        push_status(s, t_sent, wamid, "failed", p, cb, 131047, "Re-engagement message");
        return;
    }
    if (s->reorder > 0 && wa_sim__uniform(s) < s->reorder) {
        int64_t t = t_del; /* read overtakes delivered */
        t_del = t_read;
        t_read = t;
    }
    push_status(s, t_sent, wamid, "sent", p, cb, 0, NULL);
    push_status(s, t_del, wamid, "delivered", p, cb, 0, NULL);
    if (p->behaviour != B_NEVER_REPLY)
        push_status(s, t_read, wamid, "read", p, cb, 0, NULL);
    if ((p->behaviour == B_REPLY_TEXT || p->behaviour == B_REPLY_BUTTON ||
         p->behaviour == B_STOP) &&
        !p->replied) {
        int64_t due = now + s->delivered_after + p->after_ms;
        p->replied = 1;
        push(s, due, 1,
             inbound_obj(s, p, due, p->behaviour == B_REPLY_BUTTON ? wamid : NULL,
                         p->behaviour == B_REPLY_BUTTON, p->text),
             p);
    }
}

int wa_sim_customer_says(wa_sim *s, const char *phone, const char *text)
{
    char d[24];
    size_t n = 0;
    sim_peer *p;
    int64_t now = wa_sim__now(s);
    for (; phone && *phone && n + 1 < sizeof d; phone++)
        if (*phone >= '0' && *phone <= '9')
            d[n++] = *phone;
    d[n] = '\0';
    if (!n || !text || !(p = wa_sim__peer(s, d, 1)))
        return -1;
    p->last_inbound = now; /* Meta knows at once; the webhook follows */
    push(s, now, 1, inbound_obj(s, p, now, NULL, 0, text), p);
    return 0;
}

/* ------------------------------------------------------------ webhooks */

int wa_sim_pop_webhook(wa_sim *s, wa_sim_webhook *out)
{
    int64_t now = wa_sim__now(s);
    cJSON *o, *entry, *change, *value, *md, *statuses = NULL, *messages = NULL, *contacts = NULL;
    unsigned char mac[32];
    char hex[65];
    memset(out, 0, sizeof *out);
    if (!s->n_heap || s->heap[0].due > now)
        return 0;
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "whatsapp_business_account");
    entry = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "entry"), entry);
    cJSON_AddStringToObject(entry, "id", s->waba);
    change = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(entry, "changes"), change);
    value = cJSON_AddObjectToObject(change, "value");
    cJSON_AddStringToObject(change, "field", "messages");
    cJSON_AddStringToObject(value, "messaging_product", "whatsapp");
    md = cJSON_AddObjectToObject(value, "metadata");
    cJSON_AddStringToObject(md, "display_phone_number", s->display);
    cJSON_AddStringToObject(md, "phone_number_id", s->phone_id);
    out->due_ms = s->heap[0].due;
    for (int n = 0; n < s->batch && s->n_heap && s->heap[0].due <= now; n++) {
        sim_ev ev = pop(s);
        if (ev.is_msg) {
            cJSON *c;
            if (!messages) {
                contacts = cJSON_AddArrayToObject(value, "contacts");
                messages = cJSON_AddArrayToObject(value, "messages");
            }
            c = cJSON_CreateObject();
            cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "profile"), "name", "Sim Customer");
            cJSON_AddStringToObject(c, "wa_id", ev.from->digits);
            cJSON_AddItemToArray(contacts, c);
            cJSON_AddItemToArray(messages, ev.obj);
            /* the customer wrote: their service window opens now */
            if (ev.from->last_inbound == INT64_MIN || ev.from->last_inbound < ev.due)
                ev.from->last_inbound = ev.due;
        } else {
            if (!statuses)
                statuses = cJSON_AddArrayToObject(value, "statuses");
            cJSON_AddItemToArray(statuses, ev.obj);
        }
    }
    out->body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!out->body)
        return 0;
    dg_hmac(DG_HMAC_SHA256, s->secret, strlen(s->secret), out->body, strlen(out->body), mac,
            sizeof mac);
    dg_hex_encode(mac, 32, hex, sizeof hex);
    snprintf(out->signature, sizeof out->signature, "sha256=%s", hex);
    s->n_webhooks++;
    return 1;
}

void wa_sim_webhook_clear(wa_sim_webhook *w)
{
    if (!w)
        return;
    free(w->body);
    memset(w, 0, sizeof *w);
}
