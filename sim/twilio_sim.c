#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "form.h"
#include "twilio_sig.h"
#include "twilio_sim.h"

typedef struct rule {
    char phone[32];
    int sync_error;
    char final_status[16];
    int async_error;
    int opted_out;
} rule;

typedef struct reply {
    char phone[32];
    char *body;
    int64_t delay_ms;
    int used;
} reply;

typedef struct pending {
    dg_twsim_webhook w;
    uint64_t order;
    size_t msg; /* status callbacks: index of the message */
    char status[16];
} pending;

struct dg_twsim {
    char *sid, *token, *inbound_url;
    uint64_t rng;
    int64_t now, sent_delay, final_delay, jitter;
    rule *rules;
    size_t n_rules;
    reply *replies;
    size_t n_replies;
    pending *q;
    size_t n_q;
    uint64_t order;
    dg_twsim_message *msgs;
    size_t n_msgs;
    int fault_n, fault_status, fault_retry;
};

static char *dupz(const char *s)
{
    return s ? strdup(s) : NULL;
}

static uint64_t rnd(dg_twsim *s) /* xorshift64* */
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 2685821657736338717ULL;
}

dg_twsim *dg_twsim_new(const dg_twsim_config *c)
{
    dg_twsim *s;
    if (!c || !c->account_sid || !c->auth_token)
        return NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->sid = strdup(c->account_sid);
    s->token = strdup(c->auth_token);
    s->inbound_url = dupz(c->inbound_url);
    s->rng = c->seed ? c->seed : 0x9E3779B97F4A7C15ULL;
    s->now = c->start_ms;
    s->sent_delay = c->sent_delay_ms > 0 ? c->sent_delay_ms : 1000;
    s->final_delay = c->final_delay_ms > 0 ? c->final_delay_ms : 3000;
    s->jitter = c->jitter_ms > 0 ? c->jitter_ms : 0;
    if (!s->sid || !s->token || (c->inbound_url && !s->inbound_url)) {
        dg_twsim_free(s);
        return NULL;
    }
    return s;
}

void dg_twsim_free(dg_twsim *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_replies; i++)
        free(s->replies[i].body);
    for (size_t i = 0; i < s->n_q; i++)
        dg_twsim_webhook_free(&s->q[i].w);
    for (size_t i = 0; i < s->n_msgs; i++)
        free(s->msgs[i].body);
    free(s->rules);
    free(s->replies);
    free(s->q);
    free(s->msgs);
    free(s->sid);
    free(s->token);
    free(s->inbound_url);
    free(s);
}

int dg_twsim_set_inbound_url(dg_twsim *s, const char *url)
{
    char *u = url ? strdup(url) : NULL;
    if (url && !u)
        return -1;
    free(s->inbound_url);
    s->inbound_url = u;
    return 0;
}

void dg_twsim_set_now(dg_twsim *s, int64_t ms)
{
    s->now = ms;
}
int64_t dg_twsim_now(const dg_twsim *s)
{
    return s->now;
}

static rule *find_rule(const dg_twsim *s, const char *phone)
{
    for (size_t i = 0; i < s->n_rules; i++)
        if (strcmp(s->rules[i].phone, phone) == 0)
            return &s->rules[i];
    return NULL;
}

static rule *get_rule(dg_twsim *s, const char *phone)
{
    rule *r = find_rule(s, phone), *n;
    if (r)
        return r;
    if (strlen(phone) >= sizeof r->phone)
        return NULL;
    n = realloc(s->rules, (s->n_rules + 1) * sizeof *n);
    if (!n)
        return NULL;
    s->rules = n;
    r = &s->rules[s->n_rules++];
    memset(r, 0, sizeof *r);
    strcpy(r->phone, phone);
    strcpy(r->final_status, "delivered");
    return r;
}

int dg_twsim_number(dg_twsim *s, const char *phone, int sync_error, const char *final_status,
                    int async_error)
{
    rule *r = get_rule(s, phone);
    if (!r)
        return -1;
    r->sync_error = sync_error;
    snprintf(r->final_status, sizeof r->final_status, "%s",
             final_status ? final_status : "delivered");
    r->async_error = async_error;
    return 0;
}

