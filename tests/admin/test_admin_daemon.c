/* The real daemon with its admin listener: the CLI (`duegate cases`,
 * `duegate case`) talks to it, health and auth answer, SIGTERM still exits
 * cleanly with no handle left; without a token the admin API stays off. */
#include "../unit/cm.h"

#include "../integration/proc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[256];


/* One GET on a fresh connection; returns the whole answer (caller frees). */
static char *http_get(int port, const char *path, const char *token)
{
    struct sockaddr_in a;
    struct timeval tv = {5, 0};
    char req[512], *buf = calloc(1, 65536);
    size_t n = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s%s%s\r\n", path,
             token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    for (;;) {
        ssize_t k = read(fd, buf + n, 65535 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    return buf;
}

static void write_cfg(const char *name, const char *admin)
{
    char cfg[4096], path[512];
    snprintf(cfg, sizeof cfg,
             "{\n"
             "  \"daemon\": {\"state_db\": \"state.db\", \"shutdown_timeout_ms\": 2000,\n"
             "             \"templates_dir\": \"%s/templates\",\n"
             "             \"listen\": \"127.0.0.1:0\", %s\n"
             "             \"plugin_dirs\": [\"%s/plugins\"]},\n"
             "  \"channels\": {\n"
             "    \"outbox\": {\"plugin\": \"jsonl\", \"path\": \"%s/outbox.jsonl\"}\n"
             "  }\n"
             "}\n",
             getenv("DG_TOP_SRCDIR") ? getenv("DG_TOP_SRCDIR") : "..", admin, dgt_top(), g_dir);
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    dgt_write_file(path, cfg);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/dg_admind_XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    write_cfg("admin.json", "\"admin_listen\": \"127.0.0.1:0\", \"admin_token\": \"tok-123\",");
    write_cfg("noadmin.json", "\"admin_listen\": \"127.0.0.1:0\",");
    return 0;
}

static int run_cli(char *const argv[], char **out)
{
    int fd;
    pid_t pid = dgt_spawn(argv, &fd);
    *out = dgt_read_until(fd, NULL);
    close(fd);
    return dgt_wait_exit(pid);
}

static void test_daemon_admin_and_cli(void **state)
{
    (void)state;
    char bin[512], cfg[512], url[64], *out, *cli, *r;
    const char *p;
    int fd, port;
    snprintf(bin, sizeof bin, "%s/duegate", dgt_top());
    snprintf(cfg, sizeof cfg, "%s/admin.json", g_dir);
    char *argv[] = {bin, "run", "-c", cfg, NULL};
    pid_t pid = dgt_spawn(argv, &fd);
    out = dgt_read_until(fd, " ready ");
    p = strstr(out, "admin_listening addr=127.0.0.1:0 port=");
    if (!p)
        fprintf(stderr, "daemon output:\n%s\n", out);
    assert_non_null(p);
    assert_null(strstr(out, "tok-123")); /* the token is never logged */
    port = atoi(p + strlen("admin_listening addr=127.0.0.1:0 port="));
    assert_true(port > 0);
    r = http_get(port, "/healthz", NULL);
    assert_non_null(strstr(r, "HTTP/1.1 200 OK"));
    free(r);
    r = http_get(port, "/readyz", NULL);
    assert_non_null(strstr(r, "\"status\":\"ready\""));
    free(r);
    r = http_get(port, "/api/cases", NULL);
    assert_non_null(strstr(r, "HTTP/1.1 401"));
    free(r);
    r = http_get(port, "/metrics", "tok-123");
    assert_non_null(strstr(r, "duegate_cases{status=\"open\"} 0"));
    free(r);
    /* the CLI, with the address and token from the flags, then the config */
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    {
        char *c1[] = {bin, "cases", "--url", url, "--token", "tok-123", "--status", "open", NULL};
        assert_int_equal(run_cli(c1, &cli), 0);
        assert_non_null(strstr(cli, "CUSTOMER"));
        assert_non_null(strstr(cli, "NEXT STEP"));
        assert_non_null(strstr(cli, "(0 of 0 cases)"));
        free(cli);
        char *c2[] = {bin, "cases", "--url", url, "--token", "wrong", NULL};
        assert_int_equal(run_cli(c2, &cli), 1);
        assert_non_null(strstr(cli, "HTTP 401"));
        free(cli);
        char *c3[] = {bin, "case", "42", "--url", url, "--token", "tok-123", NULL};
        assert_int_equal(run_cli(c3, &cli), 1);
        assert_non_null(strstr(cli, "no such case"));
        free(cli);
        char *c4[] = {bin, "case", "abc", "--url", url, "--token", "tok-123", NULL};
        assert_int_equal(run_cli(c4, &cli), 2);
        free(cli);
        char *c5[] = {bin, "cases", "--url", url, "--token", "tok-123", "--sort", "price", NULL};
        assert_int_equal(run_cli(c5, &cli), 1);
        assert_non_null(strstr(cli, "HTTP 400"));
        free(cli);
    }
    assert_int_equal(kill(pid, SIGTERM), 0);
    r = dgt_read_until(fd, NULL);
    close(fd);
    assert_int_equal(dgt_wait_exit(pid), 0);
    assert_non_null(strstr(r, "info core stopped"));
    assert_null(strstr(r, "handles_left_open_at_exit"));
    free(r);
    free(out);
}

static void test_no_token_admin_off(void **state)
{
    (void)state;
    char bin[512], cfg[512], *out, *r;
    int fd;
    snprintf(bin, sizeof bin, "%s/duegate", dgt_top());
    snprintf(cfg, sizeof cfg, "%s/noadmin.json", g_dir);
    char *argv[] = {bin, "run", "-c", cfg, NULL};
    pid_t pid = dgt_spawn(argv, &fd);
    out = dgt_read_until(fd, " ready ");
    assert_non_null(strstr(out, "admin_off"));
    assert_null(strstr(out, "admin_listening"));
    assert_int_equal(kill(pid, SIGTERM), 0);
    r = dgt_read_until(fd, NULL);
    close(fd);
    assert_int_equal(dgt_wait_exit(pid), 0);
    assert_null(strstr(r, "handles_left_open_at_exit"));
    free(r);
    free(out);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_daemon_admin_and_cli),
        cmocka_unit_test(test_no_token_admin_off),
    };
    return cmocka_run_group_tests(t, setup, NULL);
}
