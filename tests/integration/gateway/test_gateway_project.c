/*
 * test_gateway_project.c - POST /run-zip, POST /run-batch and GET /history
 * over HTTP, against the real sce-server and the real Docker Engine.
 *
 * Good projects and batches run on the gateway of the ctest fixture `stack`
 * (stack.sh; its URLs are in the file named by $SCE_TEST_STACK_ENV).  What
 * must be counted exactly runs on a server and gateways this test starts
 * itself: a server with its own instance name (so the engine's events tell
 * whether a hostile archive ever got a container), its own history
 * database (so pages hold exactly this test's runs) and no warm pool,
 * behind a gateway without a rate limit and one with a tiny one.  Every
 * archive is built here with libarchive's zip writer; what the writer will
 * not produce (a device) is made by patching the bytes it wrote.
 * A missing stack is a failure, never a skip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../stack_env.h"

extern char **environ;

#define BOUNDARY "sceTestBoundary7MA4YWxkTrZu0gW"
#define FORM_TYPE "multipart/form-data; boundary=" BOUNDARY
#define ZIP_MAX ((size_t)2 << 20)
/* The body cap of /run-zip: the archive, the entry and language fields,
 * 64 KiB of multipart framing (gateway_limits.h). */
#define ZIP_BODY_MAX (ZIP_MAX + 255 + 32 + (64 << 10))

typedef struct proc {
    const char *name;
    pid_t pid;
    char log[512];
    char url[128]; /* gateways: http://127.0.0.1:PORT; the server: its nng URL */
} proc;

static char stack_gateway[256];
static char tmpdir[256];
static char instance[64];
static proc own_server = {"own server", 0, "", ""};
static proc gw_own = {"gateway to the own server", 0, "", ""};
static proc gw_rate = {"gateway with a rate limit of 3 runs", 0, "", ""};

/* ------------------------------------------------------------ HTTP */

typedef struct answer {
    long status;
    char *body;
    size_t len;
    char head[8192];
    size_t hlen;
    json_t *json;
} answer;

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

    if (k >= 5 && strncmp(p, "HTTP/", 5) == 0)
        a->hlen = 0; /* a new block after "100 Continue" */
    if (a->hlen + k < sizeof(a->head)) {
        memcpy(a->head + a->hlen, p, k);
        a->hlen += k;
        a->head[a->hlen] = '\0';
    }
    return k;
}

/* A bearer token http() sends, or NULL (see http_as). */
static const char *bearer;

static void answer_free(answer *a)
{
    free(a->body);
    json_decref(a->json);
    memset(a, 0, sizeof(*a));
}

/* One request on a fresh connection; content_type NULL sends none.  Fails
 * the test when no HTTP answer comes back at all. */
static void http(const char *base, const char *method, const char *path, const char *content_type,
                 const void *body, size_t len, answer *a)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[1024], line[512];
    CURLcode cc;

    memset(a, 0, sizeof(*a));
    assert_non_null(c);
    snprintf(url, sizeof(url), "%s%s", base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, head_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (content_type != NULL) {
        snprintf(line, sizeof(line), "Content-Type: %s", content_type);
        h = curl_slist_append(h, line);
    } else {
        h = curl_slist_append(h, "Content-Type:");
    }
    if (bearer != NULL) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", bearer);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK)
        fail_msg("%s %s%s: %s", method, base, path, curl_easy_strerror(cc));
    if (a->body != NULL)
        a->json = json_loadb(a->body, a->len, JSON_ALLOW_NUL, NULL);
}

static void post_json(const char *base, const char *path, const char *body, answer *a)
{
    http(base, "POST", path, "application/json", body, strlen(body), a);
}

/* http() with `Authorization: Bearer token` (token NULL: none). */
static void http_as(const char *token, const char *base, const char *method, const char *path,
                    const char *body, answer *a)
{
    bearer = token;
    http(base, method, path, body != NULL ? "application/json" : NULL, body,
         body != NULL ? strlen(body) : 0, a);
    bearer = NULL;
}

static const char *header(const answer *a, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    const char *p = a->head;

    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;

            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)strcspn(v, "\r\n"), v);
            return out;
        }
    }
    return NULL;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string in %s", key, o ? json_dumps(o, 0) : "(null)");
    return json_string_value(v);
}

static json_int_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

/* An error object of the usual shape, with its code and (unless NULL) the
 * exact message. */
static void expect_error_object(json_t *o, long status, const char *code, const char *message)
{
    if (!json_is_object(o))
        fail_msg("not a JSON object");
    assert_string_equal(jstr(o, "status"), status < 500 ? "rejected" : "error");
    assert_string_equal(jstr(o, "code"), code);
    if (message != NULL)
        assert_string_equal(jstr(o, "error"), message);
}

static void expect_error(const answer *a, long status, const char *code, const char *message)
{
    char ct[128];

    if (a->status != status)
        fail_msg("status %ld, want %ld: %s", a->status, status, a->body ? a->body : "");
    if (header(a, "Content-Type", ct, sizeof(ct)) == NULL || strcmp(ct, "application/json") != 0)
        fail_msg("the answer is not JSON: %s", a->head);
    expect_error_object(a->json, status, code, message);
}

/* A 200 run answer with this verdict and standard output. */
static void expect_run(json_t *o, const char *status, const char *output)
{
    if (!json_is_object(o))
        fail_msg("not a JSON object");
    if (strcmp(jstr(o, "status"), status) != 0)
        fail_msg("status %s, want %s: %s", jstr(o, "status"), status, json_dumps(o, 0));
    if (output != NULL)
        assert_string_equal(jstr(o, "output"), output);
}

/* ------------------------------------------------------------ forms and ZIPs */

typedef struct part {
    const char *name;
    const char *filename; /* NULL: a plain field */
    const void *data;
    size_t len;
} part;

typedef struct blob {
    unsigned char *data;
    size_t len;
} blob;

static void blob_add(blob *b, const void *p, size_t n)
{
    unsigned char *d = realloc(b->data, b->len + n + 1);

    assert_non_null(d);
    memcpy(d + b->len, p, n);
    b->data = d;
    b->len += n;
}

