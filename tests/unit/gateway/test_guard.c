/*
 * test_guard.c - sce-gateway's front door (web-gateway/guard.c): which Host
 * and Origin headers pass, as tables; the per-client key of client_key.c
 * (an IPv6 /64 is one client); and the connection counts behind the 503
 * over max_connections and max_connections_per_ip.
 *
 * The messages are the API's contract: a change in wording is a change
 * here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "client_key.h"
#include "gateway_limits.h"
#include "guard.h"
#include "sce/err.h"

static gw_guard *guard_new(const char *listen, const char *allowed, const char *cors, unsigned max,
                           unsigned per_ip)
{
    gw_guard_config cfg = {listen, allowed, cors, max, per_ip};
    gw_guard *g = NULL;
    char err[256] = "";

    if (gw_guard_new(&cfg, &g, err, sizeof(err)) != SCE_OK)
        fail_msg("gw_guard_new: %s", err);
    return g;
}

/* ------------------------------------------------------------ Host, Origin */

typedef struct check_row {
    const char *method;
    const char *host;   /* NULL: no Host header */
    const char *origin; /* NULL: no Origin header */
    unsigned want;      /* 0 or 403 */
} check_row;

/* A gateway on 127.0.0.1:8080 with allowed_hosts and a CORS origin. */
/* clang-format off */
static const check_row rows[] = {
    /* the localhost names, with and without a port, any case, a final dot */
    {"GET", "127.0.0.1:8080", NULL, 0},
    {"GET", "127.0.0.1", NULL, 0},
    {"GET", "localhost:8080", NULL, 0},
    {"GET", "LocalHost", NULL, 0},
    {"GET", "localhost.:8080", NULL, 0},
    {"GET", "app.localhost:8080", NULL, 0},
    {"GET", "a.b.localhost", NULL, 0},
    {"GET", "[::1]:8080", NULL, 0},
    {"GET", "[0:0:0:0:0:0:0:1]", NULL, 0},
    {"GET", "localhost:", NULL, 0},
    /* allowed_hosts: names, wildcards, addresses */
    {"GET", "sce.example.com", NULL, 0},
    {"GET", "SCE.example.com:443", NULL, 0},
    {"GET", "a.corp.example", NULL, 0},
    {"GET", "10.0.0.5:8080", NULL, 0},
    {"GET", "[fd00::1]:8080", NULL, 0},
    {"GET", "[FD00:0::1]", NULL, 0},
    /* DNS rebinding and everything else that is not a name of the gateway */
    {"GET", "evil.example", NULL, 403},
    {"GET", "evil.example:8080", NULL, 403},
    {"GET", "localhost.evil.example", NULL, 403},
    {"GET", "evillocalhost", NULL, 403},
    {"GET", "corp.example", NULL, 403},          /* *.corp.example is its subdomains only */
    {"GET", "xcorp.example", NULL, 403},
    {"GET", "sce.example.com.evil.example", NULL, 403},
    {"GET", "127.0.0.2", NULL, 403},
    {"GET", "0.0.0.0:8080", NULL, 403},
    {"GET", "[::]", NULL, 403},
    {"GET", "[fd00::2]", NULL, 403},
    {"GET", "10.0.0.6", NULL, 403},
    {"GET", "", NULL, 403},
    {"GET", ":8080", NULL, 403},
    {"GET", "localhost:80x", NULL, 403},
    {"GET", "localhost:65536", NULL, 403},
    {"GET", "localhost:123456", NULL, 403},
    {"GET", "::1", NULL, 403},                   /* IPv6 only in brackets */
    {"GET", "[::1", NULL, 403},
    {"GET", "[::1]x", NULL, 403},
    {"GET", "[evil]", NULL, 403},
    {"GET", "user@localhost", NULL, 403},
    {"GET", "localhost/x", NULL, 403},
    {"GET", "local host", NULL, 403},
    {"GET", "localhost\r\nX: y", NULL, 403},
    {"GET", ".localhost", NULL, 403},
    {"GET", "a..localhost", NULL, 403},
    {"POST", "evil.example", "http://evil.example", 403}, /* Origin = Host, Host still checked */
    /* no Host (HTTP/1.0 tools; browsers always send one) */
    {"GET", NULL, NULL, 0},
    {"POST", NULL, NULL, 0},
    /* Origin on reads: any (CORS decides what a page may read) */
    {"GET", "127.0.0.1:8080", "https://evil.example", 0},
    {"HEAD", "127.0.0.1:8080", "null", 0},
    {"OPTIONS", "127.0.0.1:8080", "https://evil.example", 0},
    /* writes without Origin: curl, server-to-server */
    {"POST", "127.0.0.1:8080", NULL, 0},
    /* writes from the gateway's own page: same host and port, http or https */
    {"POST", "127.0.0.1:8080", "http://127.0.0.1:8080", 0},
    {"POST", "localhost:8080", "http://localhost:8080", 0},
    {"POST", "localhost:8080", "http://LOCALHOST:8080", 0},
    {"POST", "[::1]:8080", "http://[::1]:8080", 0},
    {"POST", "[::1]:8080", "http://[0::1]:8080", 0},
    {"POST", "sce.example.com", "https://sce.example.com", 0},      /* behind a TLS proxy */
    {"POST", "sce.example.com", "http://sce.example.com", 0},
    {"POST", "sce.example.com:443", "https://sce.example.com", 0},
    {"POST", "sce.example.com:80", "http://sce.example.com", 0},
    {"POST", "sce.example.com:8443", "https://sce.example.com:8443", 0},
    /* the configured CORS origin */
    {"POST", "127.0.0.1:8080", "https://app.example", 0},
    {"POST", "127.0.0.1:8080", "HTTPS://APP.EXAMPLE", 0},
    {"PUT", "127.0.0.1:8080", "https://app.example", 0},
    /* cross-site writes */
    {"POST", "127.0.0.1:8080", "https://evil.example", 403},
    {"POST", "127.0.0.1:8080", "null", 403},
    {"POST", "127.0.0.1:8080", "", 403},
    {"POST", "127.0.0.1:8080", "http://127.0.0.1:8081", 403},       /* another port */
    {"POST", "127.0.0.1:8080", "http://127.0.0.1", 403},
    {"POST", "127.0.0.1:8080", "http://localhost:8080", 403},       /* another name */
    {"POST", "localhost", "http://localhost:8080", 403},
    {"POST", "sce.example.com:443", "http://sce.example.com", 403},
    {"POST", "sce.example.com:8443", "https://sce.example.com", 403},
    {"POST", "127.0.0.1:8080", "ftp://127.0.0.1:8080", 403},
    {"POST", "127.0.0.1:8080", "http://127.0.0.1:8080/", 403},      /* an origin has no path */
    {"POST", "127.0.0.1:8080", "http://u@127.0.0.1:8080", 403},
    {"POST", "127.0.0.1:8080", "https://app.example.evil", 403},
    {"POST", "127.0.0.1:8080", "https://app.example:8443", 403},
    {"POST", NULL, "http://127.0.0.1:8080", 403},                   /* no Host to be same as */
    {"DELETE", "127.0.0.1:8080", "https://evil.example", 403},
    {"PATCH", "127.0.0.1:8080", "https://evil.example", 403},
};
/* clang-format on */