int dg_twsim_opted_out(const dg_twsim *s, const char *phone)
{
    const rule *r = find_rule(s, phone);
    return r && r->opted_out;
}

int dg_twsim_script_reply(dg_twsim *s, const char *phone, const char *body, int64_t delay_ms)
{
    reply *n = realloc(s->replies, (s->n_replies + 1) * sizeof *n);
    if (!n || strlen(phone) >= sizeof n->phone)
        return -1;
    s->replies = n;
    reply *r = &s->replies[s->n_replies];
    memset(r, 0, sizeof *r);
    strcpy(r->phone, phone);
    r->delay_ms = delay_ms;
    if (!(r->body = strdup(body ? body : "")))
        return -1;
    s->n_replies++;
    return 0;
}

void dg_twsim_fault(dg_twsim *s, int n, int http_status, int retry_after_s)
{
    s->fault_n = n;
    s->fault_status = http_status;
    s->fault_retry = retry_after_s;
}

/* ------------------------------------------------------------ webhooks */

static void new_sid(dg_twsim *s, const char *prefix, char *out)
{
    uint64_t a = rnd(s), b = rnd(s);
    sprintf(out, "%s%016llx%016llx", prefix, (unsigned long long)a, (unsigned long long)b);
}

/* Queue a signed form POST. kv: NULL-terminated name, value list. */
static int queue(dg_twsim *s, int kind, const char *url, int64_t due, const char *const *kv,
                 size_t msg, const char *status)
{
    dg__tw_buf body = {0};
    const char *names[24], *values[24];
    size_t n = 0;
    pending *q = realloc(s->q, (s->n_q + 1) * sizeof *q), *p;
    if (!q)
        return -1;
    s->q = q;
    p = &s->q[s->n_q];
    memset(p, 0, sizeof *p);
    for (; kv[2 * n] && n < 24; n++) {
        names[n] = kv[2 * n];
        values[n] = kv[2 * n + 1];
        if (dg__tw_buf_form(&body, names[n], values[n])) {
            dg__tw_buf_free(&body);
            return -1;
        }
    }
    if (dg__tw_signature(dg_hmac, dg_base64_encode, s->token, url, names, values, n, p->w.signature,
                         sizeof p->w.signature) != 0 ||
        !(p->w.url = strdup(url))) {
        dg__tw_buf_free(&body);
        return -1;
    }
    p->w.body = body.p ? body.p : strdup("");
    p->w.due_at = due;
    p->w.kind = kind;
    p->order = s->order++;
    p->msg = msg;
    snprintf(p->status, sizeof p->status, "%s", status ? status : "");
    s->n_q++;
    return 0;
}

static int64_t delay(dg_twsim *s, int64_t base)
{
    return base + (s->jitter ? (int64_t)(rnd(s) % (uint64_t)(s->jitter + 1)) : 0);
}

static int is_word(const char *body, const char *const *list)
{
    char w[32];
    size_t n;
    while (*body == ' ' || *body == '\t' || *body == '\n' || *body == '\r')
        body++;
    n = strcspn(body, " \t\r\n");
    if (n == 0 || n >= sizeof w || body[n + strspn(body + n, " \t\r\n")] != '\0')
        return 0;
    memcpy(w, body, n);
    w[n] = '\0';
    for (; *list; list++)
        if (strcasecmp(w, *list) == 0)
            return 1;
    return 0;
}

static const char *const stop_words[] = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END",
                                         "QUIT", "REVOKE",  "OPTOUT",      NULL};
static const char *const start_words[] = {"START", "YES", "UNSTOP", NULL};

