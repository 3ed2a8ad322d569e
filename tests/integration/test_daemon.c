/* The real duegate binary: started, signalled, listed, and refused. */
#include "../unit/cm.h"

#include "proc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <duegate/plugin.h>

#include "../abi_now.h"

static char g_dir[256];


static int setup(void **state)
{
    (void)state;
    char cfg[4096], path[512];
    snprintf(g_dir, sizeof g_dir, "/tmp/dg_daemon_XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    snprintf(cfg, sizeof cfg,
             "{\n"
             "  \"daemon\": {\"state_db\": \"state.db\", \"shutdown_timeout_ms\": 2000,\n"
             "             \"templates_dir\": \"%s/templates\",\n"
             "             \"listen\": \"127.0.0.1:0\",\n"
             "             \"plugin_dirs\": [\"%s/plugins\", \"%s\"]},\n"
             "  \"channels\": {\n"
             "    \"outbox\": {\"plugin\": \"jsonl\", \"path\": \"%s/outbox.jsonl\"},\n"
             "    \"slow\": {\"plugin\": \"fake_good\", \"async_ms\": 60000, \"drain_ms\": 10}\n"
             "  }\n"
             "}\n",
             getenv("DG_TOP_SRCDIR") ? getenv("DG_TOP_SRCDIR") : "..", dgt_top(),
             getenv("DG_FAKE_PLUGIN_DIR") ? getenv("DG_FAKE_PLUGIN_DIR") : "", g_dir);
    snprintf(path, sizeof path, "%s/duegate.json", g_dir);
    dgt_write_file(path, cfg);
    return 0;
}

/* Ask the daemon's webhook listener for an unknown path (keep-alive); the
 * connection is returned open. */