static void test_host_origin_table(void **state)
{
    gw_guard *g =
        guard_new("127.0.0.1:8080", " sce.example.com ,*.corp.example,10.0.0.5, [fd00::1]",
                  "https://app.example", 16, 4);

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char msg[GW_ERROR_MESSAGE_MAX] = "";
        unsigned got =
            gw_guard_check(g, rows[i].method, rows[i].host, rows[i].origin, msg, sizeof(msg));

        if (got != rows[i].want)
            fail_msg("row %zu: %s Host %s Origin %s: %u, want %u (%s)", i, rows[i].method,
                     rows[i].host ? rows[i].host : "(none)",
                     rows[i].origin ? rows[i].origin : "(none)", got, rows[i].want, msg);
        if (got != 0 && (msg[0] == '\0' || strchr(msg, '\n') != NULL || strchr(msg, '\r') != NULL))
            fail_msg("row %zu: the message must be one non-empty line: '%s'", i, msg);
    }
    gw_guard_free(g);
}

static void test_messages(void **state)
{
    gw_guard *g = guard_new("127.0.0.1:8080", "", "", 16, 4);
    char msg[GW_ERROR_MESSAGE_MAX], longhost[400];

    (void)state;
    assert_int_equal(gw_guard_check(g, "GET", "evil.example:8080", NULL, msg, sizeof(msg)), 403);
    assert_string_equal(msg, "Host: 'evil.example:8080' is not a name of this gateway; it answers "
                             "to localhost, its listen address and allowed_hosts");
    assert_int_equal(
        gw_guard_check(g, "POST", "127.0.0.1:8080", "https://evil.example", msg, sizeof(msg)), 403);
    assert_string_equal(msg, "Origin: 'https://evil.example' may not send POST requests here; "
                             "only this gateway's own page may");
    /* Control characters are shown as '?', a long value is cut. */
    assert_int_equal(gw_guard_check(g, "GET", "a\x01\x7f", NULL, msg, sizeof(msg)), 403);
    assert_non_null(strstr(msg, "'a?" "?'"));
    memset(longhost, 'h', sizeof(longhost) - 1);
    longhost[sizeof(longhost) - 1] = '\0';
    assert_int_equal(gw_guard_check(g, "GET", longhost, NULL, msg, sizeof(msg)), 403);
    assert_true(strlen(msg) < GW_GUARD_SHOWN_MAX + 150);
    assert_non_null(strstr(msg, "hhh...'"));
    gw_guard_free(g);

    g = guard_new("127.0.0.1:8080", "", "https://app.example", 16, 4);
    assert_int_equal(gw_guard_check(g, "POST", "127.0.0.1:8080", "null", msg, sizeof(msg)), 403);
    assert_string_equal(msg, "Origin: 'null' may not send POST requests here; only this "
                             "gateway's own page and cors_origin may");
    gw_guard_free(g);
}

