/*
 * test_gateway.c - sce-gateway over HTTP, against the real sce-server and
 * the real Docker Engine: every route and every error status of
 * docs/API.md.
 *
 * The main gateway and server are the ctest fixture `stack` (stack.sh),
 * whose URLs are in the file named by $SCE_TEST_STACK_ENV.  The statuses
 * the stack cannot produce need processes of their own, which this test
 * starts and stops itself:
 *   - a second server with one worker and no queue, so that concurrent runs
 *     are refused (429), behind two gateways: a normal one, and one whose
 *     rpc_timeout is shorter than a run (504);
 *   - a gateway pointed at a socket where nobody listens (503);
 *   - a gateway with a page directory and CORS on (static files, headers);
 *   - a gateway that is sent SIGTERM with a run in flight (graceful stop);
 *   - the guards: a gateway that requires a bearer token (401), one with a
 *     tight rate limit (429), one with a 2 s read_timeout and a cap of
 *     connections per address (slow clients, 503 over the cap), gateways
 *     with tight connection caps that many parallel requests overrun
 *     (every one answered, the extra ones 503); the header cap (431) and
 *     the Host and Origin checks (403) on the stack's gateway;
 *   - gateways that must refuse to start (bad token options).
 * A missing stack is a failure, never a skip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../stack_env.h"

extern char **environ;

#define CSP_PAGE                                                                                   \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "                   \
    "frame-ancestors 'none'"
#define CORS_ORIGIN "https://app.example"
#define FFFD "\xEF\xBF\xBD"

/* A process this test started. */
typedef struct proc {
    const char *name;
    pid_t pid;
    char log[512];
    char url[128]; /* gateways: http://127.0.0.1:PORT */
} proc;

static char stack_server[512];
static char stack_gateway[256];
static char tmpdir[256];
static char page_dir[300];
static char busy_url[400];
static proc busy_server = {"busy server", 0, "", ""};
static proc gw_busy = {"gateway to the busy server", 0, "", ""};
static proc gw_slow = {"gateway with a 1 s rpc_timeout", 0, "", ""};
static proc gw_nobody = {"gateway to nobody", 0, "", ""};
static proc gw_page = {"gateway with a page and CORS", 0, "", ""};
static proc gw_auth = {"gateway with a bearer token", 0, "", ""};
static proc gw_rate = {"gateway with a rate limit of 1 per second", 0, "", ""};
static proc gw_loris = {"gateway with a 2 s read timeout", 0, "", ""};

#define TOKEN "s3cr3t-t0ken-0123456789abcdef"
#define LORIS_READ_TIMEOUT_S 2
#define LORIS_PER_IP 8

/* ------------------------------------------------------------ HTTP */

typedef struct request {
    const char *method;
    const char *path;
    const char *content_type; /* NULL: no Content-Type header at all */
    const char *body;         /* NULL: no body */
    size_t len;
    int chunked;          /* send the body with Transfer-Encoding: chunked */
    const char *origin;   /* Origin header, or NULL */
    int no_expect;        /* never send Expect: 100-continue */
    const char *extra[3]; /* more header lines, "Name: value" */
} request;

typedef struct answer {
    long status;
    char *body;
    size_t len;
    char head[16384];
    size_t hlen;
    json_t *json; /* the body, when it parses as JSON */
    double seconds;
} answer;

typedef struct upload {
    const char *p;
    size_t left;
} upload;

static size_t body_cb(char *p, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    char *b = realloc(a->body, a->len + size * n + 1);

    if (b == NULL)
        return 0;
    memcpy(b + a->len, p, size * n);
    a->body = b;
    a->len += size * n;
    a->body[a->len] = '\0';
    return size * n;
}

static size_t head_cb(char *p, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    size_t k = size * n;

    /* A new status line (after "100 Continue") starts a new header block. */
    if (k >= 5 && strncmp(p, "HTTP/", 5) == 0)
        a->hlen = 0;
    if (a->hlen + k < sizeof(a->head)) {
        memcpy(a->head + a->hlen, p, k);
        a->hlen += k;
        a->head[a->hlen] = '\0';
    }
    return k;
}

static size_t read_cb(char *p, size_t size, size_t n, void *arg)
{
    upload *u = arg;
    size_t k = size * n < u->left ? size * n : u->left;

    memcpy(p, u->p, k);
    u->p += k;
    u->left -= k;
    return k;
}

static void answer_free(answer *a)
{
    free(a->body);
    json_decref(a->json);
    memset(a, 0, sizeof(*a));
}

/* Sends one request on a fresh connection; fails the test if no HTTP
 * answer comes back at all. */
static void http(const char *base, const request *r, answer *a)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[1024], line[512];
    upload up = {r->body, r->len};
    CURLcode cc;

    memset(a, 0, sizeof(*a));
    assert_non_null(c);
    snprintf(url, sizeof(url), "%s%s", base, r->path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, head_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    if (strcmp(r->method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    if (r->body != NULL && r->chunked) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
    } else if (r->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
    }
    if (r->content_type != NULL) {
        snprintf(line, sizeof(line), "Content-Type: %s", r->content_type);
        h = curl_slist_append(h, line);
    } else {
        h = curl_slist_append(h, "Content-Type:"); /* curl would add a form type */
    }
    if (r->origin != NULL) {
        snprintf(line, sizeof(line), "Origin: %s", r->origin);
        h = curl_slist_append(h, line);
    }
    if (r->no_expect)
        h = curl_slist_append(h, "Expect:");
    for (size_t i = 0; i < sizeof(r->extra) / sizeof(r->extra[0]) && r->extra[i] != NULL; i++)
        h = curl_slist_append(h, r->extra[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &a->seconds);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK)
        fail_msg("%s %s%s: %s", r->method, base, r->path, curl_easy_strerror(cc));
    if (a->body != NULL)
        a->json = json_loadb(a->body, a->len, JSON_ALLOW_NUL, NULL);
}

static void get(const char *base, const char *path, answer *a)
{
    request r = {.method = "GET", .path = path};

    http(base, &r, a);
}

static void post_run(const char *base, const char *body, answer *a)
{
    request r = {.method = "POST",
                 .path = "/run",
                 .content_type = "application/json",
                 .body = body,
                 .len = strlen(body)};

    http(base, &r, a);
}

/* The value of header `name` (case-insensitive) or NULL, into out. */
static const char *header(const answer *a, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    const char *p = a->head;

    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            size_t len;

            while (*v == ' ')
                v++;
            len = strcspn(v, "\r\n");
            snprintf(out, outlen, "%.*s", (int)len, v);
            return out;
        }
    }
    return NULL;
}

static void expect_header(const answer *a, const char *name, const char *want)
{
    char v[1024];

    if (header(a, name, v, sizeof(v)) == NULL)
        fail_msg("no %s header in:\n%s", name, a->head);
    if (strcmp(v, want) != 0)
        fail_msg("%s: got '%s', want '%s'", name, v, want);
}

static void expect_no_header(const answer *a, const char *name)
{
    char v[1024];

    if (header(a, name, v, sizeof(v)) != NULL)
        fail_msg("unexpected %s: %s", name, v);
}

static void expect_security_headers(const answer *a)
{
    expect_header(a, "X-Content-Type-Options", "nosniff");
    expect_header(a, "X-Frame-Options", "DENY");
    expect_header(a, "Referrer-Policy", "no-referrer");
}

static const char *jstr(const answer *a, const char *key)
{
    json_t *v = json_object_get(a->json, key);

    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string in %s", key, a->body ? a->body : "(no body)");
    return json_string_value(v);
}

static json_int_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

static int jbool(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_boolean(v))
        fail_msg("\"%s\" is not a boolean", key);
    return json_is_true(v);
}

/* Every error answer: JSON of one shape, the status word, the code, and
 * (unless NULL) the exact message. */
static void expect_error(const answer *a, long status, const char *code, const char *message)
{
    char ct[256];

    if (a->status != status)
        fail_msg("status %ld, want %ld: %s", a->status, status, a->body ? a->body : "");
    expect_security_headers(a);
    if (header(a, "Content-Type", ct, sizeof(ct)) == NULL || strcmp(ct, "application/json") != 0)
        fail_msg("error answer is not JSON: %s", a->head);
    if (!json_is_object(a->json))
        fail_msg("error body is not a JSON object: %s", a->body ? a->body : "");
    assert_string_equal(jstr(a, "status"), status < 500 ? "rejected" : "error");
    assert_string_equal(jstr(a, "code"), code);
    assert_true(jstr(a, "error")[0] != '\0');
    assert_null(strchr(jstr(a, "error"), '\n'));
    if (message != NULL)
        assert_string_equal(jstr(a, "error"), message);
}