/* A multipart/form-data body with boundary BOUNDARY. */
static blob form(const part *p, size_t n)
{
    blob b = {NULL, 0};
    char head[512];

    for (size_t i = 0; i < n; i++) {
        if (p[i].filename != NULL)
            snprintf(head, sizeof(head),
                     "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"%s\"; "
                     "filename=\"%s\"\r\nContent-Type: application/zip\r\n\r\n",
                     p[i].name, p[i].filename);
        else
            snprintf(head, sizeof(head),
                     "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n",
                     p[i].name);
        blob_add(&b, head, strlen(head));
        blob_add(&b, p[i].data, p[i].len);
        blob_add(&b, "\r\n", 2);
    }
    blob_add(&b, "--" BOUNDARY "--\r\n", strlen("--" BOUNDARY "--\r\n"));
    return b;
}

/* POST /run-zip with the archive and, unless NULL, entry and language. */
static void post_zip(const char *base, const blob *zip, const char *entry, const char *language,
                     answer *a)
{
    part p[3];
    size_t n = 0;
    blob body;

    p[n++] = (part){"file", "project.zip", zip->data, zip->len};
    if (entry != NULL)
        p[n++] = (part){"entry", NULL, entry, strlen(entry)};
    if (language != NULL)
        p[n++] = (part){"language", NULL, language, strlen(language)};
    body = form(p, n);
    http(base, "POST", "/run-zip", FORM_TYPE, body.data, body.len, a);
    free(body.data);
}

typedef struct zentry {
    const char *name;
    const char *data; /* NULL: len zero bytes */
    size_t len;       /* 0: strlen(data) */
    unsigned type;    /* 0: AE_IFREG */
    const char *link; /* symlink target, or hard link target for AE_IFREG */
} zentry;

static blob make_zip(const zentry *e, size_t n)
{
    size_t room = 8 << 20;
    blob z = {malloc(room), 0};
    struct archive *a = archive_write_new();
    struct archive_entry *ae = archive_entry_new();

    assert_non_null(z.data);
    assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
    assert_int_equal(archive_write_zip_set_compression_deflate(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_memory(a, z.data, room, &z.len), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        unsigned type = e[i].type ? e[i].type : AE_IFREG;
        size_t len = e[i].len ? e[i].len : (e[i].data ? strlen(e[i].data) : 0);
        void *zeros = NULL;
        const void *data = e[i].data;

        archive_entry_clear(ae);
        archive_entry_set_pathname(ae, e[i].name);
        archive_entry_set_filetype(ae, type);
        archive_entry_set_perm(ae, type == AE_IFDIR ? 0755 : 0644);
        if (type == AE_IFLNK) {
            archive_entry_set_symlink(ae, e[i].link);
            archive_entry_set_size(ae, 0);
        } else if (type == AE_IFREG) {
            if (e[i].link != NULL)
                archive_entry_set_hardlink(ae, e[i].link);
            archive_entry_set_size(ae, (la_int64_t)len);
        }
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (type == AE_IFREG && len > 0) {
            if (data == NULL)
                data = zeros = calloc(1, len);
            assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
            free(zeros);
        }
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    archive_entry_free(ae);
    return z;
}

/* Gives entry `name` another Unix file type: the high 16 bits of the
 * external attributes of its central directory header (PK\1\2; the name
 * is at +46, its length at +28, the attributes at +38). */
static void patch_mode(blob *z, const char *name, uint32_t mode)
{
    size_t n = strlen(name);

    for (size_t i = 0; i + 46 + n <= z->len; i++) {
        unsigned char *p = z->data + i;

        if (memcmp(p, "PK\1\2", 4) == 0 && (p[28] | p[29] << 8) == (int)n &&
            memcmp(p + 46, name, n) == 0) {
            p[5] = 3; /* made by Unix */
            p[38] = p[39] = 0;
            p[40] = (unsigned char)mode;
            p[41] = (unsigned char)(mode >> 8);
            return;
        }
    }
    fail_msg("no central directory header for '%s'", name);
}

/* ------------------------------------------------------------ the engine */

static size_t count_creates_cb(char *p, size_t size, size_t n, void *arg)
{
    size_t *count = arg, len = size * n;

    for (size_t i = 0; i + 16 <= len; i++)
        if (memcmp(p + i, "\"Action\":\"create", 16) == 0)
            (*count)++;
    return len;
}

/* Containers of the own server's instance created since `since` (unix
 * seconds), as the engine's event log tells. */
static size_t container_creates(long since)
{
    char url[1024];
    size_t count = 0;
    CURL *h = curl_easy_init();
    const char *sock = getenv("SCE_DOCKER_SOCKET");

    snprintf(url, sizeof(url),
             "http://localhost/v1.41/events?since=%ld&until=%ld&filters=%%7B%%22label%%22%%3A%%5B"
             "%%22org.sce.instance%%3D%s%%22%%5D%%7D",
             since, (long)time(NULL) + 1, instance);
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock ? sock : "/var/run/docker.sock");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_creates_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &count);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    return count;
}

/* ------------------------------------------------------------ processes */