static int queue_inbound(dg_twsim *s, const char *from, const char *to, const char *body,
                         int64_t due)
{
    char sid[40], segs[16];
    rule *r;
    if (!s->inbound_url)
        return 0;
    if (is_word(body, stop_words) || is_word(body, start_words)) {
        if (!(r = get_rule(s, from)))
            return -1;
        r->opted_out = is_word(body, stop_words);
    }
    new_sid(s, "SM", sid);
    snprintf(segs, sizeof segs, "%d", dg_twsim_segments(body));
    const char *kv[] = {
        "ToCountry",   "US",         "SmsMessageSid", sid,    "NumMedia",   "0",    "SmsSid",
        sid,           "SmsStatus",  "received",      "Body", body,         "To",   to ? to : "",
        "NumSegments", segs,         "MessageSid",    sid,    "AccountSid", s->sid, "From",
        from,          "ApiVersion", "2010-04-01",    NULL};
    return queue(s, 2, s->inbound_url, due, kv, 0, NULL);
}

int dg_twsim_inbound(dg_twsim *s, const char *from, const char *to, const char *body)
{
    return queue_inbound(s, from, to, body, s->now);
}

int64_t dg_twsim_next_due(const dg_twsim *s)
{
    int64_t best = -1;
    for (size_t i = 0; i < s->n_q; i++)
        if (best < 0 || s->q[i].w.due_at < best)
            best = s->q[i].w.due_at;
    return best;
}

int dg_twsim_pop_webhook(dg_twsim *s, dg_twsim_webhook *out)
{
    size_t best = s->n_q;
    for (size_t i = 0; i < s->n_q; i++)
        if (s->q[i].w.due_at <= s->now &&
            (best == s->n_q || s->q[i].w.due_at < s->q[best].w.due_at ||
             (s->q[i].w.due_at == s->q[best].w.due_at && s->q[i].order < s->q[best].order)))
            best = i;
    if (best == s->n_q)
        return 0;
    pending p = s->q[best];
    s->q[best] = s->q[--s->n_q];
    *out = p.w;
    if (p.w.kind == 1) {
        dg_twsim_message *m = &s->msgs[p.msg];
        snprintf(m->status, sizeof m->status, "%s", p.status);
        /* Delivered: the customer's scripted answer follows. */
        if (strcmp(p.status, "delivered") == 0) {
            for (size_t i = 0; i < s->n_replies; i++) {
                reply *r = &s->replies[i];
                if (!r->used && strcmp(r->phone, m->to) == 0) {
                    r->used = 1;
                    if (queue_inbound(s, m->to, m->from, r->body, s->now + r->delay_ms) != 0)
                        return -1;
                    break;
                }
            }
        }
    }
    return 1;
}

void dg_twsim_webhook_free(dg_twsim_webhook *w)
{
    if (!w)
        return;
    free(w->url);
    free(w->body);
    w->url = w->body = NULL;
}

/* ------------------------------------------------------------ REST API */

int dg_twsim_segments(const char *body)
{
    size_t chars = 0;
    int gsm = 1;
    for (const unsigned char *p = (const unsigned char *)body; *p; p++) {
        if ((*p & 0xC0) != 0x80)
            chars++;
        if (*p >= 0x80 || *p == '`' || *p == '^' || *p == '{' || *p == '}' || *p == '[' ||
            *p == ']' || *p == '~' || *p == '|' || *p == '\\')
            gsm = 0; /* non-basic GSM characters: treat as UCS-2 (conservative) */
    }
    size_t one = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    if (chars == 0)
        return 1;
    return chars <= one ? 1 : (int)((chars + multi - 1) / multi);
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static int respond_error(dg_twsim_response *out, int http, int code, const char *message)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"code\": %d, \"message\": \"%s\", \"more_info\": "
             "\"https://www.twilio.com/docs/errors/%d\", \"status\": %d}",
             code, message, code, http);
    out->status = http;
    out->body = strdup(buf);
    return out->body ? 0 : -1;
}

static int valid_e164(const char *p)
{
    size_t n = 0;
    if (!p || *p != '+')
        return 0;
    for (p++; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return 0;
    return n >= 8 && n <= 15;
}

static void rfc2822(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static char *json_str(const char *s)
{
    /* A JSON string literal (quotes included) of s. */
    size_t n = strlen(s);
    char *o = malloc(6 * n + 3), *p = o;
    if (!o)
        return NULL;
    *p++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *p++ = '\\';
            *p++ = (char)*c;
        } else if (*c < 0x20)
            p += sprintf(p, "\\u%04x", *c);
        else
            *p++ = (char)*c;
    }
    *p++ = '"';
    *p = '\0';
    return o;
}