/* ------------------------------------------------------------ processes */

static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static int spawn(proc *p, char *const argv[])
{
    posix_spawn_file_actions_t fa;
    int rv;

    /* One log per process, named after its role. */
    snprintf(p->log, sizeof(p->log), "%s/%s.log", tmpdir, p->name);
    for (char *q = p->log + strlen(tmpdir) + 1; *q != '\0'; q++)
        if (*q == ' ' || *q == '/')
            *q = '_';
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    rv = posix_spawn(&p->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rv != 0) {
        fprintf(stderr, "cannot start %s: %s\n", argv[0], strerror(rv));
        p->pid = 0;
        return -1;
    }
    return 0;
}

static void dump_log(const proc *p)
{
    char line[1024];
    FILE *f = fopen(p->log, "r");

    if (f == NULL)
        return;
    fprintf(stderr, "---- log of the %s ----\n", p->name);
    while (fgets(line, sizeof(line), f) != NULL)
        fputs(line, stderr);
    fclose(f);
}

/* SIGTERM, then up to 30 s for it to exit.  Returns the exit status, or -1
 * if it had to be killed or did not exit normally. */
static int stop(proc *p)
{
    int st = 0;

    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        pid_t w = waitpid(p->pid, &st, WNOHANG);
        if (w == p->pid) {
            p->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        usleep(100 * 1000);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
    p->pid = 0;
    return -1;
}

static int exited(proc *p)
{
    int st;

    return p->pid > 0 && waitpid(p->pid, &st, WNOHANG) == p->pid;
}

/* A gateway on a free port; waits until it answers HTTP (any status). */
static int start_gateway(proc *p, const char *server, const char *const *extra)
{
    char listen[64], gw[] = SCE_GATEWAY_PATH;
    char *argv[24];
    int n = 0, port = free_port();

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(p->url, sizeof(p->url), "http://%s", listen);
    argv[n++] = gw;
    argv[n++] = "--listen";
    argv[n++] = listen;
    argv[n++] = "--server";
    argv[n++] = (char *)server;
    for (; extra != NULL && *extra != NULL && n < 22; extra++)
        argv[n++] = (char *)*extra;
    argv[n] = NULL;
    if (spawn(p, argv) != 0)
        return -1;
    for (int i = 0; i < 100; i++) {
        CURL *c = curl_easy_init();
        CURLcode cc;
        char url[160];

        snprintf(url, sizeof(url), "%s/nope", p->url);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 2L);
        cc = curl_easy_perform(c);
        curl_easy_cleanup(c);
        if (cc == CURLE_OK)
            return 0;
        if (exited(p))
            break;
        usleep(100 * 1000);
    }
    fprintf(stderr, "the %s did not start\n", p->name);
    dump_log(p);
    return -1;
}

/* ------------------------------------------------------------ setup */

static void load_stack_env(void)
{
    stack_value v[] = {{"SCE_SERVER", stack_server, sizeof(stack_server), 1},
                       {"SCE_GATEWAY", stack_gateway, sizeof(stack_gateway), 1}};

    stack_env_load(v, 2);
}

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "w")) == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* The page the page gateway serves: index.html, an asset in assets/, one
 * at the top, and what must never be served: a symlink, a hidden file. */
static int make_page(void)
{
    char assets[400], link[512];

    snprintf(page_dir, sizeof(page_dir), "%s/page", tmpdir);
    snprintf(assets, sizeof(assets), "%s/assets", page_dir);
    snprintf(link, sizeof(link), "%s/leak.txt", assets);
    if (mkdir(page_dir, 0755) != 0 || mkdir(assets, 0755) != 0 ||
        write_file(page_dir, "index.html", "<!doctype html><title>sce</title>\n") != 0 ||
        write_file(assets, "app.js", "console.log('sce');\n") != 0 ||
        write_file(page_dir, "style.css", "body { margin: 0 }\n") != 0 ||
        write_file(assets, ".secret", "hidden\n") != 0 || symlink("/etc/hostname", link) != 0)
        return -1;
    return 0;
}

/* The busy server is ready when its gateway lists python as available. */
static int wait_busy_ready(void)
{
    for (int i = 0; i < 300; i++) {
        answer a;
        CURL *c = curl_easy_init();
        char url[160];

        memset(&a, 0, sizeof(a));
        snprintf(url, sizeof(url), "%s/sce/languages", gw_busy.url);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
        curl_easy_perform(c);
        curl_easy_cleanup(c);
        if (a.body != NULL && strstr(a.body, "\"name\":\"python\"") != NULL &&
            strstr(a.body, "\"available\":true") != NULL) {
            free(a.body);
            return 0;
        }
        free(a.body);
        if (exited(&busy_server))
            break;
        usleep(100 * 1000);
    }
    fprintf(stderr, "the busy server did not become ready\n");
    dump_log(&busy_server);
    return -1;
}

static int group_setup(void **state)
{
    char sv[] = SCE_SERVER_PATH, instance[64];
    char *argv[12];
    const char *const slow[] = {"--rpc-timeout", "1s", NULL};
    const char *const page[] = {"--static-dir", page_dir, "--cors-origin", CORS_ORIGIN, NULL};
    const char *const auth[] = {"--auth-token", TOKEN, "--static-dir", page_dir, "--cors-origin",
                                CORS_ORIGIN,    NULL};
    const char *const rate[] = {"--rate-limit",    "1", "--rate-burst", "3", "--client-ip-header",
                                "X-Forwarded-For", NULL};
    char loris_timeout[16], loris_per_ip[16];
    const char *const loris[] = {"--read-timeout", loris_timeout, "--max-connections-per-ip",
                                 loris_per_ip, NULL};
    char nobody[400];

    (void)state;
    load_stack_env();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sce-gwtest.XXXXXX");
    if (mkdtemp(tmpdir) == NULL || make_page() != 0) {
        fprintf(stderr, "cannot prepare %s: %s\n", tmpdir, strerror(errno));
        return -1;
    }
    snprintf(busy_url, sizeof(busy_url), "ipc://%s/busy.sock", tmpdir);
    snprintf(nobody, sizeof(nobody), "ipc://%s/nobody.sock", tmpdir);
    snprintf(instance, sizeof(instance), "gwtest-%d", (int)getpid());
    snprintf(loris_timeout, sizeof(loris_timeout), "%ds", LORIS_READ_TIMEOUT_S);
    snprintf(loris_per_ip, sizeof(loris_per_ip), "%d", LORIS_PER_IP);
    argv[0] = sv;
    argv[1] = "--listen";
    argv[2] = busy_url;
    argv[3] = "--instance";
    argv[4] = instance;
    argv[5] = "--workers";
    argv[6] = "1";
    argv[7] = "--queue-depth";
    argv[8] = "0";
    argv[9] = NULL;
    if (spawn(&busy_server, argv) != 0 || start_gateway(&gw_busy, busy_url, NULL) != 0 ||
        start_gateway(&gw_slow, busy_url, slow) != 0 ||
        start_gateway(&gw_nobody, nobody, NULL) != 0 ||
        start_gateway(&gw_page, stack_server, page) != 0 ||
        start_gateway(&gw_auth, stack_server, auth) != 0 ||
        start_gateway(&gw_rate, stack_server, rate) != 0 ||
        start_gateway(&gw_loris, stack_server, loris) != 0 || wait_busy_ready() != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    proc *gws[] = {&gw_busy, &gw_slow, &gw_nobody, &gw_page, &gw_auth, &gw_rate, &gw_loris};
    int bad = 0;
    char cmd[400];

    (void)state;
    for (size_t i = 0; i < sizeof(gws) / sizeof(gws[0]); i++) {
        if (gws[i]->pid > 0 && stop(gws[i]) != 0) {
            fprintf(stderr, "the %s did not exit 0 on SIGTERM\n", gws[i]->name);
            dump_log(gws[i]);
            bad = 1;
        }
    }
    /* The server waits for its last run and removes its containers. */
    if (busy_server.pid > 0 && stop(&busy_server) != 0) {
        fprintf(stderr, "the busy server did not exit 0 on SIGTERM\n");
        dump_log(&busy_server);
        bad = 1;
    }
    if (tmpdir[0] != '\0' && !bad) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", tmpdir);
    }
    curl_global_cleanup();
    return bad ? -1 : 0;
}