static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static int spawn(proc *p, char *const argv[])
{
    posix_spawn_file_actions_t fa;
    int rv;

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

static int exited(proc *p)
{
    int st;

    return p->pid > 0 && waitpid(p->pid, &st, WNOHANG) == p->pid;
}

/* SIGTERM, then up to 30 s; the exit status, or -1. */
static int stop(proc *p)
{
    int st = 0;

    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
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

/* GET base+path until its body holds every one of `want` and none of
 * `reject` (both NULL-ended; reject may be NULL). */
static int wait_for(proc *p, const char *base, const char *path, const char *const *want,
                    const char *const *reject)
{
    for (int i = 0; i < 600; i++) {
        answer a;
        CURL *c = curl_easy_init();
        char url[300];
        int ok = 1;

        memset(&a, 0, sizeof(a));
        snprintf(url, sizeof(url), "%s%s", base, path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
        curl_easy_perform(c);
        curl_easy_cleanup(c);
        for (size_t k = 0; want[k] != NULL; k++)
            if (a.body == NULL || strstr(a.body, want[k]) == NULL)
                ok = 0;
        for (size_t k = 0; reject != NULL && reject[k] != NULL; k++)
            if (a.body != NULL && strstr(a.body, reject[k]) != NULL)
                ok = 0;
        free(a.body);
        if (ok)
            return 0;
        if (exited(p))
            break;
        usleep(100 * 1000);
    }
    fprintf(stderr, "the %s did not become ready\n", p->name);
    dump_log(p);
    return -1;
}

static int start_gateway(proc *p, const char *const *extra)
{
    char listen[64], gw[] = SCE_GATEWAY_PATH;
    char *argv[16];
    int n = 0, port = free_port();
    const char *const any[] = {"\"error\"", NULL};

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(p->url, sizeof(p->url), "http://%s", listen);
    argv[n++] = gw;
    argv[n++] = "--listen";
    argv[n++] = listen;
    argv[n++] = "--server";
    argv[n++] = own_server.url;
    for (; extra != NULL && *extra != NULL && n < 14; extra++)
        argv[n++] = (char *)*extra;
    argv[n] = NULL;
    if (spawn(p, argv) != 0)
        return -1;
    return wait_for(p, p->url, "/nope", any, NULL);
}

static void load_stack_env(void)
{
    stack_value v[] = {{"SCE_GATEWAY", stack_gateway, sizeof(stack_gateway), 1}};

    stack_env_load(v, 1);
}

static int group_setup(void **state)
{
    char sv[] = SCE_SERVER_PATH, db[320];
    char *argv[16];
    const char *const no_rate[] = {"--rate-limit", "0", NULL};
    const char *const rate[] = {"--rate-limit", "0.01", "--rate-burst", "3", NULL};
    const char *const ready[] = {"\"name\":\"python\"", "\"name\":\"node\"", "\"available\":true",
                                 NULL};
    const char *const not_yet[] = {"\"available\":false", NULL};
    int port;

    (void)state;
    load_stack_env();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sce-gwproject.XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        fprintf(stderr, "cannot make %s: %s\n", tmpdir, strerror(errno));
        return -1;
    }
    /* TCP on loopback, as stack.sh does (see there why not ipc). */
    if ((port = free_port()) < 0)
        return -1;
    snprintf(own_server.url, sizeof(own_server.url), "tcp://127.0.0.1:%d", port);
    snprintf(instance, sizeof(instance), "gwproject-%d", (int)getpid());
    snprintf(db, sizeof(db), "%s/history.db", tmpdir);
    argv[0] = sv;
    argv[1] = "--listen";
    argv[2] = own_server.url;
    argv[3] = "--instance";
    argv[4] = instance;
    argv[5] = "--history-path";
    argv[6] = db;
    argv[7] = "--pool-size"; /* every container is a run's: the events count runs */
    argv[8] = "0";
    argv[9] = NULL;
    if (spawn(&own_server, argv) != 0 || start_gateway(&gw_own, no_rate) != 0 ||
        start_gateway(&gw_rate, rate) != 0)
        return -1;
    /* Ready once both images have been probed and found. */
    return wait_for(&own_server, gw_own.url, "/sce/languages", ready, not_yet);
}

static int group_teardown(void **state)
{
    proc *ps[] = {&gw_own, &gw_rate, &own_server};
    int bad = 0;
    char cmd[400];

    (void)state;
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        if (ps[i]->pid > 0 && stop(ps[i]) != 0) {
            fprintf(stderr, "the %s did not exit 0 on SIGTERM\n", ps[i]->name);
            dump_log(ps[i]);
            bad = 1;
        }
    }
    if (tmpdir[0] != '\0' && !bad) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", tmpdir);
    }
    curl_global_cleanup();
    return bad ? -1 : 0;
}

/* ------------------------------------------------------------ POST /run-zip */

static void test_zip_python_project(void **state)
{
    static const char main_py[] = "import helper\nfrom pkg import mod\n"
                                  "print(helper.twice(21), mod.NAME)\n";
    zentry e[] = {
        {"main.py", main_py, 0, 0, NULL},
        {"helper.py", "def twice(x):\n    return 2 * x\n", 0, 0, NULL},
        {"pkg/", NULL, 0, AE_IFDIR, NULL},
        {"pkg/__init__.py", "", 0, 0, NULL},
        {"pkg/mod.py", "NAME = 'from a zip'\n", 0, 0, NULL},
    };
    blob z = make_zip(e, 5);
    answer a;

    (void)state;
    /* No entry, no language: main.py, and Python from its name. */
    post_zip(stack_gateway, &z, NULL, NULL, &a);
    assert_int_equal(a.status, 200);
    expect_run(a.json, "ok", "42 from a zip\n");
    assert_string_equal(jstr(a.json, "language"), "python");
    assert_int_equal(strlen(jstr(a.json, "request_id")), 16);
    answer_free(&a);
    free(z.data);
}

static void test_zip_node_entries(void **state)
{
    zentry idx[] = {
        {"index.js", "console.log('index', require('./lib/add.js')(2, 3))\n", 0, 0, NULL},
        {"main.js", "console.log('main')\n", 0, 0, NULL},
        {"lib/add.js", "module.exports = (a, b) => a + b;\n", 0, 0, NULL},
    };
    blob z = make_zip(idx, 3);
    answer a;

    (void)state;
    /* Node with no entry: index.js first (the reference executors'). */
    post_zip(stack_gateway, &z, NULL, "node", &a);
    assert_int_equal(a.status, 200);
    expect_run(a.json, "ok", "index 5\n");
    assert_string_equal(jstr(a.json, "language"), "node");
    answer_free(&a);
    free(z.data);

    /* Without index.js: main.js (the server's default), and the language
     * follows from the file. */
    z = make_zip(idx + 1, 2);
    post_zip(stack_gateway, &z, NULL, NULL, &a);
    assert_int_equal(a.status, 200);
    expect_run(a.json, "ok", "main\n");
    assert_string_equal(jstr(a.json, "language"), "node");
    answer_free(&a);
    free(z.data);
}