static int create_message(dg_twsim *s, dg_form *f, dg_twsim_response *out)
{
    const char *to = dg_form_get(f, "To"), *from = dg_form_get(f, "From");
    const char *svc = dg_form_get(f, "MessagingServiceSid"), *body = dg_form_get(f, "Body");
    const char *cb = dg_form_get(f, "StatusCallback");
    const rule *r;
    dg_twsim_message *m;
    char date[64], *jbody = NULL, *jto = NULL, *jfrom = NULL, uri[160];
    size_t idx;
    int64_t t_sent, t_final;
    if (!to || !*to)
        return respond_error(out, 400, 21604, "A 'To' phone number is required.");
    if (!valid_e164(to))
        return respond_error(out, 400, 21211, "The 'To' number is not a valid phone number.");
    if ((!from || !*from) && (!svc || !*svc))
        return respond_error(out, 400, 21603, "A 'From' phone number is required.");
    if ((!body || !*body) && !dg_form_get(f, "MediaUrl"))
        return respond_error(out, 400, 21602, "Message body is required.");
    if (body && utf8_chars(body) > 1600)
        return respond_error(out, 400, 21617,
                             "The concatenated message body exceeds the 1600 character limit.");
    r = find_rule(s, to);
    if (r && r->opted_out)
        return respond_error(out, 400, 21610, "Attempt to send to unsubscribed recipient");
    if (r && r->sync_error)
        return respond_error(out, 400, r->sync_error, "The message cannot be sent to this number.");
    m = realloc(s->msgs, (s->n_msgs + 1) * sizeof *m);
    if (!m)
        return -1;
    s->msgs = m;
    idx = s->n_msgs;
    m = &s->msgs[idx];
    memset(m, 0, sizeof *m);
    new_sid(s, "SM", m->sid);
    snprintf(m->to, sizeof m->to, "%s", to);
    snprintf(m->from, sizeof m->from, "%s", from ? from : svc);
    m->body = strdup(body ? body : "");
    if (!m->body)
        return -1;
    snprintf(m->status, sizeof m->status, "%s", svc ? "accepted" : "queued");
    m->num_segments = dg_twsim_segments(m->body);
    s->n_msgs++;
    rfc2822(s->now, date, sizeof date);
    snprintf(uri, sizeof uri, "/2010-04-01/Accounts/%s/Messages/%s.json", s->sid, m->sid);
    jbody = json_str(m->body);
    jto = json_str(to);
    jfrom = from ? json_str(from) : strdup("null");
    out->body = NULL;
    if (jbody && jto && jfrom) {
        size_t cap = strlen(jbody) + strlen(jto) + strlen(jfrom) + 2048;
        out->body = malloc(cap);
        if (out->body)
            snprintf(out->body, cap,
                     "{\"sid\": \"%s\", \"account_sid\": \"%s\", \"messaging_service_sid\": "
                     "%s%s%s, \"from\": %s, \"to\": %s, \"body\": %s, \"status\": \"%s\", "
                     "\"direction\": \"outbound-api\", \"num_segments\": \"%d\", "
                     "\"num_media\": \"0\", \"price\": null, \"price_unit\": \"USD\", "
                     "\"error_code\": null, \"error_message\": null, \"api_version\": "
                     "\"2010-04-01\", \"date_created\": \"%s\", \"date_updated\": \"%s\", "
                     "\"date_sent\": null, \"uri\": \"%s\", \"subresource_uris\": "
                     "{\"media\": \"/2010-04-01/Accounts/%s/Messages/%s/Media.json\"}}",
                     m->sid, s->sid, svc ? "\"" : "", svc ? svc : "null", svc ? "\"" : "", jfrom,
                     jto, jbody, m->status, svc ? 0 : m->num_segments, date, date, uri, s->sid,
                     m->sid);
    }
    free(jbody);
    free(jto);
    free(jfrom);
    if (!out->body)
        return -1;
    out->status = 201;
    if (!cb || !*cb)
        return 0;
    /* No callback for the initial status; then sent, then the final one. */
    t_sent = s->now + delay(s, s->sent_delay);
    t_final = t_sent + delay(s, s->final_delay);
    const char *final = r ? r->final_status : "delivered";
    char code[16];
    snprintf(code, sizeof code, "%d", r ? r->async_error : 0);
    int with_code = r && r->async_error && strcmp(final, "delivered") != 0;
    const char *sent_kv[] = {"SmsSid",
                             m->sid,
                             "SmsStatus",
                             "sent",
                             "MessageStatus",
                             "sent",
                             "To",
                             m->to,
                             "MessageSid",
                             m->sid,
                             "AccountSid",
                             s->sid,
                             "From",
                             m->from,
                             "ApiVersion",
                             "2010-04-01",
                             svc ? "MessagingServiceSid" : NULL,
                             svc,
                             NULL};
    const char *fin_kv[] = {"SmsSid",
                            m->sid,
                            "SmsStatus",
                            final,
                            "MessageStatus",
                            final,
                            "To",
                            m->to,
                            "MessageSid",
                            m->sid,
                            "AccountSid",
                            s->sid,
                            "From",
                            m->from,
                            "ApiVersion",
                            "2010-04-01",
                            with_code ? "ErrorCode" : NULL,
                            code,
                            NULL};
    if (strcmp(final, "failed") != 0 && queue(s, 1, cb, t_sent, sent_kv, idx, "sent") != 0)
        return -1;
    return queue(s, 1, cb, t_final, fin_kv, idx, final);
}