static int http_404(int port)
{
    struct sockaddr_in a;
    struct timeval tv = {5, 0};
    char buf[1024] = "";
    size_t n = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    const char req[] = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    while (n < sizeof buf - 1 && !strstr(buf, "}")) {
        ssize_t k = read(fd, buf + n, sizeof buf - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        buf[n] = '\0';
    }
    assert_non_null(strstr(buf, "HTTP/1.1 404 Not Found\r\n"));
    assert_non_null(strstr(buf, "{\"error\": \"not_found\""));
    return fd;
}

static void run_and_signal(int sig)
{
    char bin[512], cfg[512];
    int fd;
    snprintf(bin, sizeof bin, "%s/duegate", dgt_top());
    snprintf(cfg, sizeof cfg, "%s/duegate.json", g_dir);
    char *argv[] = {bin, "run", "-c", cfg, NULL};
    pid_t pid = dgt_spawn(argv, &fd);
    char *out = dgt_read_until(fd, " ready ");
    if (!strstr(out, " ready "))
        fprintf(stderr, "daemon output:\n%s\n", out);
    assert_non_null(strstr(out, "info core ready instances=2"));
    assert_non_null(strstr(out, "info outbox instance_started plugin=jsonl"));
    assert_non_null(strstr(out, "info core http_listening addr=127.0.0.1:0 port="));
    /* the listener answers; a keep-alive connection stays open across shutdown */
    int conn = http_404(atoi(strstr(out, "http_listening addr=127.0.0.1:0 port=") + 37));
    assert_int_equal(kill(pid, sig), 0);
    char *rest = dgt_read_until(fd, NULL);
    close(fd);
    assert_int_equal(dgt_wait_exit(pid), 0);
    assert_non_null(strstr(rest, sig == SIGINT ? "shutdown_requested signal=SIGINT"
                                               : "shutdown_requested signal=SIGTERM"));
    assert_non_null(strstr(rest, "info outbox instance_stopped"));
    assert_non_null(strstr(rest, "info slow instance_stopped"));
    assert_non_null(strstr(rest, "info core stopped"));
    assert_null(strstr(rest, "handles_left_open_at_exit"));
    close(conn);
    free(out);
    free(rest);
}

static void test_sigterm_stops_cleanly(void **state)
{
    (void)state;
    run_and_signal(SIGTERM);
}

static void test_sigint_stops_cleanly(void **state)
{
    (void)state;
    run_and_signal(SIGINT);
}

static void test_check_config_and_errors(void **state)
{
    (void)state;
    char bin[512], cfg[512], bad[512];
    int fd;
    snprintf(bin, sizeof bin, "%s/duegate", dgt_top());
    snprintf(cfg, sizeof cfg, "%s/duegate.json", g_dir);
    char *ok[] = {bin, "check-config", "-c", cfg, NULL};
    pid_t pid = dgt_spawn(ok, &fd);
    char *out = dgt_read_until(fd, NULL);
    close(fd);
    assert_int_equal(dgt_wait_exit(pid), 0);
    assert_non_null(strstr(out, "configuration OK (2 channel and 0 store instances)"));
    free(out);
    /* a plugin key the schema does not know, on line 3 */
    snprintf(bad, sizeof bad, "%s/bad.json", g_dir);
    dgt_write_file(bad, "{\"daemon\": {\"plugin_dirs\": [\"../plugins\"], \"templates_dir\": \"/nonexistent\"},\n"
                    " \"channels\": {\"outbox\": {\"plugin\": \"jsonl\",\n"
                    "   \"path\": \"x\", \"colour\": \"red\"}}}\n");
    char dirs[600];
    snprintf(dirs, sizeof dirs, "%s/plugins", dgt_top());
    char *badv[] = {bin, "check-config", "-c", bad, "--plugin-dir", dirs, NULL};
    pid = dgt_spawn(badv, &fd);
    out = dgt_read_until(fd, NULL);
    close(fd);
    assert_int_equal(dgt_wait_exit(pid), 1);
    assert_non_null(strstr(out, "bad.json:3: channels.outbox.colour: unknown key"));
    free(out);
    /* run refuses the same file without starting anything */
    char *runv[] = {bin, "run", "-c", bad, "--plugin-dir", dirs, NULL};
    pid = dgt_spawn(runv, &fd);
    out = dgt_read_until(fd, NULL);
    close(fd);
    assert_int_equal(dgt_wait_exit(pid), 1);
    assert_null(strstr(out, " ready "));
    free(out);
}

static void test_plugins_listing(void **state)
{
    (void)state;
    char bin[512], dirs[600];
    int fd;
    snprintf(bin, sizeof bin, "%s/duegate", dgt_top());
    snprintf(dirs, sizeof dirs, "%s/plugins", dgt_top());
    char *argv[] = {bin, "plugins", "--plugin-dir", dirs, NULL};
    pid_t pid = dgt_spawn(argv, &fd);
    char *out = dgt_read_until(fd, NULL);
    close(fd);
    assert_int_equal(dgt_wait_exit(pid), 0);
    assert_non_null(strstr(out, "jsonl"));
    assert_non_null(strstr(out, "1.0"));
    assert_non_null(strstr(out, "channel"));
    free(out);
    /* the fake plugins: the wrong major is refused, naming file and both versions */
    char *fk[] = {bin, "plugins", "--plugin-dir", getenv("DG_FAKE_PLUGIN_DIR"), NULL};
    pid = dgt_spawn(fk, &fd);
    out = dgt_read_until(fd, NULL);
    close(fd);
    assert_int_equal(dgt_wait_exit(pid), 1);
    assert_non_null(strstr(out, "fake_major.so: plugin ABI 2." XSTR(DG_ABI_MINOR) " is incompatible: this duegate "
                                "provides ABI " ABI_NOW));
    free(out);
}

static void test_version_and_usage(void **state)
{
    (void)state;
    char bin[512];
    int fd;
    snprintf(bin, sizeof bin, "%s/duegate", dgt_top());
    char *v[] = {bin, "--version", NULL};
    pid_t pid = dgt_spawn(v, &fd);
    char *out = dgt_read_until(fd, NULL);
    close(fd);
    assert_int_equal(dgt_wait_exit(pid), 0);
    assert_non_null(strstr(out, "duegate "));
    assert_non_null(strstr(out, "plugin ABI " ABI_NOW));
    free(out);
    char *u[] = {bin, "frobnicate", NULL};
    pid = dgt_spawn(u, &fd);
    out = dgt_read_until(fd, NULL);
    close(fd);
    assert_int_equal(dgt_wait_exit(pid), 2);
    assert_non_null(strstr(out, "unknown command 'frobnicate'"));
    free(out);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigterm_stops_cleanly),
        cmocka_unit_test(test_sigint_stops_cleanly),
        cmocka_unit_test(test_check_config_and_errors),
        cmocka_unit_test(test_plugins_listing),
        cmocka_unit_test(test_version_and_usage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
