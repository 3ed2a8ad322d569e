/* Classification of Cloud API error codes (protocols.md A7). The same table
 * serves synchronous send errors and `errors[]` of failed status webhooks.
 * Branch on error.code; the HTTP status is used only when no code came. */
#include <stddef.h>

#include "wa.h"

typedef struct code_row {
    long code;
    dg_error_class cls;
    int64_t retry_ms; /* default retry-after when the provider gives none; -1: spacing */
} code_row;

static const code_row rows[] = {
    /* retry with backoff; the core bounds the attempts */
    {130429, DG_ERRC_RETRYABLE, 1000}, /* throughput (mps) reached */
    {131056, DG_ERRC_RETRYABLE, -1},   /* pair rate limit: this recipient only */
    {4, DG_ERRC_RETRYABLE, 60000},     /* app API call limit */
    {80007, DG_ERRC_RETRYABLE, 60000}, /* WABA rate limit */
    {131000, DG_ERRC_RETRYABLE, 5000}, /* something went wrong */
    {131016, DG_ERRC_RETRYABLE, 5000}, /* service unavailable */
    /* park for a day */
    {131049, DG_ERRC_WAIT, WA_DAY_MS}, /* healthy ecosystem engagement */
    /* permanent for this channel: the engine falls back at once */
    {131026, DG_ERRC_PERMANENT, 0}, /* undeliverable / not on WhatsApp */
    {131047, DG_ERRC_PERMANENT, 0}, /* free-form outside the 24 h window */
    {131050, DG_ERRC_PERMANENT, 0}, /* user stopped marketing messages */
    {131030, DG_ERRC_PERMANENT, 0}, /* not in the allowed list (test numbers) */
    {130472, DG_ERRC_PERMANENT, 0}, /* marketing experiment group */
    {100, DG_ERRC_PERMANENT, 0},    /* invalid parameter */
    {131008, DG_ERRC_PERMANENT, 0}, /* required parameter missing */
    {131009, DG_ERRC_PERMANENT, 0}, /* parameter value invalid */
    /* our templates are wrong: operator must fix them */
    {132000, DG_ERRC_CONFIG, 0}, /* param count mismatch */
    {132001, DG_ERRC_CONFIG, 0}, /* template missing in that language */
    {132005, DG_ERRC_CONFIG, 0}, /* translated text too long */
    {132007, DG_ERRC_CONFIG, 0}, /* format character policy */
    {132008, DG_ERRC_CONFIG, 0}, /* param value */
    {132012, DG_ERRC_CONFIG, 0}, /* param format mismatch */
    {132015, DG_ERRC_CONFIG, 0}, /* template paused */
    {132016, DG_ERRC_CONFIG, 0}, /* template disabled */
    /* the sender itself is blocked: stop the instance and alert */
    {368, DG_ERRC_STOP_SENDER, 0},    /* temporarily blocked for policy */
    {190, DG_ERRC_STOP_SENDER, 0},    /* access token expired / invalid */
    {131048, DG_ERRC_STOP_SENDER, 0}, /* spam rate limit */
    {131031, DG_ERRC_STOP_SENDER, 0}, /* account locked */
    {130497, DG_ERRC_STOP_SENDER, 0}, /* restricted for that country */
    {131042, DG_ERRC_STOP_SENDER, 0}, /* business payment issue */
};

static const code_row *find(long code)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].code == code)
            return &rows[i];
    return NULL;
}

int wa_code_stops_sender(long code)
{
    const code_row *r = find(code);
    return r && r->cls == DG_ERRC_STOP_SENDER;
}

wa_class wa_classify(const wa *w, long code, int http_status, int is_transient,
                     int64_t retry_after_ms)
{
    wa_class c = {DG_ERRC_RETRYABLE, 0};
    const code_row *r = code > 0 ? find(code) : NULL;
    if (r) {
        c.cls = r->cls;
        c.retry_after_ms = r->retry_ms < 0 ? (w ? w->spacing_ms : 6000) : r->retry_ms;
        /* A transient flag makes an otherwise final per-message error worth a
         * retry; it never lifts a sender stop or shortens a 24 h wait. */
        if (is_transient == 1 && (c.cls == DG_ERRC_PERMANENT || c.cls == DG_ERRC_CONFIG)) {
            c.cls = DG_ERRC_RETRYABLE;
            c.retry_after_ms = 5000;
        }
    } else if (is_transient == 1) {
        c.retry_after_ms = 5000;
    } else if (code > 0 && http_status < 500 && http_status != 429) {
        /* An unknown code that does not say it is transient: do not hammer,
         * let the engine move to the next channel. */
        c.cls = DG_ERRC_PERMANENT;
    } else if (code <= 0 && http_status >= 400 && http_status < 500 && http_status != 408 &&
               http_status != 429) {
        /* No Graph error at all on a 4xx: wrong URL, id or proxy setup. */
        c.cls = DG_ERRC_CONFIG;
    } else {
        c.retry_after_ms = 5000; /* 5xx, 429, 408 without a code */
    }
    if (retry_after_ms >= 0 && (c.cls == DG_ERRC_RETRYABLE || c.cls == DG_ERRC_WAIT) &&
        retry_after_ms > c.retry_after_ms)
        c.retry_after_ms = retry_after_ms;
    if (retry_after_ms >= 0 && c.cls == DG_ERRC_RETRYABLE)
        c.retry_after_ms = retry_after_ms;
    return c;
}