static void test_zip_entry_errors(void **state)
{
    zentry both[] = {{"main.py", "print(1)\n", 0, 0, NULL}, {"index.js", "1\n", 0, 0, NULL}};
    zentry none[] = {{"app/start.py", "print(1)\n", 0, 0, NULL}, {"README", "hi\n", 0, 0, NULL}};
    blob zb = make_zip(both, 2), zn = make_zip(none, 2);
    answer a;

    (void)state;
    post_zip(gw_own.url, &zb, "app.py", NULL, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "zip: 'app.py' is not in the archive");
    answer_free(&a);
    post_zip(gw_own.url, &zb, NULL, NULL, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT",
                 "zip: both main.py and index.js are in the archive; name the entry file");
    answer_free(&a);
    post_zip(gw_own.url, &zn, NULL, NULL, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT",
                 "zip: none of main.py, index.js and main.js is in the archive; name the entry "
                 "file");
    answer_free(&a);
    post_zip(gw_own.url, &zn, NULL, "python", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT",
                 "zip: 'main.py' is not in the archive; name the entry file");
    answer_free(&a);
    post_zip(gw_own.url, &zn, NULL, "node", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT",
                 "zip: neither 'index.js' nor 'main.js' is in the archive; name the entry file");
    answer_free(&a);
    post_zip(gw_own.url, &zn, "README", NULL, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT",
                 "cannot tell the language of 'README': name it (python or node)");
    answer_free(&a);
    /* What only the server knows is its to say. */
    post_zip(gw_own.url, &zn, "app/start.py", "ruby", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "unknown language 'ruby': use one of python, node");
    answer_free(&a);
    free(zb.data);
    free(zn.data);
}

/* Every hostile archive is refused with its reason, and none of them gets
 * a container: the engine records no create for the own server's instance
 * until the good archive at the end (the control) gets exactly one.
 * ZIP has no hard links (libarchive writes one as an empty regular file
 * and its reader never reports one; libsce would refuse it if it did, see
 * tests/unit/client/test_zip.c), so there is no such archive to send. */
static void test_zip_hostile_starts_no_container(void **state)
{
    static const char main_py[] = "print('fine')\n";
    zentry absolute[] = {{"main.py", main_py, 0, 0, NULL}, {"/etc/cron.d/x", "x", 0, 0, NULL}};
    zentry dotdot[] = {{"main.py", main_py, 0, 0, NULL}, {"a/../../x", "x", 0, 0, NULL}};
    zentry symlink[] = {{"main.py", main_py, 0, 0, NULL},
                        {"passwd", NULL, 0, AE_IFLNK, "/etc/passwd"}};
    zentry device[] = {{"main.py", main_py, 0, 0, NULL}, {"node", "x", 0, 0, NULL}};
    zentry dup[] = {{"main.py", main_py, 0, 0, NULL}, {"main.py", "print(2)\n", 0, 0, NULL}};
    zentry bomb[] = {{"main.py", main_py, 0, 0, NULL}, {"zeros.bin", NULL, 2 << 20, 0, NULL}};
    zentry *many = calloc(202, sizeof(*many));
    char(*names)[16] = calloc(202, 16);
    struct {
        const zentry *e;
        size_t n;
        uint32_t patch; /* a file type for the second entry, 0: none */
        const char *message;
    } cases[] = {
        {absolute, 2, 0, "zip: entry '/etc/cron.d/x' is absolute"},
        {dotdot, 2, 0, "zip: entry 'a/../../x' has a '..' segment"},
        {symlink, 2, 0, "zip: 'passwd' is a symbolic link"},
        {device, 2, 0020644, "zip: 'node' is a device"},
        {dup, 2, 0, "zip: duplicate entry 'main.py'"},
        {many, 201, 0, "zip: more than 200 entries"},
        {bomb, 2, 0, "zip: more than 1 MiB uncompressed"},
    };
    static const char not_zip[] = "print('I am not an archive')\n";
    blob z, good;
    answer a;
    long since;

    (void)state;
    assert_non_null(many);
    assert_non_null(names);
    for (int i = 0; i < 201; i++) {
        snprintf(names[i], 16, i == 0 ? "main.py" : "f%03d.py", i);
        many[i] = (zentry){names[i], "\n", 0, 0, NULL};
    }
    /* Start counting in a second of its own: the earlier tests' runs (and
     * the language probes) created their containers before it. */
    usleep(1100000);
    since = (long)time(NULL);
    assert_int_equal(container_creates(since), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        z = make_zip(cases[i].e, cases[i].n);
        if (cases[i].patch != 0)
            patch_mode(&z, cases[i].e[1].name, cases[i].patch);
        post_zip(gw_own.url, &z, NULL, NULL, &a);
        expect_error(&a, 400, "INVALID_ARGUMENT", cases[i].message);
        answer_free(&a);
        free(z.data);
    }
    /* Not a ZIP at all, and an empty file. */
    z = (blob){(unsigned char *)not_zip, sizeof(not_zip) - 1};
    post_zip(gw_own.url, &z, NULL, NULL, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "zip: not a ZIP archive");
    answer_free(&a);
    z.len = 0;
    post_zip(gw_own.url, &z, NULL, NULL, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "zip: not a ZIP archive (the file is empty)");
    answer_free(&a);
    assert_int_equal(container_creates(since), 0);

    /* The control: the same archive without its hostile entry runs, in a
     * container of the own server's instance. */
    good = make_zip(absolute, 1);
    post_zip(gw_own.url, &good, NULL, NULL, &a);
    assert_int_equal(a.status, 200);
    expect_run(a.json, "ok", "fine\n");
    answer_free(&a);
    free(good.data);
    assert_int_equal(container_creates(since), 1);
    free(many);
    free(names);
}