/* What the listen address adds: its host, unless it is a wildcard, which
 * no client writes in Host. */
static void test_listen_address(void **state)
{
    static const struct {
        const char *listen;
        const char *host;
        unsigned want;
        int only_localhost;
    } cases[] = {
        {"0.0.0.0:8080", "0.0.0.0:8080", 403, 1},
        {"0.0.0.0:8080", "192.168.1.5:8080", 403, 1},
        {"0.0.0.0:8080", "localhost:8080", 0, 1},
        {"[::]:8080", "[::]:8080", 403, 1},
        {"[::]:8080", "[::1]:8080", 0, 1},
        {":8080", "localhost", 0, 1},
        {"192.168.1.5:8080", "192.168.1.5:8080", 0, 0},
        {"192.168.1.5:8080", "192.168.1.6:8080", 403, 0},
        {"[2001:db8::5]:80", "[2001:db8:0::5]", 0, 0},
        {"sce-box:8080", "SCE-BOX:8080", 0, 0},
        {"127.0.0.1:8080", "localhost", 0, 0},
    };
    char msg[GW_ERROR_MESSAGE_MAX], names[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_guard *g = guard_new(cases[i].listen, "", "", 16, 4);
        unsigned got = gw_guard_check(g, "GET", cases[i].host, NULL, msg, sizeof(msg));

        if (got != cases[i].want)
            fail_msg("listen %s, Host %s: %u, want %u", cases[i].listen, cases[i].host, got,
                     cases[i].want);
        assert_int_equal(gw_guard_only_localhost(g), cases[i].only_localhost);
        gw_guard_free(g);
    }
    /* Naming a host in allowed_hosts is what a wildcard listener needs. */
    {
        gw_guard *g = guard_new("0.0.0.0:8080", "sce.example.com", "", 16, 4);

        assert_int_equal(gw_guard_only_localhost(g), 0);
        assert_int_equal(gw_guard_check(g, "GET", "sce.example.com", NULL, msg, sizeof(msg)), 0);
        gw_guard_describe(g, names, sizeof(names));
        assert_string_equal(names, "localhost, *.localhost, 127.0.0.1, [::1], sce.example.com");
        gw_guard_free(g);
    }
    {
        gw_guard *g = guard_new("127.0.0.1:8080", "", "", 16, 4);

        gw_guard_describe(g, names, sizeof(names));
        assert_string_equal(names, "localhost, *.localhost, 127.0.0.1, [::1]");
        gw_guard_free(g);
    }
}