/* ------------------------------------------------------------ POST /run */

static void test_run_ok(void **state)
{
    answer a;
    char ct[128];
    json_t *lim;

    (void)state;
    post_run(stack_gateway, "{\"code\": \"print(2+2)\"}", &a);
    assert_int_equal(a.status, 200);
    expect_security_headers(&a);
    assert_non_null(header(&a, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/json");
    assert_string_equal(jstr(&a, "output"), "4\n");
    assert_string_equal(jstr(&a, "error"), "");
    assert_string_equal(jstr(&a, "status"), "ok");
    assert_string_equal(jstr(&a, "stdout"), "4\n");
    assert_string_equal(jstr(&a, "stderr"), "");
    assert_string_equal(jstr(&a, "message"), "");
    assert_string_equal(jstr(&a, "language"), "python");
    assert_true(jstr(&a, "language_version")[0] != '\0');
    assert_int_equal(strlen(jstr(&a, "request_id")), 16);
    assert_int_equal(jint(a.json, "exit_code"), 0);
    assert_int_equal(jint(a.json, "signal"), 0);
    assert_true(jint(a.json, "wall_ms") > 0);
    (void)jint(a.json, "cpu_ms");
    (void)jint(a.json, "peak_memory_bytes");
    assert_false(jbool(a.json, "truncated"));
    assert_false(jbool(a.json, "stdout_truncated"));
    assert_false(jbool(a.json, "stderr_truncated"));
    assert_false(jbool(a.json, "stdout_lossy"));
    assert_false(jbool(a.json, "stderr_lossy"));
    lim = json_object_get(a.json, "limits");
    assert_true(jint(lim, "timeout_ms") > 0);
    assert_true(jint(lim, "memory_bytes") > 0);
    assert_true(jint(lim, "output_limit_bytes") > 0);
    answer_free(&a);
}

static void test_run_runtime_error(void **state)
{
    answer a;

    (void)state;
    post_run(stack_gateway, "{\"code\": \"print(x)\"}", &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(&a, "output"), "");
    assert_string_equal(jstr(&a, "error"), "NameError: name 'x' is not defined");
    assert_string_equal(jstr(&a, "status"), "runtime_error");
    assert_int_equal(jint(a.json, "exit_code"), 1);
    assert_non_null(strstr(jstr(&a, "stderr"), "Traceback"));
    answer_free(&a);
}

static void test_run_timeout(void **state)
{
    answer a;

    (void)state;
    post_run(stack_gateway, "{\"code\": \"while True: pass\", \"timeout_ms\": 1000}", &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(&a, "status"), "timeout");
    assert_string_equal(jstr(&a, "error"), "Execution timed out after 1 second");
    assert_int_equal(jint(json_object_get(a.json, "limits"), "timeout_ms"), 1000);
    answer_free(&a);
}

static void test_run_node_stdin_args(void **state)
{
    answer a;

    (void)state;
    post_run(stack_gateway,
             "{\"language\": \"node\", \"stdin\": \"hi \", \"args\": [\"a\", \"b\"],"
             " \"code\": \"const fs = require('fs');"
             " console.log(fs.readFileSync(0, 'utf8') + process.argv.slice(2).join(','))\"}",
             &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(&a, "status"), "ok");
    assert_string_equal(jstr(&a, "language"), "node");
    assert_string_equal(jstr(&a, "output"), "hi a,b\n");
    answer_free(&a);
}

static void test_run_files(void **state)
{
    answer a;

    (void)state;
    post_run(
        stack_gateway,
        "{\"files\": [{\"path\": \"main.py\", \"content\": \"import helper\\nhelper.hi()\\n\"},"
        " {\"path\": \"helper.py\", \"content\": \"def hi():\\n    print('hi')\\n\"}]}",
        &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(&a, "error"), "");
    assert_string_equal(jstr(&a, "output"), "hi\n");
    answer_free(&a);
}

/* Bytes that are not UTF-8, and NUL bytes, still make valid JSON. */
static void test_run_binary_output(void **state)
{
    answer a;
    json_t *out;

    (void)state;
    post_run(stack_gateway,
             "{\"code\": \"import sys; sys.stdout.buffer.write(b'a\\\\xff\\\\x00b')\"}", &a);
    assert_int_equal(a.status, 200);
    assert_non_null(a.json);
    out = json_object_get(a.json, "output");
    assert_int_equal(json_string_length(out), 6);
    assert_memory_equal(json_string_value(out), "a" FFFD "\0b", 6);
    assert_true(jbool(a.json, "stdout_lossy"));
    assert_false(jbool(a.json, "stderr_lossy"));
    answer_free(&a);
}

/* ------------------------------------------------------------ 400 */

static void test_400_malformed_json(void **state)
{
    answer a;

    (void)state;
    post_run(stack_gateway, "{\"code\": }", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT",
                 "body: invalid JSON at line 1 column 10: unexpected token near '}'");
    answer_free(&a);
    post_run(stack_gateway, "", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "body: empty; expected a JSON object");
    answer_free(&a);
    post_run(stack_gateway, "[\"print(1)\"]", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "body: expected a JSON object");
    answer_free(&a);
}

static void test_400_wrong_type(void **state)
{
    static const char *const rows[][2] = {
        {"{\"code\": 5}", "code: expected a string"},
        {"{}", "code: required"},
        {"{\"code\": \"x\", \"args\": [\"a\", 1]}", "args[1]: expected a string"},
        {"{\"code\": \"x\", \"timeout_ms\": \"1s\"}", "timeout_ms: expected a positive integer"},
        {"{\"code\": \"x\", \"language\": 3}", "language: expected a string"},
        {"{\"code\": \"x\", \"stdin\": [1]}", "stdin: expected a string"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        answer a;

        post_run(stack_gateway, rows[i][0], &a);
        expect_error(&a, 400, "INVALID_ARGUMENT", rows[i][1]);
        answer_free(&a);
    }
}

/* What only the server can judge comes back as 400 with its message. */
static void test_400_from_server(void **state)
{
    size_t n = 5001;
    char *body = malloc(n + 32);
    answer a;

    (void)state;
    assert_non_null(body);
    memcpy(body, "{\"code\": \"", 10);
    memset(body + 10, 'x', n);
    strcpy(body + 10 + n, "\"}");
    post_run(stack_gateway, body, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "code is 5001 characters; the limit is 5000");
    answer_free(&a);
    free(body);

    post_run(stack_gateway, "{\"code\": \"x\", \"language\": \"cobol\"}", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", NULL);
    assert_non_null(strstr(jstr(&a, "error"), "cobol"));
    answer_free(&a);

    post_run(stack_gateway, "{\"code\": \"x\", \"timeout_ms\": 86400000}", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", NULL);
    assert_non_null(strstr(jstr(&a, "error"), "timeout_ms"));
    answer_free(&a);
}

/* ------------------------------------------------------------ 413, 415 */

static void test_413_body_too_big(void **state)
{
    size_t n = 2 << 20;
    char *big = malloc(n);
    request r = {.method = "POST",
                 .path = "/run",
                 .content_type = "application/json",
                 .body = big,
                 .len = n};
    answer a;

    (void)state;
    assert_non_null(big);
    memset(big, ' ', n);
    /* Announced by Content-Length, and curl waits for 100 Continue:
     * refused before the body is sent. */
    http(stack_gateway, &r, &a);
    expect_error(&a, 413, "INVALID_ARGUMENT",
                 "body: 2097152 bytes is more than the limit of 1048576 bytes");
    answer_free(&a);
    /* Announced, but sent at once: the answer must still reach the client
     * (no reset under its feet), every time. */
    r.no_expect = 1;
    for (int i = 0; i < 5; i++) {
        http(stack_gateway, &r, &a);
        expect_error(&a, 413, "INVALID_ARGUMENT",
                     "body: 2097152 bytes is more than the limit of 1048576 bytes");
        answer_free(&a);
    }
    r.no_expect = 0;
    /* Streamed without a length: noticed when it passes the cap. */
    r.chunked = 1;
    http(stack_gateway, &r, &a);
    expect_error(&a, 413, "INVALID_ARGUMENT", "body: more than the limit of 1048576 bytes");
    answer_free(&a);
    free(big);
}

static void test_415_wrong_content_type(void **state)
{
    const char *body = "{\"code\": \"print(1)\"}";
    request r = {.method = "POST",
                 .path = "/run",
                 .content_type = "text/plain",
                 .body = body,
                 .len = strlen(body)};
    answer a;

    (void)state;
    http(stack_gateway, &r, &a);
    expect_error(&a, 415, "INVALID_ARGUMENT",
                 "Content-Type: expected application/json, got 'text/plain'");
    answer_free(&a);
    r.content_type = NULL;
    http(stack_gateway, &r, &a);
    expect_error(&a, 415, "INVALID_ARGUMENT", "Content-Type: missing; expected application/json");
    answer_free(&a);
    r.content_type = "application/json; charset=utf-8";
    http(stack_gateway, &r, &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);
}

/* ------------------------------------------------------------ 404, 405 */

static void test_404(void **state)
{
    answer a;

    (void)state;
    get(stack_gateway, "/nope", &a);
    expect_error(&a, 404, "NOT_FOUND", "no route for GET /nope");
    assert_int_equal(json_object_size(a.json), 3);
    answer_free(&a);
    get(stack_gateway, "/run/", &a);
    expect_error(&a, 404, "NOT_FOUND", "no route for GET /run/");
    answer_free(&a);
}

static void test_405(void **state)
{
    request r = {.method = "POST",
                 .path = "/sce/languages",
                 .content_type = "application/json",
                 .body = "{}",
                 .len = 2};
    answer a;

    (void)state;
    get(stack_gateway, "/run", &a);
    expect_error(&a, 405, "UNIMPLEMENTED", "method GET is not allowed for /run; allowed: POST");
    expect_header(&a, "Allow", "POST");
    answer_free(&a);
    http(stack_gateway, &r, &a);
    expect_error(&a, 405, "UNIMPLEMENTED", NULL);
    expect_header(&a, "Allow", "GET, HEAD");
    answer_free(&a);
    r.method = "DELETE";
    r.path = "/healthz";
    r.body = NULL;
    http(stack_gateway, &r, &a);
    expect_error(&a, 405, "UNIMPLEMENTED", NULL);
    expect_header(&a, "Allow", "GET, HEAD");
    answer_free(&a);
}

/* ------------------------------------------------------------ 429, 503, 504 */

typedef struct busy_call {
    pthread_t t;
    answer a;
} busy_call;

static void *busy_main(void *arg)
{
    busy_call *b = arg;

    post_run(gw_busy.url, "{\"code\": \"import time; time.sleep(1.5)\"}", &b->a);
    return NULL;
}

static void test_429_server_busy(void **state)
{
    busy_call calls[4];
    int ok = 0, busy = 0;

    (void)state;
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&calls[i].t, NULL, busy_main, &calls[i]), 0);
    for (size_t i = 0; i < 4; i++)
        pthread_join(calls[i].t, NULL);
    for (size_t i = 0; i < 4; i++) {
        answer *a = &calls[i].a;

        if (a->status == 200) {
            ok++;
        } else {
            expect_error(a, 429, "RESOURCE_EXHAUSTED", NULL);
            expect_header(a, "Retry-After", "1");
            busy++;
        }
        answer_free(a);
    }
    if (ok < 1 || busy < 1)
        fail_msg("%d runs answered, %d refused: want at least one of each", ok, busy);
}

static void test_503_server_unreachable(void **state)
{
    answer a;

    (void)state;
    post_run(gw_nobody.url, "{\"code\": \"print(1)\"}", &a);
    expect_error(&a, 503, "UNAVAILABLE", NULL);
    assert_true(a.seconds < 5);
    answer_free(&a);
    get(gw_nobody.url, "/sce/languages", &a);
    expect_error(&a, 503, "UNAVAILABLE", NULL);
    answer_free(&a);
    get(gw_nobody.url, "/healthz", &a);
    assert_int_equal(a.status, 503);
    assert_string_equal(jstr(&a, "status"), "unavailable");
    assert_false(jbool(json_object_get(a.json, "server"), "reachable"));
    assert_false(jbool(json_object_get(a.json, "engine"), "ok"));
    answer_free(&a);
}

/* Waits until the busy server counts no busy worker: a run's worker stays
 * busy after its answer until the run's container has stopped. */
static void wait_busy_idle(void)
{
    for (int i = 0; i < 300; i++) {
        answer a;
        json_t *srv;

        get(gw_busy.url, "/healthz", &a);
        srv = a.json != NULL ? json_object_get(a.json, "server") : NULL;
        if (srv != NULL && json_integer_value(json_object_get(srv, "busy_workers")) == 0) {
            answer_free(&a);
            return;
        }
        answer_free(&a);
        usleep(50 * 1000);
    }
    fail_msg("the busy server's worker is still busy after 15 s");
}

static void test_504_deadline(void **state)
{
    answer a;

    (void)state;
    wait_busy_idle();
    post_run(gw_slow.url, "{\"code\": \"import time; time.sleep(3)\"}", &a);
    expect_error(&a, 504, "DEADLINE_EXCEEDED", NULL);
    assert_true(a.seconds < 2.5);
    answer_free(&a);
}

/* ------------------------------------------------------------ GET routes */

static void test_languages(void **state)
{
    answer a;
    json_t *arr;
    int py = 0, node = 0;

    (void)state;
    get(stack_gateway, "/sce/languages", &a);
    assert_int_equal(a.status, 200);
    expect_security_headers(&a);
    arr = json_object_get(a.json, "languages");
    assert_true(json_is_array(arr));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *l = json_array_get(arr, i);
        const char *name = json_string_value(json_object_get(l, "name"));
        const char *entry = json_string_value(json_object_get(l, "default_entry"));

        assert_non_null(name);
        assert_true(jbool(l, "available"));
        assert_true(json_string_length(json_object_get(l, "version")) > 0);
        assert_true(json_is_string(json_object_get(l, "image")));
        assert_true(json_is_string(json_object_get(l, "message")));
        assert_true(json_array_size(json_object_get(l, "extensions")) > 0);
        if (strcmp(name, "python") == 0) {
            py = 1;
            assert_string_equal(entry, "main.py");
        } else if (strcmp(name, "node") == 0) {
            node = 1;
            assert_string_equal(entry, "main.js");
        }
    }
    assert_true(py && node);
    answer_free(&a);
}

static void test_healthz(void **state)
{
    request head = {.method = "HEAD", .path = "/healthz"};
    answer a;
    json_t *srv, *eng;

    (void)state;
    get(stack_gateway, "/healthz", &a);
    assert_int_equal(a.status, 200);
    expect_security_headers(&a);
    assert_string_equal(jstr(&a, "status"), "ok");
    srv = json_object_get(a.json, "server");
    eng = json_object_get(a.json, "engine");
    assert_true(jbool(srv, "reachable"));
    assert_true(jbool(srv, "serving"));
    assert_true(jint(srv, "workers") > 0);
    (void)jint(srv, "busy_workers");
    (void)jint(srv, "queued");
    (void)jint(srv, "queue_capacity");
    (void)jint(srv, "uptime_ms");
    (void)jint(srv, "runs_total");
    assert_true(jbool(eng, "ok"));
    assert_true(json_string_length(json_object_get(eng, "version")) > 0);
    assert_true(json_is_string(json_object_get(eng, "message")));
    answer_free(&a);
    http(stack_gateway, &head, &a);
    assert_int_equal(a.status, 200);
    assert_int_equal(a.len, 0);
    answer_free(&a);
}

/* ------------------------------------------------------------ page, headers */

static void test_page(void **state)
{
    answer a;

    (void)state;
    get(gw_page.url, "/", &a);
    assert_int_equal(a.status, 200);
    expect_security_headers(&a);
    expect_header(&a, "Content-Type", "text/html; charset=utf-8");
    expect_header(&a, "Content-Security-Policy", CSP_PAGE);
    assert_string_equal(a.body, "<!doctype html><title>sce</title>\n");
    answer_free(&a);

    get(gw_page.url, "/assets/app.js", &a);
    assert_int_equal(a.status, 200);
    expect_security_headers(&a);
    expect_header(&a, "Content-Type", "text/javascript; charset=utf-8");
    assert_string_equal(a.body, "console.log('sce');\n");
    answer_free(&a);

    get(gw_page.url, "/assets/style.css", &a);
    assert_int_equal(a.status, 200);
    expect_header(&a, "Content-Type", "text/css; charset=utf-8");
    answer_free(&a);

    /* Never served: symlinks, hidden files, anything outside the page. */
    static const char *const never[] = {
        "/assets/leak.txt", "/assets/.secret", "/assets/../index.html", "/assets/%2e%2e/index.html",
        "/assets/",         "/index.html",     "/assets/assets/app.js",
    };
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        get(gw_page.url, never[i], &a);
        if (a.status != 404)
            fail_msg("GET %s: %ld, want 404", never[i], a.status);
        expect_error(&a, 404, "NOT_FOUND", NULL);
        answer_free(&a);
    }
}

/* The stack's gateway serves whatever the UI build left: the page, or a
 * 503 that says it is not built. */
static void test_page_of_the_stack(void **state)
{
    answer a;

    (void)state;
    get(stack_gateway, "/", &a);
    expect_security_headers(&a);
    if (a.status == 200) {
        expect_header(&a, "Content-Type", "text/html; charset=utf-8");
        expect_header(&a, "Content-Security-Policy", CSP_PAGE);
    } else {
        expect_error(&a, 503, "UNAVAILABLE", "the page is not built");
    }
    answer_free(&a);
}

static void test_security_headers_everywhere(void **state)
{
    static const struct {
        const char *method, *path;
    } rows[] = {
        {"GET", "/healthz"}, {"GET", "/sce/languages"}, {"GET", "/nope"},
        {"GET", "/run"},     {"PUT", "/"},          {"HEAD", "/"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        request r = {.method = rows[i].method, .path = rows[i].path};
        answer a;

        http(gw_page.url, &r, &a);
        expect_security_headers(&a);
        expect_no_header(&a, "Access-Control-Allow-Origin");
        answer_free(&a);
    }
}

static void test_cors_off_by_default(void **state)
{
    request pre = {.method = "OPTIONS", .path = "/run", .origin = CORS_ORIGIN};
    answer a;

    (void)state;
    http(stack_gateway, &pre, &a);
    expect_error(&a, 405, "UNIMPLEMENTED", NULL);
    expect_header(&a, "Allow", "POST");
    expect_no_header(&a, "Access-Control-Allow-Origin");
    expect_no_header(&a, "Access-Control-Allow-Methods");
    answer_free(&a);
    pre.method = "GET";
    pre.path = "/sce/languages";
    http(stack_gateway, &pre, &a);
    assert_int_equal(a.status, 200);
    expect_no_header(&a, "Access-Control-Allow-Origin");
    answer_free(&a);
}

static void test_cors_configured(void **state)
{
    request r = {.method = "OPTIONS", .path = "/run", .origin = CORS_ORIGIN};
    const char *body = "{\"code\": \"print(1)\"}";
    answer a;

    (void)state;
    http(gw_page.url, &r, &a);
    assert_int_equal(a.status, 204);
    expect_header(&a, "Access-Control-Allow-Origin", CORS_ORIGIN);
    expect_header(&a, "Access-Control-Allow-Methods", "POST, OPTIONS");
    expect_header(&a, "Access-Control-Allow-Headers", "Content-Type");
    expect_header(&a, "Vary", "Origin");
    answer_free(&a);

    r.method = "POST";
    r.content_type = "application/json";
    r.body = body;
    r.len = strlen(body);
    http(gw_page.url, &r, &a);
    assert_int_equal(a.status, 200);
    expect_header(&a, "Access-Control-Allow-Origin", CORS_ORIGIN);
    answer_free(&a);

    /* Any other origin gets no permission, and may not even run. */
    r.origin = "https://evil.example";
    http(gw_page.url, &r, &a);
    expect_error(&a, 403, "PERMISSION_DENIED", NULL);
    expect_no_header(&a, "Access-Control-Allow-Origin");
    answer_free(&a);
}

/* ------------------------------------------------------------ guards: 401 */

static void expect_401(const answer *a, const char *www)
{
    expect_error(a, 401, "UNAUTHENTICATED", NULL);
    expect_header(a, "WWW-Authenticate", www);
}

static void test_401_auth(void **state)
{
    const char *body = "{\"code\": \"print(6*7)\"}";
    request r = {.method = "GET", .path = "/sce/languages"};
    answer a;

    (void)state;
    /* No token, a wrong one, another scheme: refused, and no run starts. */
    http(gw_auth.url, &r, &a);
    expect_401(&a, "Bearer realm=\"sce\"");
    assert_string_equal(jstr(&a, "error"),
                        "Authorization: missing; send 'Authorization: Bearer <token>'");
    answer_free(&a);
    r.extra[0] = "Authorization: Bearer " TOKEN "x";
    http(gw_auth.url, &r, &a);
    expect_401(&a, "Bearer realm=\"sce\", error=\"invalid_token\"");
    answer_free(&a);
    r.extra[0] = "Authorization: Bearer s3cr3t";
    http(gw_auth.url, &r, &a);
    expect_401(&a, "Bearer realm=\"sce\", error=\"invalid_token\"");
    answer_free(&a);
    r.extra[0] = "Authorization: Basic " TOKEN;
    http(gw_auth.url, &r, &a);
    expect_401(&a, "Bearer realm=\"sce\", error=\"invalid_request\"");
    answer_free(&a);
    /* Unknown paths too: an anonymous client learns nothing of the routes. */
    r.extra[0] = NULL;
    r.path = "/nope";
    http(gw_auth.url, &r, &a);
    expect_401(&a, "Bearer realm=\"sce\"");
    answer_free(&a);
    /* A POST with its body sent at once still reads its 401 (no reset). */
    r = (request){.method = "POST",
                  .path = "/run",
                  .content_type = "application/json",
                  .body = body,
                  .len = strlen(body),
                  .no_expect = 1};
    for (int i = 0; i < 5; i++) {
        http(gw_auth.url, &r, &a);
        expect_401(&a, "Bearer realm=\"sce\"");
        answer_free(&a);
    }

    /* Open to all: the health check and the page. */
    get(gw_auth.url, "/healthz", &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    get(gw_auth.url, "/", &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    get(gw_auth.url, "/assets/app.js", &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    /* A CORS preflight carries no credentials; it is told the header may be sent. */
    r = (request){.method = "OPTIONS", .path = "/run", .origin = CORS_ORIGIN};
    http(gw_auth.url, &r, &a);
    assert_int_equal(a.status, 204);
    expect_header(&a, "Access-Control-Allow-Headers", "Content-Type, Authorization");
    answer_free(&a);

    /* The token opens every route; the scheme's case does not matter. */
    r = (request){.method = "GET", .path = "/sce/languages", .extra = {"Authorization: Bearer " TOKEN}};
    http(gw_auth.url, &r, &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    r = (request){.method = "POST",
                  .path = "/run",
                  .content_type = "application/json",
                  .body = body,
                  .len = strlen(body),
                  .extra = {"Authorization: bearer " TOKEN}};
    http(gw_auth.url, &r, &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(&a, "output"), "42\n");
    answer_free(&a);
}

/* Runs the gateway with `extra` and expects it to refuse to start: exit 2
 * with `want` in its log. */
static void expect_bad_config(const char *const *extra, const char *want)
{
    proc p = {"gateway with a bad option", 0, "", ""};
    char gw[] = SCE_GATEWAY_PATH, line[1024];
    char *argv[16];
    int n = 0, st = -1, found = 0;
    FILE *f;

    argv[n++] = gw;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:1";
    for (; *extra != NULL; extra++)
        argv[n++] = (char *)*extra;
    argv[n] = NULL;
    assert_int_equal(spawn(&p, argv), 0);
    for (int i = 0; i < 100 && p.pid > 0; i++) {
        if (waitpid(p.pid, &st, WNOHANG) == p.pid)
            p.pid = 0;
        else
            usleep(50 * 1000);
    }
    if (p.pid > 0) {
        stop(&p);
        fail_msg("the gateway started with %s", want);
    }
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    if ((f = fopen(p.log, "r")) != NULL) {
        while (fgets(line, sizeof(line), f) != NULL)
            found |= strstr(line, want) != NULL;
        fclose(f);
        unlink(p.log);
    }
    if (!found)
        fail_msg("the gateway's message lacks '%s'", want);
}

static void test_auth_token_file(void **state)
{
    proc gw = {"gateway with a token file", 0, "", ""};
    char path[400], bad[400];
    const char *const extra[] = {"--auth-token-file", path, NULL};
    request r = {.method = "GET", .path = "/sce/languages", .extra = {"Authorization: Bearer " TOKEN}};
    answer a;

    (void)state;
    /* The first line, without its line end, is the token. */
    snprintf(path, sizeof(path), "%s/token", tmpdir);
    assert_int_equal(write_file(tmpdir, "token", TOKEN "\n"), 0);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(start_gateway(&gw, stack_server, extra), 0);
    http(gw.url, &r, &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    r.extra[0] = NULL;
    http(gw.url, &r, &a);
    expect_401(&a, "Bearer realm=\"sce\"");
    answer_free(&a);
    assert_int_equal(stop(&gw), 0);

    /* Tokens too short to be safe, unreadable files, both options: no start. */
    {
        const char *const short_token[] = {"--auth-token", "hunter2", NULL};
        const char *const both[] = {"--auth-token", TOKEN, "--auth-token-file", path, NULL};
        const char *const missing[] = {"--auth-token-file", "/nonexistent/token", NULL};
        const char *const spaces[] = {"--auth-token", "a token with spaces in it", NULL};
        const char *const empty_file[] = {"--auth-token-file", bad, NULL};

        snprintf(bad, sizeof(bad), "%s/empty-token", tmpdir);
        assert_int_equal(write_file(tmpdir, "empty-token", "\n"), 0);
        expect_bad_config(short_token, "auth_token: the token must have 16 to 1024 characters");
        expect_bad_config(both, "auth_token and auth_token_file are both set");
        expect_bad_config(missing, "auth_token_file: cannot open /nonexistent/token");
        expect_bad_config(spaces, "only visible ASCII");
        expect_bad_config(empty_file, "auth_token_file: no token");
    }
}

/* ------------------------------------------------------------ guards: 429 */

/* A request the server refuses at once (no container): it counts against
 * the rate, as every request passed to the server does. */
static void post_counted(const char *xff, answer *a)
{
    const char *body = "{\"code\": \"x\", \"language\": \"cobol\"}";
    char line[128];
    request r = {.method = "POST",
                 .path = "/run",
                 .content_type = "application/json",
                 .body = body,
                 .len = strlen(body)};

    if (xff != NULL) {
        snprintf(line, sizeof(line), "X-Forwarded-For: %s", xff);
        r.extra[0] = line;
    }
    http(gw_rate.url, &r, a);
}

/* Three runs (X-Forwarded-For xff[0..2]; NULL: none) pass the rate limit
 * and the fourth (xff[3]),
 * within the same second, is refused: *a holds its 429.  The server answers
 * each of the three (a busy one, as in the gVisor stage, can take a second
 * for them): when the four took longer than a second, a token came back on
 * time, so the bucket is left to fill and the burst is tried again. */
static void burst_then_refused(const char *const xff[4], answer *a)
{
    for (int attempt = 1;; attempt++) {
        struct timespec t0, t1;
        long ms;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < 3; i++) {
            post_counted(xff[i], a);
            expect_error(a, 400, "INVALID_ARGUMENT", NULL);
            answer_free(a);
        }
        post_counted(xff[3], a);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (a->status == 429 || ms < 1000 || attempt == 5)
            break;
        printf("  the burst took %ld ms: a token came back in time; again\n", ms);
        answer_free(a);
        usleep(3100 * 1000);
    }
    expect_error(a, 429, "RESOURCE_EXHAUSTED", NULL);
}

static void test_429_rate_limit(void **state)
{
    answer a;
    char v[64];

    (void)state;
    /* A burst of 3, then 1 a second. */
    burst_then_refused((const char *const[4]){NULL, NULL, NULL, NULL}, &a);
    assert_non_null(strstr(jstr(&a, "error"), "rate limit reached: 1 runs per second per client"));
    assert_non_null(header(&a, "Retry-After", v, sizeof(v)));
    assert_true(atoi(v) >= 1 && atoi(v) <= 2);
    answer_free(&a);

    /* What the gateway refuses by itself does not count, nor do other routes. */
    post_run(gw_rate.url, "{\"code\": 5}", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "code: expected a string");
    answer_free(&a);
    get(gw_rate.url, "/sce/languages", &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);

    /* Another client (as the proxy says: the rightmost address) has its own
     * bucket; an address in front of it, written by the client, is not
     * believed. */
    burst_then_refused((const char *const[4]){"203.0.113.7", "198.51.100.1, 203.0.113.7",
                                              "198.51.100.1, 203.0.113.7",
                                              "127.0.0.1, 203.0.113.7"},
                       &a);
    answer_free(&a);
    /* IPv6 clients are told apart by their /64. */
    post_counted("2001:db8:1:2::5", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", NULL);
    answer_free(&a);

    /* A second later, one more run. */
    usleep(1100 * 1000);
    post_counted(NULL, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", NULL);
    answer_free(&a);
    post_counted(NULL, &a);
    expect_error(&a, 429, "RESOURCE_EXHAUSTED", NULL);
    answer_free(&a);
}

/* ------------------------------------------------------------ guards: 431 */

/* The stack's gateway runs with the default header_limit (16 KiB). */
static void test_431_headers_too_large(void **state)
{
    size_t n = 20000;
    char *line = malloc(n + 16);
    request r = {.method = "GET", .path = "/healthz"};
    answer a;

    (void)state;
    assert_non_null(line);
    memcpy(line, "X-Padding: ", 11);
    memset(line + 11, 'a', n);
    line[11 + n] = '\0';
    r.extra[0] = line;
    http(stack_gateway, &r, &a);
    if (a.status != 431 && a.status != 400)
        fail_msg("a 20 KB header: status %ld, want 431 (or 400)", a.status);
    answer_free(&a);
    /* 6 KB of headers are fine. */
    line[11 + 6000] = '\0';
    http(stack_gateway, &r, &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    free(line);
}

/* ------------------------------------------------------------ guards: slow clients */

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_to(const char *base)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    const char *colon = strrchr(base, ':');

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Whether the peer has closed fd (end of stream or reset), waiting up to
 * wait_ms. */
static int peer_closed(int fd, int wait_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char buf[512];
    ssize_t n;

    if (poll(&p, 1, wait_ms) <= 0)
        return 0;
    n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

typedef struct normal_call {
    pthread_t t;
    const char *base;
    answer a;
} normal_call;

static void *normal_main(void *arg)
{
    normal_call *n = arg;

    usleep(300 * 1000); /* while the slow clients hold their connections */
    post_run(n->base, "{\"code\": \"print('served')\"}", &n->a);
    return NULL;
}

/* Slow-loris: clients that send a request a byte at a time, each byte well
 * within the idle timeout, are cut off after read_timeout whether they are
 * in the headers or in the body; a normal request meanwhile is served. */
static void test_slow_clients_cut_off(void **state)
{
    static const char head[] =
        "POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    static const char body_head[] = "POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n";
    enum { NSLOW = 4 };
    int fds[NSLOW];
    int64_t closed_at[NSLOW], start;
    size_t pos = 0;
    normal_call n;
    int open_left = NSLOW;

    (void)state;
    start = mono_ms();
    for (int i = 0; i < NSLOW; i++) {
        fds[i] = connect_to(gw_loris.url);
        closed_at[i] = 0;
    }
    /* The last one is in its body: its headers go at once. */
    assert_int_equal(send(fds[NSLOW - 1], body_head, sizeof(body_head) - 1, MSG_NOSIGNAL),
                     (ssize_t)sizeof(body_head) - 1);
    memset(&n, 0, sizeof(n));
    n.base = gw_loris.url;
    assert_int_equal(pthread_create(&n.t, NULL, normal_main, &n), 0);
    /* One byte every 400 ms to each, until the gateway hangs up or 3 times
     * the read timeout passed. */
    while (open_left > 0 && mono_ms() - start < 3 * LORIS_READ_TIMEOUT_S * 1000) {
        for (int i = 0; i < NSLOW; i++) {
            const char *b = i == NSLOW - 1 ? "{" : &head[pos % (sizeof(head) - 1)];

            if (closed_at[i] != 0)
                continue;
            if (send(fds[i], b, 1, MSG_NOSIGNAL) != 1 || peer_closed(fds[i], 0)) {
                closed_at[i] = mono_ms();
                open_left--;
            }
        }
        pos++;
        for (int i = 0; i < NSLOW; i++)
            if (closed_at[i] == 0 && peer_closed(fds[i], 400 / NSLOW)) {
                closed_at[i] = mono_ms();
                open_left--;
            }
    }
    pthread_join(n.t, NULL);
    for (int i = 0; i < NSLOW; i++) {
        int64_t after = closed_at[i] - start;

        close(fds[i]);
        if (closed_at[i] == 0)
            fail_msg("slow client %d still connected after %d s", i, 3 * LORIS_READ_TIMEOUT_S);
        /* read_timeout, plus the watchdog's period and some slack. */
        if (after < LORIS_READ_TIMEOUT_S * 1000 - 100 || after > LORIS_READ_TIMEOUT_S * 1000 + 1500)
            fail_msg("slow client %d cut off after %lld ms, want about %d s", i, (long long)after,
                     LORIS_READ_TIMEOUT_S);
    }
    assert_int_equal(n.a.status, 200);
    assert_string_equal(jstr(&n.a, "output"), "served\n");
    answer_free(&n.a);
}

/* Sends a whole request on fd and reads the answer until the gateway
 * closes (the request says Connection: close).  Returns the status, 0 if
 * no HTTP answer came; the answer is in out. */
static long raw_exchange(int fd, const char *req, char *out, size_t outlen)
{
    size_t got = 0;
    long status = 0;

    if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
        return 0;
    while (got + 1 < outlen) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, 5000) <= 0)
            break;
        n = recv(fd, out + got, outlen - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    out[got] = '\0';
    if (sscanf(out, "HTTP/1.1 %ld", &status) != 1)
        status = 0;
    return status;
}

/* One address may hold max_connections_per_ip connections; the ones
 * beyond are answered 503 with Retry-After and the JSON error (never closed
 * without a word), and once they are gone the address is served again.
 * The connections are opened one after another, so which ones are over the
 * cap is known. */
static void test_connections_per_address(void **state)
{
    enum { N = LORIS_PER_IP + 3 };
    static const char req[] =
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    int fds[N];
    char out[8192];
    answer a;

    (void)state;
    usleep(1000 * 1000); /* the previous tests' connections are forgotten */
    for (int i = 0; i < N; i++)
        fds[i] = connect_to(gw_loris.url);
    usleep(100 * 1000);
    for (int i = 0; i < N; i++) {
        long status = raw_exchange(fds[i], req, out, sizeof(out));
        const char *body = strstr(out, "\r\n\r\n");

        close(fds[i]);
        if (i < LORIS_PER_IP) {
            if (status != 200)
                fail_msg("connection %d (within the cap of %d): status %ld, want 200:\n%s", i,
                         LORIS_PER_IP, status, out);
            continue;
        }
        if (status != 503)
            fail_msg("connection %d (over the cap of %d): status %ld, want 503:\n%s", i,
                     LORIS_PER_IP, status, out[0] ? out : "(closed without an answer)");
        if (strstr(out, "\r\nRetry-After: 1\r\n") == NULL ||
            strstr(out, "\r\nContent-Type: application/json\r\n") == NULL ||
            strstr(out, "\r\nConnection: close\r\n") == NULL)
            fail_msg("connection %d: the 503 lacks Retry-After, JSON or Connection: close:\n%s", i,
                     out);
        assert_non_null(body);
        assert_non_null(strstr(body, "\"code\":\"UNAVAILABLE\""));
        assert_non_null(strstr(body, "\"error\":\"too many connections from your address: 8 at "
                                     "once (max_connections_per_ip); retry in 1 s\""));
    }
    for (int i = 0; i < 20; i++) {
        CURL *c = curl_easy_init();
        char url[160];
        long status = 0;

        snprintf(url, sizeof(url), "%s/healthz", gw_loris.url);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        if (status == 200)
            return;
        usleep(100 * 1000);
    }
    get(gw_loris.url, "/healthz", &a); /* fails the test with curl's reason */
    assert_int_equal(a.status, 200);
    answer_free(&a);
}

/* One of many parallel requests: whatever happens is recorded, nothing
 * fails from this thread. */
typedef struct par_call {
    pthread_t t;
    const char *base;
    pthread_barrier_t *go;
    CURLcode cc;
    answer a;
} par_call;

static void *par_main(void *arg)
{
    par_call *p = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char url[200];

    snprintf(url, sizeof(url), "%s/run", p->base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS,
                     "{\"code\": \"import time; time.sleep(2); print('held')\"}");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &p->a);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, head_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &p->a);
    pthread_barrier_wait(p->go);
    p->cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p->a.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (p->a.body != NULL)
        p->a.json = json_loadb(p->a.body, p->a.len, 0, NULL);
    return NULL;
}

/* N requests at once, from one address, to a gateway whose cap is `cap`:
 * every one gets an HTTP answer (no reset), `cap` of them run, and the
 * others are answered 503 with Retry-After and the JSON error saying
 * `message`. */
static void parallel_over_cap(const char *const *extra, int n, int cap, const char *message)
{
    proc gw = {"gateway with a tight connection cap", 0, "", ""};
    par_call calls[32];
    pthread_barrier_t go;
    int ran = 0, busy = 0, other = 0;

    assert_true(n <= 32);
    assert_int_equal(start_gateway(&gw, stack_server, extra), 0);
    usleep(300 * 1000); /* the start-up probe's connection is forgotten */
    pthread_barrier_init(&go, NULL, (unsigned)n);
    memset(calls, 0, sizeof(calls));
    for (int i = 0; i < n; i++) {
        calls[i].base = gw.url;
        calls[i].go = &go;
        assert_int_equal(pthread_create(&calls[i].t, NULL, par_main, &calls[i]), 0);
    }
    for (int i = 0; i < n; i++)
        pthread_join(calls[i].t, NULL);
    pthread_barrier_destroy(&go);
    /* Every answer is in: the gateway goes before anything can fail. */
    if (stop(&gw) != 0)
        dump_log(&gw);
    for (int i = 0; i < n; i++) {
        answer *a = &calls[i].a;

        if (calls[i].cc != CURLE_OK) {
            dump_log(&gw);
            fail_msg("request %d of %d got no HTTP answer: %s", i, n,
                     curl_easy_strerror(calls[i].cc));
        }
        if (a->status == 200 && strcmp(jstr(a, "output"), "held\n") == 0) {
            ran++;
        } else if (a->status == 503) {
            expect_error(a, 503, "UNAVAILABLE", message);
            expect_header(a, "Retry-After", "1");
            busy++;
        } else {
            fprintf(stderr, "request %d: %ld %s\n", i, a->status, a->body ? a->body : "");
            other++;
        }
        answer_free(a);
    }
    if (ran != cap || busy != n - cap || other != 0)
        fail_msg("%d requests at once over a cap of %d: %d ran, %d answered 503, %d else; want "
                 "%d, %d, 0",
                 n, cap, ran, busy, other, cap, n - cap);
}

/* The client: many parallel requests over --max-connections-per-ip
 * saw "Connection reset by peer" on the extra ones. */
static void test_parallel_over_per_address_cap(void **state)
{
    const char *const extra[] = {"--max-connections-per-ip", "4", NULL};

    (void)state;
    parallel_over_cap(extra, 12, 4,
                      "too many connections from your address: 4 at once "
                      "(max_connections_per_ip); retry in 1 s");
}

/* The same over the cap of all connections: libmicrohttpd would stop
 * accepting and leave the extra clients waiting in the backlog. */
static void test_parallel_over_total_cap(void **state)
{
    const char *const extra[] = {"--max-connections", "3", "--max-connections-per-ip", "0", NULL};

    (void)state;
    parallel_over_cap(extra, 9, 3,
                      "the gateway holds its most connections, 3 (max_connections); retry in 1 s");
}

/* ------------------------------------------------------------ guards: Host, Origin */

/* DNS rebinding: a page of evil.example whose name now points at
 * 127.0.0.1 sends "Host: evil.example".  Refused on every route but
 * /healthz; the gateway's own names pass, with or without the port. */
static void test_host_checked(void **state)
{
    static const char *const refused_paths[] = {"/sce/languages", "/history", "/", "/nope"};
    char port_host[64], localhost_host[64];
    const char *port = strrchr(stack_gateway, ':') + 1;
    answer a;

    (void)state;
    for (size_t i = 0; i < sizeof(refused_paths) / sizeof(refused_paths[0]); i++) {
        request r = {.method = "GET", .path = refused_paths[i], .extra = {"Host: evil.example"}};

        http(stack_gateway, &r, &a);
        expect_error(&a, 403, "PERMISSION_DENIED",
                     "Host: 'evil.example' is not a name of this gateway; it answers to "
                     "localhost, its listen address and allowed_hosts");
        answer_free(&a);
    }
    {
        request r = {.method = "POST",
                     .path = "/run",
                     .content_type = "application/json",
                     .body = "{\"code\": \"print(1)\"}",
                     .len = 20,
                     .extra = {"Host: evil.example:8080"}};

        http(stack_gateway, &r, &a);
        expect_error(&a, 403, "PERMISSION_DENIED", NULL);
        answer_free(&a);
    }
    {
        request r = {.method = "GET", .path = "/healthz", .extra = {"Host: 10.9.8.7"}};

        http(stack_gateway, &r, &a);
        assert_int_equal(a.status, 200);
        answer_free(&a);
    }
    snprintf(port_host, sizeof(port_host), "Host: 127.0.0.1:%s", port);
    snprintf(localhost_host, sizeof(localhost_host), "Host: localhost:%s", port);
    {
        const char *const ok[] = {port_host, localhost_host, "Host: localhost", "Host: [::1]:1",
                                  "Host: app.localhost"};

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
            request r = {.method = "GET", .path = "/sce/languages", .extra = {ok[i]}};

            http(stack_gateway, &r, &a);
            if (a.status != 200)
                fail_msg("%s: %ld, want 200: %s", ok[i], a.status, a.body ? a.body : "");
            answer_free(&a);
        }
    }
}

/* A gateway on a wildcard address answers to the names in allowed_hosts;
 * a malformed entry stops it from starting. */
static void test_allowed_hosts(void **state)
{
    proc gw = {"gateway with allowed_hosts", 0, "", ""};
    const char *const extra[] = {"--allowed-hosts", "sce.example.test, *.corp.test", NULL};
    const char *const bad[] = {"--allowed-hosts", "https://sce.example.test", NULL};
    static const struct {
        const char *host;
        long status;
    } rows[] = {
        {"Host: sce.example.test", 200}, {"Host: SCE.example.test:443", 200},
        {"Host: a.corp.test:8080", 200}, {"Host: 127.0.0.1", 200},
        {"Host: corp.test", 403},        {"Host: sce.example.test.evil", 403},
    };
    long got[sizeof(rows) / sizeof(rows[0])], got_proxy = 0;
    answer a;

    (void)state;
    assert_int_equal(start_gateway(&gw, stack_server, extra), 0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        request r = {.method = "GET", .path = "/sce/languages", .extra = {rows[i].host}};

        http(gw.url, &r, &a);
        got[i] = a.status;
        answer_free(&a);
    }
    /* The page behind a TLS proxy: Origin https://name, Host name. */
    {
        request r = {.method = "POST",
                     .path = "/run",
                     .content_type = "application/json",
                     .body = "{\"code\": \"print(3)\"}",
                     .len = 20,
                     .origin = "https://sce.example.test",
                     .extra = {"Host: sce.example.test"}};

        http(gw.url, &r, &a);
        got_proxy = a.status;
        answer_free(&a);
    }
    assert_int_equal(stop(&gw), 0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (got[i] != rows[i].status)
            fail_msg("%s: %ld, want %ld", rows[i].host, got[i], rows[i].status);
    assert_int_equal(got_proxy, 200);
    expect_bad_config(bad, "allowed_hosts: 'https://sce.example.test' is not a host name");
}

/* Cross-site writes: a form on another site may POST to /run-zip (a
 * multipart body needs no preflight) and to /run; both are refused before
 * anything runs.  Same-origin calls, and calls without Origin, pass. */
static void test_origin_checked(void **state)
{
    static const char form[] = "--b0undary\r\n"
                               "Content-Disposition: form-data; name=\"language\"\r\n\r\n"
                               "python\r\n"
                               "--b0undary--\r\n";
    char own[160];
    request zip = {.method = "POST",
                   .path = "/run-zip",
                   .content_type = "multipart/form-data; boundary=b0undary",
                   .body = form,
                   .len = sizeof(form) - 1,
                   .origin = "https://evil.example"};
    request run = {.method = "POST",
                   .path = "/run",
                   .content_type = "application/json",
                   .body = "{\"code\": \"print(5)\"}",
                   .len = 20,
                   .origin = "https://evil.example"};
    answer a;

    (void)state;
    http(stack_gateway, &zip, &a);
    expect_error(&a, 403, "PERMISSION_DENIED",
                 "Origin: 'https://evil.example' may not send POST requests here; only this "
                 "gateway's own page may");
    answer_free(&a);
    http(stack_gateway, &run, &a);
    expect_error(&a, 403, "PERMISSION_DENIED", NULL);
    answer_free(&a);
    run.origin = "null"; /* a sandboxed frame, a file: page */
    http(stack_gateway, &run, &a);
    expect_error(&a, 403, "PERMISSION_DENIED", NULL);
    answer_free(&a);

    /* The gateway's own page (same scheme, host and port), and curl. */
    snprintf(own, sizeof(own), "%s", stack_gateway);
    run.origin = own;
    http(stack_gateway, &run, &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(&a, "output"), "5\n");
    answer_free(&a);
    run.origin = NULL;
    http(stack_gateway, &run, &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    /* A read with any Origin is CORS's business, not refused. */
    {
        request r = {.method = "GET", .path = "/sce/languages", .origin = "https://evil.example"};

        http(stack_gateway, &r, &a);
        assert_int_equal(a.status, 200);
        expect_no_header(&a, "Access-Control-Allow-Origin");
        answer_free(&a);
    }
}

/* ------------------------------------------------------------ shutdown */

typedef struct inflight {
    const char *base;
    answer a;
} inflight;

static void *inflight_main(void *arg)
{
    inflight *f = arg;

    post_run(f->base, "{\"code\": \"import time; time.sleep(2); print('done')\"}", &f->a);
    return NULL;
}

/* SIGTERM with a run in flight: the run still gets its answer, new
 * connections are refused, and the gateway exits 0. */
static void test_graceful_shutdown(void **state)
{
    proc gw = {"gateway stopped with a run in flight", 0, "", ""};
    inflight f;
    pthread_t t;
    CURL *c;
    CURLcode cc;
    char url[160];
    int st;

    (void)state;
    assert_int_equal(start_gateway(&gw, stack_server, NULL), 0);
    memset(&f, 0, sizeof(f));
    f.base = gw.url;
    assert_int_equal(pthread_create(&t, NULL, inflight_main, &f), 0);
    usleep(700 * 1000); /* the run is now inside the gateway */
    kill(gw.pid, SIGTERM);
    usleep(200 * 1000);

    c = curl_easy_init();
    snprintf(url, sizeof(url), "%s/healthz", gw.url);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 2L);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    cc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    assert_int_equal(cc, CURLE_COULDNT_CONNECT);

    pthread_join(t, NULL);
    assert_int_equal(f.a.status, 200);
    assert_string_equal(jstr(&f.a, "output"), "done\n");
    answer_free(&f.a);
    st = stop(&gw); /* already exiting; this only waits */
    if (st != 0) {
        dump_log(&gw);
        fail_msg("the gateway exited with %d, want 0", st);
    }
}

int main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_ok),
        cmocka_unit_test(test_run_runtime_error),
        cmocka_unit_test(test_run_timeout),
        cmocka_unit_test(test_run_node_stdin_args),
        cmocka_unit_test(test_run_files),
        cmocka_unit_test(test_run_binary_output),
        cmocka_unit_test(test_400_malformed_json),
        cmocka_unit_test(test_400_wrong_type),
        cmocka_unit_test(test_400_from_server),
        cmocka_unit_test(test_413_body_too_big),
        cmocka_unit_test(test_415_wrong_content_type),
        cmocka_unit_test(test_404),
        cmocka_unit_test(test_405),
        /* 429 before 504: the 504's run keeps the one worker busy a while. */
        cmocka_unit_test(test_429_server_busy),
        cmocka_unit_test(test_503_server_unreachable),
        cmocka_unit_test(test_504_deadline),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_page),
        cmocka_unit_test(test_page_of_the_stack),
        cmocka_unit_test(test_security_headers_everywhere),
        cmocka_unit_test(test_cors_off_by_default),
        cmocka_unit_test(test_cors_configured),
        cmocka_unit_test(test_401_auth),
        cmocka_unit_test(test_auth_token_file),
        cmocka_unit_test(test_429_rate_limit),
        cmocka_unit_test(test_431_headers_too_large),
        cmocka_unit_test(test_slow_clients_cut_off),
        cmocka_unit_test(test_connections_per_address),
        cmocka_unit_test(test_parallel_over_per_address_cap),
        cmocka_unit_test(test_parallel_over_total_cap),
        cmocka_unit_test(test_host_checked),
        cmocka_unit_test(test_allowed_hosts),
        cmocka_unit_test(test_origin_checked),
        cmocka_unit_test(test_graceful_shutdown),
    };
    /* clang-format on */

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