static void test_zip_sizes_and_types(void **state)
{
    zentry e[] = {{"main.py", "print(1)\n", 0, 0, NULL}};
    blob z = make_zip(e, 1), body, big = {calloc(1, ZIP_MAX + 1), ZIP_MAX + 1};
    part twice[] = {{"file", "a.zip", z.data, z.len}, {"file", "b.zip", z.data, z.len}};
    part no_file[] = {{"entry", NULL, "main.py", 7}};
    part long_entry[] = {{"file", "a.zip", z.data, z.len}, {"entry", NULL, NULL, 256}};
    char want[160], *padding = calloc(1, 300);
    answer a;

    (void)state;
    assert_non_null(big.data);
    assert_non_null(padding);
    /* Over 2 MiB of archive: 413, whatever else the form holds. */
    post_zip(gw_own.url, &big, NULL, NULL, &a);
    expect_error(&a, 413, "INVALID_ARGUMENT", "file: more than the limit of 2097152 bytes");
    answer_free(&a);
    /* A body announced over the whole form's cap. */
    big.len = 3 << 20;
    big.data = realloc(big.data, big.len);
    assert_non_null(big.data);
    body = form(&(part){"file", "big.zip", big.data, big.len}, 1);
    http(gw_own.url, "POST", "/run-zip", FORM_TYPE, body.data, body.len, &a);
    snprintf(want, sizeof(want), "body: %zu bytes is more than the limit of %zu bytes", body.len,
             (size_t)ZIP_BODY_MAX);
    expect_error(&a, 413, "INVALID_ARGUMENT", want);
    answer_free(&a);
    free(body.data);
    free(big.data);

    /* Not a form: 415. */
    post_json(gw_own.url, "/run-zip", "{\"code\": \"print(1)\"}", &a);
    expect_error(&a, 415, "INVALID_ARGUMENT",
                 "Content-Type: expected multipart/form-data, got 'application/json'");
    answer_free(&a);
    http(gw_own.url, "POST", "/run-zip", "application/x-www-form-urlencoded", "file=x", 6, &a);
    expect_error(&a, 415, "INVALID_ARGUMENT",
                 "Content-Type: expected multipart/form-data, got "
                 "'application/x-www-form-urlencoded'");
    answer_free(&a);
    http(gw_own.url, "POST", "/run-zip", NULL, z.data, z.len, &a);
    expect_error(&a, 415, "INVALID_ARGUMENT",
                 "Content-Type: missing; expected multipart/form-data");
    answer_free(&a);
    http(gw_own.url, "POST", "/run-zip", "multipart/form-data", z.data, z.len, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT",
                 "Content-Type: multipart/form-data needs a boundary parameter of 1 to 70 "
                 "characters");
    answer_free(&a);

    /* The form's own mistakes: 400. */
    body = form(no_file, 1);
    http(gw_own.url, "POST", "/run-zip", FORM_TYPE, body.data, body.len, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "file: missing");
    answer_free(&a);
    free(body.data);
    body = form(twice, 2);
    http(gw_own.url, "POST", "/run-zip", FORM_TYPE, body.data, body.len, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "file: given twice");
    answer_free(&a);
    free(body.data);
    memset(padding, 'a', 256);
    long_entry[1].data = padding;
    body = form(long_entry, 2);
    http(gw_own.url, "POST", "/run-zip", FORM_TYPE, body.data, body.len, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "entry: longer than 255 bytes");
    answer_free(&a);
    free(body.data);
    /* Cut short of its closing boundary. */
    body = form(twice, 1);
    http(gw_own.url, "POST", "/run-zip", FORM_TYPE, body.data,
         body.len - strlen("--" BOUNDARY "--\r\n") - 2, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT",
                 "body: malformed multipart/form-data (no closing boundary)");
    answer_free(&a);
    free(body.data);
    /* Only POST. */
    http(gw_own.url, "GET", "/run-zip", NULL, NULL, 0, &a);
    expect_error(&a, 405, "UNIMPLEMENTED", "method GET is not allowed for /run-zip; allowed: POST");
    answer_free(&a);
    free(padding);
    free(z.data);
}

/* ------------------------------------------------------------ POST /run-batch */

static void test_batch_in_order_with_a_timeout(void **state)
{
    static const char body[] =
        "{\"tasks\": ["
        "{\"code\": \"import time\\ntime.sleep(1)\\nprint('first')\"},"
        "{\"code\": \"print('looping', flush=True)\\nwhile True: pass\", \"timeout_ms\": 3000},"
        "{\"language\": \"node\", \"code\": \"console.log('third')\"},"
        "{\"code\": \"print(undefined_name)\"},"
        "{\"language\": \"node\", \"code\": \"console.log(require('fs').readFileSync(0, "
        "'utf8').trim())\", \"stdin\": \"fifth\"}]}";
    json_t *r;
    answer a;

    (void)state;
    post_json(stack_gateway, "/run-batch", body, &a);
    if (a.status != 200)
        fail_msg("status %ld: %s", a.status, a.body ? a.body : "");
    r = json_object_get(a.json, "results");
    assert_true(json_is_array(r));
    assert_int_equal(json_array_size(r), 5);
    expect_run(json_array_get(r, 0), "ok", "first\n");
    expect_run(json_array_get(r, 1), "timeout", "looping\n");
    assert_string_equal(jstr(json_array_get(r, 1), "error"), "Execution timed out after 3 seconds");
    assert_int_equal(jint(json_object_get(json_array_get(r, 1), "limits"), "timeout_ms"), 3000);
    expect_run(json_array_get(r, 2), "ok", "third\n");
    assert_string_equal(jstr(json_array_get(r, 2), "language"), "node");
    expect_run(json_array_get(r, 3), "runtime_error", "");
    assert_string_equal(jstr(json_array_get(r, 3), "error"),
                        "NameError: name 'undefined_name' is not defined");
    expect_run(json_array_get(r, 4), "ok", "fifth\n");
    /* Task i ran as <batch id>-<i>. */
    assert_int_equal(strlen(jstr(a.json, "request_id")), 16);
    assert_true(strncmp(jstr(json_array_get(r, 2), "request_id"), jstr(a.json, "request_id"), 16) ==
                0);
    assert_string_equal(jstr(json_array_get(r, 2), "request_id") + 16, "-2");
    answer_free(&a);
}