/* allowed_hosts = "*": any Host; Origin is still checked against it. */
static void test_any_host(void **state)
{
    gw_guard *g = guard_new("0.0.0.0:8080", "*", "", 16, 4);
    char msg[GW_ERROR_MESSAGE_MAX], names[128];

    (void)state;
    assert_int_equal(gw_guard_only_localhost(g), 0);
    assert_int_equal(gw_guard_check(g, "GET", "anything.example", NULL, msg, sizeof(msg)), 0);
    assert_int_equal(gw_guard_check(g, "GET", "not a host", NULL, msg, sizeof(msg)), 0);
    assert_int_equal(gw_guard_check(g, "POST", "anything.example:8080",
                                    "http://anything.example:8080", msg, sizeof(msg)),
                     0);
    assert_int_equal(gw_guard_check(g, "POST", "anything.example:8080", "https://evil.example", msg,
                                    sizeof(msg)),
                     403);
    gw_guard_describe(g, names, sizeof(names));
    assert_string_equal(names, "any (allowed_hosts = *)");
    gw_guard_free(g);
}

/* cors_origin = "*": any site may call, writes included. */
static void test_cors_any(void **state)
{
    gw_guard *g = guard_new("127.0.0.1:8080", "", "*", 16, 4);
    char msg[GW_ERROR_MESSAGE_MAX];

    (void)state;
    assert_int_equal(
        gw_guard_check(g, "POST", "127.0.0.1:8080", "https://evil.example", msg, sizeof(msg)), 0);
    /* The Host check still holds. */
    assert_int_equal(
        gw_guard_check(g, "POST", "evil.example", "https://evil.example", msg, sizeof(msg)), 403);
    gw_guard_free(g);
}