int dg_twsim_handle(dg_twsim *s, const char *method, const char *path, const char *user,
                    const char *pass, const char *body, size_t len, dg_twsim_response *out)
{
    char want[160];
    dg_form *f;
    int rc;
    memset(out, 0, sizeof *out);
    snprintf(want, sizeof want, "/2010-04-01/Accounts/%s/Messages.json", s->sid);
    if (!user || !pass || strcmp(user, s->sid) != 0 ||
        !dg_ct_equal(pass, strlen(pass), s->token, strlen(s->token)))
        return respond_error(out, 401, 20003, "Authenticate");
    if (strncmp(path, "/2010-04-01/Accounts/", 21) != 0 || strcmp(path, want) != 0)
        return respond_error(out, 404, 20404, "The requested resource was not found");
    if (strcmp(method, "POST") != 0)
        return respond_error(out, 405, 20004, "Method not allowed");
    if (s->fault_n > 0) {
        s->fault_n--;
        if (s->fault_status == 429) {
            out->retry_after_s = s->fault_retry;
            return respond_error(out, 429, 20429, "Too Many Requests");
        }
        return respond_error(out, s->fault_status, 20500, "Internal Server Error");
    }
    f = dg_form_parse(body ? body : "", body ? len : 0);
    if (!f)
        return respond_error(out, 400, 21000, "Malformed request body");
    rc = create_message(s, f, out);
    dg_form_free(f);
    return rc;
}

void dg_twsim_response_free(dg_twsim_response *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
}

int dg_twsim_parse_basic(const char *h, char *user, size_t ucap, char *pass, size_t pcap)
{
    unsigned char dec[512];
    int n;
    const char *colon;
    if (!h || strncasecmp(h, "Basic ", 6) != 0)
        return -1;
    n = dg_base64_decode(h + 6, strlen(h + 6), dec, sizeof dec - 1);
    if (n < 0)
        return -1;
    dec[n] = '\0';
    colon = strchr((char *)dec, ':');
    if (!colon || (size_t)(colon - (char *)dec) >= ucap || strlen(colon + 1) >= pcap)
        return -1;
    memcpy(user, dec, (size_t)(colon - (char *)dec));
    user[colon - (char *)dec] = '\0';
    strcpy(pass, colon + 1);
    return 0;
}

size_t dg_twsim_n_messages(const dg_twsim *s)
{
    return s->n_msgs;
}
const dg_twsim_message *dg_twsim_message_at(const dg_twsim *s, size_t i)
{
    return i < s->n_msgs ? &s->msgs[i] : NULL;
}