static void test_batch_errors(void **state)
{
    char body[4096];
    size_t n;
    json_t *r;
    answer a;

    (void)state;
    /* More tasks than the server allows (5): 400, nothing runs. */
    n = (size_t)snprintf(body, sizeof(body), "{\"tasks\": [");
    for (int i = 0; i < 6; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s{\"code\": \"print(%d)\"}",
                              i ? "," : "", i);
    snprintf(body + n, sizeof(body) - n, "]}");
    post_json(gw_own.url, "/run-batch", body, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "batch: 6 tasks; the limit is 5");
    answer_free(&a);
    /* More than the gateway parses at all. */
    n = (size_t)snprintf(body, sizeof(body), "{\"tasks\": [");
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s{\"code\": \"1\"}", i ? "," : "");
    snprintf(body + n, sizeof(body) - n, "]}");
    post_json(gw_own.url, "/run-batch", body, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "tasks: 65 tasks; at most 64");
    answer_free(&a);
    /* A task that is not a valid /run body names itself. */
    post_json(gw_own.url, "/run-batch", "{\"tasks\": [{\"code\": \"1\"}, {\"code\": 5}]}", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "tasks[1].code: expected a string");
    answer_free(&a);
    post_json(gw_own.url, "/run-batch", "{\"tasks\": [{\"code\": \"1\"}, [1]]}", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "tasks[1]: expected a JSON object");
    answer_free(&a);
    post_json(gw_own.url, "/run-batch", "{\"tasks\": []}", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "tasks: expected at least one task");
    answer_free(&a);
    post_json(gw_own.url, "/run-batch", "{\"code\": \"print(1)\"}", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "tasks: required");
    answer_free(&a);
    post_json(gw_own.url, "/run-batch", "{\"tasks\": ", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", NULL);
    answer_free(&a);
    http(gw_own.url, "POST", "/run-batch", "text/plain", "{}", 2, &a);
    expect_error(&a, 415, "INVALID_ARGUMENT",
                 "Content-Type: expected application/json, got 'text/plain'");
    answer_free(&a);

    /* What the server refuses marks only its own task. */
    post_json(gw_own.url, "/run-batch",
              "{\"tasks\": [{\"language\": \"ruby\", \"code\": \"puts 1\"},"
              " {\"code\": \"print(6 * 7)\"}]}",
              &a);
    assert_int_equal(a.status, 200);
    r = json_object_get(a.json, "results");
    assert_int_equal(json_array_size(r), 2);
    expect_error_object(json_array_get(r, 0), 400, "INVALID_ARGUMENT",
                        "unknown language 'ruby': use one of python, node");
    assert_string_equal(jstr(json_array_get(r, 0), "request_id") + 16, "-0");
    expect_run(json_array_get(r, 1), "ok", "42\n");
    answer_free(&a);
}

/* ------------------------------------------------------------ GET /history */

static void test_history_pages_and_filters(void **state)
{
    zentry e[] = {{"main.py", "import lib\nprint(lib.X)\n", 0, 0, NULL},
                  {"lib.py", "X = 5\n", 0, 0, NULL}};
    blob z = make_zip(e, 2);
    json_int_t total;
    json_t *en;
    answer a;

    (void)state;
    http(gw_own.url, "GET", "/history?limit=1", NULL, NULL, 0, &a);
    assert_int_equal(a.status, 200);
    assert_true(json_is_true(json_object_get(a.json, "enabled")));
    total = jint(a.json, "total");
    answer_free(&a);

    post_json(gw_own.url, "/run", "{\"code\": \"print('h1')\"}", &a);
    expect_run(a.json, "ok", "h1\n");
    answer_free(&a);
    post_json(gw_own.url, "/run",
              "{\"language\": \"node\", \"code\": \"console.log('h2'); process.exit(3)\"}", &a);
    expect_run(a.json, "runtime_error", "h2\n");
    answer_free(&a);
    post_zip(gw_own.url, &z, NULL, NULL, &a);
    expect_run(a.json, "ok", "5\n");
    answer_free(&a);
    free(z.data);

    /* Newest first. */
    http(gw_own.url, "GET", "/history?limit=2", NULL, NULL, 0, &a);
    assert_int_equal(a.status, 200);
    assert_int_equal(jint(a.json, "total"), total + 3);
    assert_int_equal(jint(a.json, "offset"), 0);
    en = json_object_get(a.json, "entries");
    assert_int_equal(json_array_size(en), 2);
    assert_string_equal(jstr(json_array_get(en, 0), "entry"), "main.py");
    assert_string_equal(jstr(json_array_get(en, 0), "code"), "import lib\nprint(lib.X)\n");
    assert_int_equal(jint(json_array_get(en, 0), "files"), 2);
    assert_string_equal(jstr(json_array_get(en, 0), "output"), "5\n");
    assert_string_equal(jstr(json_array_get(en, 1), "language"), "node");
    assert_string_equal(jstr(json_array_get(en, 1), "status"), "runtime_error");
    assert_int_equal(jint(json_array_get(en, 1), "exit_code"), 3);
    assert_true(jint(json_array_get(en, 0), "id") > jint(json_array_get(en, 1), "id"));
    assert_int_equal(strlen(jstr(json_array_get(en, 0), "time")), 24); /* ...T..:..:..mmmZ */
    assert_true(jint(json_array_get(en, 0), "time_ms") > (json_int_t)(time(NULL) - 600) * 1000);
    answer_free(&a);

    /* The next page. */
    http(gw_own.url, "GET", "/history?limit=1&offset=2", NULL, NULL, 0, &a);
    assert_int_equal(a.status, 200);
    en = json_object_get(a.json, "entries");
    assert_int_equal(json_array_size(en), 1);
    assert_string_equal(jstr(json_array_get(en, 0), "code"), "print('h1')");
    assert_string_equal(jstr(json_array_get(en, 0), "entry"), "");
    assert_int_equal(jint(a.json, "offset"), 2);
    answer_free(&a);
    http(gw_own.url, "GET", "/history?offset=100000", NULL, NULL, 0, &a);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(json_object_get(a.json, "entries")), 0);
    answer_free(&a);

    /* Filters. */
    http(gw_own.url, "GET", "/history?verdict=runtime_error&language=node&limit=100", NULL, NULL, 0,
         &a);
    assert_int_equal(a.status, 200);
    en = json_object_get(a.json, "entries");
    assert_true(json_array_size(en) >= 1);
    assert_string_equal(jstr(json_array_get(en, 0), "output"), "h2\n");
    for (size_t i = 0; i < json_array_size(en); i++) {
        assert_string_equal(jstr(json_array_get(en, i), "language"), "node");
        assert_string_equal(jstr(json_array_get(en, i), "status"), "runtime_error");
    }
    answer_free(&a);

    /* Bad parameters. */
    http(gw_own.url, "GET", "/history?limit=0", NULL, NULL, 0, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "limit: expected an integer from 1 to 100");
    answer_free(&a);
    http(gw_own.url, "GET", "/history?limit=101", NULL, NULL, 0, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "limit: expected an integer from 1 to 100");
    answer_free(&a);
    http(gw_own.url, "GET", "/history?offset=-1", NULL, NULL, 0, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "offset: expected an integer from 0 to 4294967295");
    answer_free(&a);
    http(gw_own.url, "GET", "/history?verdict=great", NULL, NULL, 0, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT",
                 "verdict: expected one of ok, runtime_error, timeout, memory_limit, "
                 "output_limit, rejected, internal_error, cancelled");
    answer_free(&a);
    http(gw_own.url, "GET", "/history?language=ruby", NULL, NULL, 0, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", "unknown language 'ruby': use one of python, node");
    answer_free(&a);
    http(gw_own.url, "HEAD", "/history", NULL, NULL, 0, &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    http(gw_own.url, "POST", "/history", "application/json", "{}", 2, &a);
    expect_error(&a, 405, "UNIMPLEMENTED",
                 "method POST is not allowed for /history; allowed: GET, HEAD");
    answer_free(&a);
}

/* ------------------------------------------------------------ tenants */

#define TOKEN_ALICE "alice-token-0123456789abcdef"
#define TOKEN_BOB "bob-token-0123456789abcdef"
#define TOKEN_OPS "ops-token-0123456789abcdef"

/* Every entry of a page: its tenant must be `tenant` (NULL: any); counts
 * those whose code holds `marker`. */
static size_t entries_with(json_t *page, const char *tenant, const char *marker)
{
    json_t *en = json_object_get(page, "entries");
    size_t n = 0;

    assert_non_null(en);
    for (size_t i = 0; i < json_array_size(en); i++) {
        json_t *e = json_array_get(en, i);

        if (tenant != NULL && strcmp(jstr(e, "tenant"), tenant) != 0)
            fail_msg("an entry of tenant '%s' in %s's page", jstr(e, "tenant"), tenant);
        n += strstr(jstr(e, "code"), marker) != NULL;
    }
    return n;
}

/* A run's id: the newest of `tenant`'s entries in the admin's view whose
 * code holds marker. */
static json_int_t id_of(const char *base, const char *marker)
{
    json_int_t id = 0;
    json_t *en;
    answer a;

    http_as(TOKEN_OPS, base, "GET", "/history?limit=100", NULL, &a);
    assert_int_equal(a.status, 200);
    en = json_object_get(a.json, "entries");
    for (size_t i = 0; i < json_array_size(en) && id == 0; i++)
        if (strstr(jstr(json_array_get(en, i), "code"), marker) != NULL)
            id = jint(json_array_get(en, i), "id");
    answer_free(&a);
    assert_true(id > 0);
    return id;
}

/* Two tenants and an admin on a gateway of the test's own: each tenant
 * sees its runs only (runs, batches and ZIPs), the admin sees all with
 * their names; no token is 401; a run by id follows the same rule, and
 * another tenant's id is 404 like a missing one. */
static void test_history_tenants(void **state)
{
    proc gw = {"gateway with tenants", 0, "", ""};
    char path[400], tokens[512], marker_a[64], marker_b[64], body[512], url[64];
    const char *const extra[] = {"--auth-token-file", path, "--rate-limit", "0", NULL};
    zentry e[] = {{"main.py", marker_a, 0, 0, NULL}};
    json_int_t id_a, id_b;
    blob z;
    answer a;
    FILE *f;

    (void)state;
    snprintf(marker_a, sizeof(marker_a), "print('alice-%d')\n", (int)getpid());
    snprintf(marker_b, sizeof(marker_b), "bob-%d", (int)getpid());
    snprintf(path, sizeof(path), "%s/tokens", tmpdir);
    snprintf(tokens, sizeof(tokens),
             "# NAME TOKEN [admin]\nalice %s\nbob %s\nops %s admin\n", TOKEN_ALICE, TOKEN_BOB,
             TOKEN_OPS);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(tokens, f);
    fclose(f);
    chmod(path, 0600);
    assert_int_equal(start_gateway(&gw, extra), 0);

    /* alice: a run and a ZIP; bob: a run and a batch. */
    snprintf(body, sizeof(body), "{\"code\": \"%.*s\\n\"}", (int)strlen(marker_a) - 1, marker_a);
    http_as(TOKEN_ALICE, gw.url, "POST", "/run", body, &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    z = make_zip(e, 1);
    bearer = TOKEN_ALICE;
    post_zip(gw.url, &z, NULL, NULL, &a);
    bearer = NULL;
    assert_int_equal(a.status, 200);
    answer_free(&a);
    free(z.data);
    snprintf(body, sizeof(body), "{\"code\": \"print('%s')\"}", marker_b);
    http_as(TOKEN_BOB, gw.url, "POST", "/run", body, &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    snprintf(body, sizeof(body), "{\"tasks\": [{\"code\": \"print('%s')\"}]}", marker_b);
    http_as(TOKEN_BOB, gw.url, "POST", "/run-batch", body, &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);

    /* Each sees its own. */
    http_as(TOKEN_ALICE, gw.url, "GET", "/history?limit=100", NULL, &a);
    assert_int_equal(a.status, 200);
    assert_int_equal(jint(a.json, "total"), 2);
    assert_int_equal(entries_with(a.json, "alice", "alice-"), 2);
    assert_int_equal(entries_with(a.json, "alice", marker_b), 0);
    answer_free(&a);
    http_as(TOKEN_BOB, gw.url, "GET", "/history?limit=100", NULL, &a);
    assert_int_equal(a.status, 200);
    assert_int_equal(jint(a.json, "total"), 2);
    assert_int_equal(entries_with(a.json, "bob", marker_b), 2);
    answer_free(&a);
    /* A tenant may name itself, nobody else. */
    http_as(TOKEN_BOB, gw.url, "GET", "/history?tenant=bob", NULL, &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    http_as(TOKEN_BOB, gw.url, "GET", "/history?tenant=alice", NULL, &a);
    expect_error(&a, 400, "INVALID_ARGUMENT",
                 "tenant: only an admin token may list another tenant's runs");
    answer_free(&a);

    /* The admin sees everything, with names, and may narrow it. */
    http_as(TOKEN_OPS, gw.url, "GET", "/history?limit=100", NULL, &a);
    assert_int_equal(a.status, 200);
    assert_true(jint(a.json, "total") >= 4);
    assert_int_equal(entries_with(a.json, NULL, "alice-"), 2);
    assert_int_equal(entries_with(a.json, NULL, marker_b), 2);
    answer_free(&a);
    http_as(TOKEN_OPS, gw.url, "GET", "/history?tenant=alice&limit=100", NULL, &a);
    assert_int_equal(a.status, 200);
    assert_int_equal(jint(a.json, "total"), 2);
    assert_int_equal(entries_with(a.json, "alice", "alice-"), 2);
    answer_free(&a);

    /* No token, a wrong one: 401, for the list and for one run. */
    http_as(NULL, gw.url, "GET", "/history", NULL, &a);
    assert_int_equal(a.status, 401);
    answer_free(&a);
    http_as("nobody-token-0123456789abcdef", gw.url, "GET", "/history", NULL, &a);
    assert_int_equal(a.status, 401);
    answer_free(&a);
    http_as(NULL, gw.url, "GET", "/history/1", NULL, &a);
    assert_int_equal(a.status, 401);
    answer_free(&a);

    /* One run by id: the owner and the admin get it whole; another
     * tenant gets the 404 of a run that does not exist. */
    id_a = id_of(gw.url, "alice-");
    id_b = id_of(gw.url, marker_b);
    snprintf(url, sizeof(url), "/history/%lld", (long long)id_a);
    http_as(TOKEN_ALICE, gw.url, "GET", url, NULL, &a);
    assert_int_equal(a.status, 200);
    assert_int_equal(jint(a.json, "id"), id_a);
    assert_string_equal(jstr(a.json, "tenant"), "alice");
    assert_non_null(strstr(jstr(a.json, "code"), "alice-"));
    answer_free(&a);
    http_as(TOKEN_OPS, gw.url, "GET", url, NULL, &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "tenant"), "alice");
    answer_free(&a);
    http_as(TOKEN_BOB, gw.url, "GET", url, NULL, &a);
    expect_error(&a, 404, "NOT_FOUND", NULL);
    answer_free(&a);
    snprintf(url, sizeof(url), "/history/%lld", (long long)id_b);
    http_as(TOKEN_ALICE, gw.url, "GET", url, NULL, &a);
    expect_error(&a, 404, "NOT_FOUND", NULL);
    answer_free(&a);
    http_as(TOKEN_ALICE, gw.url, "GET", "/history/999999999", NULL, &a);
    expect_error(&a, 404, "NOT_FOUND", NULL);
    answer_free(&a);
    http_as(TOKEN_ALICE, gw.url, "GET", "/history/abc", NULL, &a);
    expect_error(&a, 404, "NOT_FOUND", NULL);
    answer_free(&a);
    assert_int_equal(stop(&gw), 0);
}

/* The worst text there is in a page: runs whose stdout and stderr are 64
 * KiB of control bytes each (6 bytes of JSON per byte: about 768 KiB of
 * JSON per run in full).  The page of all of them stays under 1 MiB, each
 * such entry flagged as cut, and one run by id comes whole. */
static void test_history_page_worst_case(void **state)
{
    static const char task[] =
        "{\"code\": \"import sys\\nb = bytes(1 + i % 31 for i in range(65536))\\n"
        "sys.stderr.buffer.write(b); sys.stderr.flush()\\nsys.stdout.buffer.write(b + b)\\n\"}";
    char body[4096], url[64];
    json_t *en;
    json_int_t id = 0;
    size_t big = 0;
    answer a;

    (void)state;
    snprintf(body, sizeof(body), "{\"tasks\": [%s, %s, %s, %s, %s]}", task, task, task, task, task);
    for (int i = 0; i < 4; i++) {
        post_json(gw_own.url, "/run-batch", body, &a);
        assert_int_equal(a.status, 200);
        answer_free(&a);
    }
    http(gw_own.url, "GET", "/history?limit=100", NULL, NULL, 0, &a);
    assert_int_equal(a.status, 200);
    assert_true(a.len <= 1024 * 1024);
    en = json_object_get(a.json, "entries");
    for (size_t i = 0; i < json_array_size(en); i++) {
        json_t *e = json_array_get(en, i);

        if (strstr(jstr(e, "code"), "sys.stderr.buffer.write(b)") == NULL)
            continue;
        big++;
        assert_true(json_is_true(json_object_get(e, "truncated")));
        if (id == 0)
            id = jint(e, "id");
    }
    assert_true(big >= 20);
    answer_free(&a);

    snprintf(url, sizeof(url), "/history/%lld", (long long)id);
    http(gw_own.url, "GET", url, NULL, NULL, 0, &a);
    assert_int_equal(a.status, 200);
    assert_false(json_is_true(json_object_get(a.json, "truncated")));
    assert_int_equal(strlen(jstr(a.json, "stderr")), 65536);
    assert_int_equal(strlen(jstr(a.json, "output")), 65536);
    answer_free(&a);
}

/* ------------------------------------------------------------ the rate limit */

/* A batch costs one run per task; what the gateway refuses by itself costs
 * nothing.  The gateway's bucket holds 3 runs and barely refills. */
static void test_rate_limit_counts_tasks(void **state)
{
    zentry bad[] = {{"main.py", "print(1)\n", 0, 0, NULL}, {"../x", "x", 0, 0, NULL}};
    blob z = make_zip(bad, 2);
    char v[32];
    answer a;

    (void)state;
    for (int i = 0; i < 4; i++) {
        post_zip(gw_rate.url, &z, NULL, NULL, &a);
        expect_error(&a, 400, "INVALID_ARGUMENT", "zip: entry '../x' has a '..' segment");
        answer_free(&a);
    }
    post_json(gw_rate.url, "/run-batch", "{\"tasks\": [{\"code\": 1}]}", &a);
    expect_error(&a, 400, "INVALID_ARGUMENT", NULL);
    answer_free(&a);
    post_json(gw_rate.url, "/run-batch",
              "{\"tasks\": [{\"code\": \"print(1)\"}, {\"code\": \"print(2)\"}]}", &a);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    /* One run left: a batch of two is refused. */
    post_json(gw_rate.url, "/run-batch",
              "{\"tasks\": [{\"code\": \"print(1)\"}, {\"code\": \"print(2)\"}]}", &a);
    expect_error(&a, 429, "RESOURCE_EXHAUSTED", NULL);
    assert_non_null(strstr(jstr(a.json, "error"), "rate limit reached"));
    assert_non_null(header(&a, "Retry-After", v, sizeof(v)));
    answer_free(&a);
    free(z.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zip_hostile_starts_no_container),
        cmocka_unit_test(test_zip_python_project),
        cmocka_unit_test(test_zip_node_entries),
        cmocka_unit_test(test_zip_entry_errors),
        cmocka_unit_test(test_zip_sizes_and_types),
        cmocka_unit_test(test_batch_in_order_with_a_timeout),
        cmocka_unit_test(test_batch_errors),
        cmocka_unit_test(test_history_pages_and_filters),
        cmocka_unit_test(test_history_tenants),
        cmocka_unit_test(test_history_page_worst_case),
        cmocka_unit_test(test_rate_limit_counts_tasks),
    };

    return cmocka_run_group_tests_name("gateway_project", tests, group_setup, group_teardown);
}