static void test_bad_allowed_hosts(void **state)
{
    static const char *const bad[] = {
        "https://sce.example.com",
        "sce.example.com:8080",
        "sce.example.com/x",
        "a b",
        "*",
        "*.",
        "**.example",
        "a..b",
        ".example",
        "[fd00::1",
        "[evil]",
        "sce\x01.example",
    };
    char err[512], many[2048] = "";

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gw_guard_config cfg = {"127.0.0.1:8080", bad[i], "", 16, 4};
        gw_guard *g = NULL;
        int rv = gw_guard_new(&cfg, &g, err, sizeof(err));

        if (strcmp(bad[i], "*") == 0) { /* the one valid entry of the lot */
            assert_int_equal(rv, SCE_OK);
            gw_guard_free(g);
            continue;
        }
        if (rv != SCE_ERR_INVALID_ARGUMENT)
            fail_msg("allowed_hosts '%s' was accepted", bad[i]);
        assert_null(g);
        assert_non_null(strstr(err, "allowed_hosts: '"));
        assert_null(strchr(err, '\x01'));
    }
    {
        gw_guard_config cfg = {"127.0.0.1:8080", "sce.example.com:8080", "", 16, 4};
        gw_guard *g = NULL;

        assert_int_equal(gw_guard_new(&cfg, &g, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
        assert_string_equal(err, "allowed_hosts: 'sce.example.com:8080' is not a host name, '*.' "
                                 "+ a name, an IPv4 address or an [IPv6] address (give names "
                                 "without scheme, port or path)");
    }
    /* Empty entries are skipped; too many names are refused. */
    {
        gw_guard_config cfg = {"127.0.0.1:8080", " , a.example,, ", "", 16, 4};
        gw_guard *g = NULL;

        assert_int_equal(gw_guard_new(&cfg, &g, err, sizeof(err)), SCE_OK);
        gw_guard_free(g);
    }
    for (int i = 0; i <= GW_ALLOWED_HOSTS_MAX; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "h%d.example,", i);
    {
        gw_guard_config cfg = {"127.0.0.1:8080", many, "", 16, 4};
        gw_guard *g = NULL;

        assert_int_equal(gw_guard_new(&cfg, &g, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
        assert_string_equal(err, "allowed_hosts: more than 64 names");
    }
}

/* ------------------------------------------------------------ client keys */

static void key_of(const char *text, unsigned char key[GW_CLIENT_KEY_BYTES])
{
    struct sockaddr_storage ss;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1)
        v4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1)
        v6->sin6_family = AF_INET6;
    else
        fail_msg("not an address: %s", text);
    assert_int_equal(gw_client_key_from_sockaddr((struct sockaddr *)&ss, key), 0);
}

static void test_client_key_64(void **state)
{
    static const struct {
        const char *a, *b;
        int same;
    } pairs[] = {
        /* one /64 is one client, however its low half changes */
        {"2001:db8:1:2::1", "2001:db8:1:2::2", 1},
        {"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", 1},
        {"2001:db8:1:2:aaaa::", "2001:db8:1:2:5555::1", 1},
        /* another /64 is another client */
        {"2001:db8:1:2::1", "2001:db8:1:3::1", 0},
        {"2001:db8:1:2::1", "2001:db9:1:2::1", 0},
        {"fe80::1", "fe80::2", 1},
        /* IPv4: the whole address, and the same over IPv4-mapped IPv6 */
        {"192.0.2.1", "192.0.2.2", 0},
        {"192.0.2.1", "::ffff:192.0.2.1", 1},
        {"::ffff:192.0.2.1", "::ffff:192.0.2.2", 0},
        {"192.0.2.1", "192.0.2.1", 1},
        /* an IPv4 address is not the IPv6 /64 that happens to hold zeros */
        {"0.0.0.1", "::1", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        unsigned char ka[GW_CLIENT_KEY_BYTES], kb[GW_CLIENT_KEY_BYTES];

        key_of(pairs[i].a, ka);
        key_of(pairs[i].b, kb);
        if ((memcmp(ka, kb, sizeof(ka)) == 0) != pairs[i].same)
            fail_msg("%s and %s: %s, want %s", pairs[i].a, pairs[i].b,
                     pairs[i].same ? "two clients" : "one client", pairs[i].same ? "one" : "two");
    }
}

static void test_client_key_header(void **state)
{
    unsigned char k[GW_CLIENT_KEY_BYTES], want[GW_CLIENT_KEY_BYTES];
    struct sockaddr un = {.sa_family = AF_UNIX};

    (void)state;
    key_of("2001:db8:1:2::1", want);
    assert_int_equal(gw_client_key_from_header("203.0.113.9, [2001:db8:1:2::77] ", k), 0);
    assert_memory_equal(k, want, sizeof(k));
    assert_int_equal(gw_client_key_from_header("2001:db8:1:2:9::9", k), 0);
    assert_memory_equal(k, want, sizeof(k));
    key_of("203.0.113.9", want);
    assert_int_equal(gw_client_key_from_header("10.0.0.1,203.0.113.9", k), 0);
    assert_memory_equal(k, want, sizeof(k));
    /* Not an address: refused, the key left alone. */
    memset(k, 0xaa, sizeof(k));
    memcpy(want, k, sizeof(k));
    assert_int_equal(gw_client_key_from_header("203.0.113.9, unknown", k), -1);
    assert_int_equal(gw_client_key_from_header("", k), -1);
    assert_int_equal(gw_client_key_from_header("1.2.3.4.5", k), -1);
    assert_memory_equal(k, want, sizeof(k));
    /* Other families share the zero key. */
    assert_int_equal(gw_client_key_from_sockaddr(&un, k), -1);
    memset(want, 0, sizeof(want));
    assert_memory_equal(k, want, sizeof(k));
    assert_int_equal(gw_client_key_from_sockaddr(NULL, k), -1);
    assert_memory_equal(k, want, sizeof(k));
}

/* ------------------------------------------------------------ connections */

static void test_connections_per_client(void **state)
{
    gw_guard *g = guard_new("127.0.0.1:8080", "", "", 100, 2);
    unsigned char a1[16], a2[16], b[16];
    char msg[256];

    (void)state;
    key_of("2001:db8:1:2::1", a1);
    key_of("2001:db8:1:2::99", a2); /* the same /64 */
    key_of("192.0.2.7", b);
    assert_int_equal(gw_guard_conn_open(g, a1), GW_ADMIT_SERVE);
    assert_int_equal(gw_guard_conn_open(g, a2), GW_ADMIT_SERVE);
    assert_int_equal(gw_guard_conn_open(g, a1), GW_ADMIT_BUSY_CLIENT);
    assert_int_equal(gw_guard_conn_open(g, a2), GW_ADMIT_BUSY_CLIENT);
    assert_int_equal(gw_guard_conn_open(g, b), GW_ADMIT_SERVE);
    /* A busy connection closing frees no served place ... */
    gw_guard_conn_close(g, a1, GW_ADMIT_BUSY_CLIENT);
    assert_int_equal(gw_guard_conn_open(g, a1), GW_ADMIT_BUSY_CLIENT);
    /* ... a served one does. */
    gw_guard_conn_close(g, a2, GW_ADMIT_SERVE);
    assert_int_equal(gw_guard_conn_open(g, a2), GW_ADMIT_SERVE);
    /* The busy ones have a cap of their own; beyond it: dropped, never
     * counted. */
    for (int i = 2; i < GW_BUSY_PER_CLIENT_MAX; i++)
        assert_int_equal(gw_guard_conn_open(g, a1), GW_ADMIT_BUSY_CLIENT);
    assert_int_equal(gw_guard_conn_open(g, a1), GW_ADMIT_DROP);
    gw_guard_conn_close(g, a1, GW_ADMIT_DROP);
    assert_int_equal(gw_guard_conn_open(g, a1), GW_ADMIT_DROP);
    gw_guard_conn_close(g, a1, GW_ADMIT_BUSY_CLIENT);
    assert_int_equal(gw_guard_conn_open(g, a1), GW_ADMIT_BUSY_CLIENT);
    /* Others are not affected. */
    assert_int_equal(gw_guard_conn_open(g, b), GW_ADMIT_SERVE);
    assert_int_equal(gw_guard_conn_open(g, b), GW_ADMIT_BUSY_CLIENT);
    gw_guard_busy_message(g, GW_ADMIT_BUSY_CLIENT, msg, sizeof(msg));
    assert_string_equal(msg, "too many connections from your address: 2 at once "
                             "(max_connections_per_ip); retry in 1 s");
    gw_guard_free(g);
}

static void test_connections_in_all(void **state)
{
    gw_guard *g = guard_new("127.0.0.1:8080", "", "", 3, 0);
    unsigned char k[16];
    char text[32], msg[256];
    int busy = 0, dropped = 0;

    (void)state;
    assert_int_equal(gw_guard_connection_limit(g), 3 + GW_BUSY_CONNECTIONS_MAX);
    for (int i = 0; i < 3; i++) {
        snprintf(text, sizeof(text), "198.51.100.%d", i + 1);
        key_of(text, k);
        assert_int_equal(gw_guard_conn_open(g, k), GW_ADMIT_SERVE);
    }
    /* Everyone else is busy, up to GW_BUSY_CONNECTIONS_MAX; then dropped. */
    for (int i = 0; i < GW_BUSY_CONNECTIONS_MAX + 5; i++) {
        gw_admit how;

        snprintf(text, sizeof(text), "203.0.113.%d", i + 1);
        key_of(text, k);
        how = gw_guard_conn_open(g, k);
        busy += how == GW_ADMIT_BUSY_ALL;
        dropped += how == GW_ADMIT_DROP;
    }
    assert_int_equal(busy, GW_BUSY_CONNECTIONS_MAX);
    assert_int_equal(dropped, 5);
    /* A served connection closes: the next one is served. */
    key_of("198.51.100.2", k);
    gw_guard_conn_close(g, k, GW_ADMIT_SERVE);
    key_of("192.0.2.200", k);
    assert_int_equal(gw_guard_conn_open(g, k), GW_ADMIT_SERVE);
    gw_guard_busy_message(g, GW_ADMIT_BUSY_ALL, msg, sizeof(msg));
    assert_string_equal(
        msg, "the gateway holds its most connections, 3 (max_connections); retry in 1 s");
    gw_guard_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_origin_table),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_listen_address),
        cmocka_unit_test(test_any_host),
        cmocka_unit_test(test_cors_any),
        cmocka_unit_test(test_bad_allowed_hosts),
        cmocka_unit_test(test_client_key_64),
        cmocka_unit_test(test_client_key_header),
        cmocka_unit_test(test_connections_per_client),
        cmocka_unit_test(test_connections_in_all),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
