// @@NAME@@: @@SUMMARY@@
//
// Made by `panther-host plugin new`. The host calls `describe` once, `plan` for each service
// of a test that names this plugin, and `assess` when the test is over. A plan is data: the
// programs to run (argv, never a shell string), the ports to allocate, when the service is
// ready, what to collect. The host checks it against its policy and runs it; nothing here can
// touch files, the network or the clock. `{{...}}` items are placeholders the host fills in
// (see wit/types.wit).
//
// The bindings (build/gen/service_plugin.h) come from wit-bindgen's C generator. Everything
// returned to the host is freed by the bindings after the call, so every string and list here
// is allocated (str() copies); every call runs on a fresh instance, so nothing outlives it.
//
// No stdio: printf and snprintf pull in WASI file calls (fd_write, fd_seek, fd_close), and a
// plugin gets no files, so `plugin build` would refuse the module. Format text by hand, and
// log with panther_plugin_host_log.

#include <stdlib.h>
#include <string.h>

#include "service_plugin.h"

#define NAME "@@NAME@@"

typedef service_plugin_string_t str_t;
typedef service_plugin_list_string_t strings_t;
typedef panther_plugin_types_command_t command_t;

static const char *const CLIENT_TOOLS[] = {"curl", "python", NULL};

// A small HTTP downloader for the `python` client tool; the host writes it as a plan file.
static const char FETCH_PY[] =
    "import sys, urllib.request, os\n"
    "base, out = sys.argv[1], sys.argv[2]\n"
    "for path in sys.argv[3:]:\n"
    "    urllib.request.urlretrieve(base + path, os.path.join(out, os.path.basename(path)))\n";

static str_t str(const char *text) {
    str_t out;
    service_plugin_string_dup(&out, text);
    return out;
}

static str_t str_n(const uint8_t *text, size_t len) {
    str_t out;
    service_plugin_string_dup_n(&out, (const char *)text, len);
    return out;
}

static bool is(str_t a, const char *b) {
    size_t n = strlen(b);
    return a.len == n && memcmp(a.ptr, b, n) == 0;
}

static void *alloc(size_t n, size_t size) {
    return n ? calloc(n, size) : NULL;
}

// A list of strings from a NULL-terminated array.
static strings_t strings(const char *const *items) {
    size_t n = 0;
    while (items[n]) n++;
    strings_t list = {.ptr = alloc(n, sizeof(str_t)), .len = n};
    for (size_t i = 0; i < n; i++) list.ptr[i] = str(items[i]);
    return list;
}

static command_t command(strings_t argv, const char *description) {
    command_t c;
    memset(&c, 0, sizeof c);
    c.argv = argv;
    c.critical = true;
    c.description = str(description);
    return c;
}

static bool fail(panther_plugin_types_plugin_error_t *err, uint8_t tag, const char *message) {
    err->tag = tag;
    if (tag == PANTHER_PLUGIN_TYPES_PLUGIN_ERROR_UNSUPPORTED) err->val.unsupported = str(message);
    else err->val.internal = str(message);
    return false;
}

static bool invalid(panther_plugin_types_plugin_error_t *err, const char *name, const char *message) {
    err->tag = PANTHER_PLUGIN_TYPES_PLUGIN_ERROR_INVALID_PARAM;
    err->val.invalid_param.name = str(name);
    err->val.invalid_param.message = str(message);
    return false;
}

void exports_panther_plugin_service_describe(panther_plugin_types_plugin_info_t *ret) {
    static const char *const protocols[] = {"http", NULL};
    memset(ret, 0, sizeof *ret);
    ret->name = str(NAME);
    ret->version = str("0.1.0");
    ret->kind = PANTHER_PLUGIN_TYPES_PLUGIN_KIND_@@KIND_C@@;
    ret->description = str("@@SUMMARY@@");
    ret->protocols = strings(protocols);

    ret->roles.len = 2;
    ret->roles.ptr = alloc(2, sizeof(panther_plugin_types_role_t));
    ret->roles.ptr[0] = PANTHER_PLUGIN_TYPES_ROLE_SERVER;
    ret->roles.ptr[1] = PANTHER_PLUGIN_TYPES_ROLE_CLIENT;

    ret->versions.len = 1;
    ret->versions.ptr = alloc(1, sizeof(panther_plugin_types_protocol_version_t));
    ret->versions.ptr[0].name = str("http/1.0");

    ret->parameters.len = 1;
    ret->parameters.ptr = alloc(1, sizeof(panther_plugin_types_param_spec_t));
    panther_plugin_types_param_spec_t *tool = &ret->parameters.ptr[0];
    tool->name = str("client-tool");
    tool->ty = PANTHER_PLUGIN_TYPES_PARAM_TYPE_STRING;
    tool->default_.is_some = true;
    tool->default_.val.tag = PANTHER_PLUGIN_TYPES_PARAM_VALUE_STRING;
    tool->default_.val.val.string = str("curl");
    tool->doc = str("client: the program that downloads the requests (`curl` or `python`)");
    tool->choices = strings(CLIENT_TOOLS);

    ret->environments.len = 1;
    ret->environments.ptr = alloc(1, sizeof(panther_plugin_types_environment_kind_t));
    ret->environments.ptr[0] = PANTHER_PLUGIN_TYPES_ENVIRONMENT_KIND_LOCALHOST;
}

// Python's own HTTP server, serving the files the host put in `{{dirs.www}}`.
static void server(panther_plugin_types_service_plan_t *plan) {
    static const char *const argv[] = {"python3", "-m", "http.server", "{{ports.main}}", "--bind", "{{self.ip}}",
                                       "--directory", "{{dirs.www}}", NULL};
    plan->phases.run.len = 1;
    plan->phases.run.ptr = alloc(1, sizeof(command_t));
    plan->phases.run.ptr[0] = command(strings(argv), "serve {{dirs.www}} over HTTP");
    plan->ports.len = 1;
    plan->ports.ptr = alloc(1, sizeof(panther_plugin_types_port_t));
    plan->ports.ptr[0].name = str("main");
    plan->ports.ptr[0].transport = PANTHER_PLUGIN_TYPES_TRANSPORT_TCP;
    plan->readiness.condition.tag = PANTHER_PLUGIN_TYPES_READINESS_CONDITION_PORT_BOUND;
    plan->readiness.condition.val.port_bound = str("main");
}

// Downloads every requested path from the target into `{{dirs.downloads}}`, where the host
// compares them with what the server served.
static void client(const panther_plugin_types_plan_request_t *req, bool curl, panther_plugin_types_service_plan_t *plan) {
    static const char BASE[] = "http://{{target.ip}}:{{target.port}}";
    static const char *const with_curl[] = {"curl", "--fail", "--silent", "--show-error", "--output-dir",
                                            "{{dirs.downloads}}", "--remote-name-all", NULL};
    static const char *const with_python[] = {"python3", "{{dirs.work}}/fetch.py", BASE, "{{dirs.downloads}}", NULL};
    strings_t head = strings(curl ? with_curl : with_python);
    strings_t argv = {.ptr = alloc(head.len + req->requests.len, sizeof(str_t)), .len = head.len + req->requests.len};
    memcpy(argv.ptr, head.ptr, head.len * sizeof(str_t));
    free(head.ptr);
    for (size_t i = 0; i < req->requests.len; i++) {
        str_t path = req->requests.ptr[i];
        if (!curl) {
            argv.ptr[head.len + i] = str_n(path.ptr, path.len);
            continue;
        }
        size_t base = strlen(BASE);
        str_t url = {.ptr = malloc(base + path.len), .len = base + path.len};
        memcpy(url.ptr, BASE, base);
        memcpy(url.ptr + base, path.ptr, path.len);
        argv.ptr[head.len + i] = url;
    }
    plan->phases.run.len = 1;
    plan->phases.run.ptr = alloc(1, sizeof(command_t));
    plan->phases.run.ptr[0] = command(argv, "download the requests");
    if (!curl) {
        plan->files.len = 1;
        plan->files.ptr = alloc(1, sizeof(service_plugin_tuple2_string_string_t));
        plan->files.ptr[0].f0 = str("{{dirs.work}}/fetch.py");
        plan->files.ptr[0].f1 = str(FETCH_PY);
    }
    plan->readiness.condition.tag = PANTHER_PLUGIN_TYPES_READINESS_CONDITION_STARTED;
}

static bool plan(const panther_plugin_types_plan_request_t *req, panther_plugin_types_service_plan_t *ret,
                 panther_plugin_types_plugin_error_t *err) {
    // A value outside a parameter's declared choices is refused whatever the role: the host
    // checks experiment files too, but a plugin does not trust its caller.
    bool curl = true;
    for (size_t i = 0; i < req->params.len; i++) {
        if (!is(req->params.ptr[i].f0, "client-tool")) continue;
        panther_plugin_types_param_value_t v = req->params.ptr[i].f1;
        if (v.tag == PANTHER_PLUGIN_TYPES_PARAM_VALUE_STRING && (is(v.val.string, "curl") || is(v.val.string, "python"))) {
            curl = is(v.val.string, "curl");
        } else {
            return invalid(err, "client-tool", "not one of curl, python");
        }
    }
    if (req->role != PANTHER_PLUGIN_TYPES_ROLE_SERVER && req->role != PANTHER_PLUGIN_TYPES_ROLE_CLIENT) {
        return fail(err, PANTHER_PLUGIN_TYPES_PLUGIN_ERROR_UNSUPPORTED, NAME " has the roles server and client only");
    }
    if (req->environment != PANTHER_PLUGIN_TYPES_ENVIRONMENT_KIND_LOCALHOST) {
        return fail(err, PANTHER_PLUGIN_TYPES_PLUGIN_ERROR_UNSUPPORTED, NAME " plans for localhost only");
    }
    memset(ret, 0, sizeof *ret);
    ret->readiness.timeout_ms = 10000;
    ret->artifacts.len = 1;
    ret->artifacts.ptr = alloc(1, sizeof(panther_plugin_types_artifact_t));
    ret->artifacts.ptr[0].kind = PANTHER_PLUGIN_TYPES_ARTIFACT_KIND_LOG;
    ret->artifacts.ptr[0].path = str("{{dirs.logs}}");
    if (req->role == PANTHER_PLUGIN_TYPES_ROLE_SERVER) server(ret);
    else client(req, curl, ret);
    return true;
}

bool exports_panther_plugin_service_plan(panther_plugin_types_plan_request_t *request,
                                         panther_plugin_types_service_plan_t *ret,
                                         panther_plugin_types_plugin_error_t *err) {
    bool ok = plan(request, ret, err);
    panther_plugin_types_plan_request_free(request);
    return ok;
}

// Host text (cut at 200 bytes) followed by `tail`.
static str_t joined(str_t what, const char *tail) {
    size_t len = what.len > 200 ? 200 : what.len, t = strlen(tail);
    str_t out = {.ptr = malloc(len + t), .len = len + t};
    memcpy(out.ptr, what.ptr, len);
    memcpy(out.ptr + len, tail, t);
    return out;
}

// `n` in decimal into `buf` (12 bytes at least).
static void decimal(int32_t n, char *buf) {
    char digits[12];
    int i = 0;
    int64_t v = n < 0 ? -(int64_t)n : n;
    do digits[i++] = (char)('0' + v % 10); while ((v /= 10) > 0);
    if (n < 0) *buf++ = '-';
    while (i > 0) *buf++ = digits[--i];
    *buf = 0;
}

// Pass when every service that ended by itself exited 0 and every file arrived intact.
static bool judge(const panther_plugin_types_outcome_t *o, panther_plugin_types_verdict_t *v) {
    memset(v, 0, sizeof *v);
    v->reasons.ptr = alloc(o->services.len + o->transfers.len, sizeof(str_t));
    for (size_t i = 0; i < o->services.len; i++) {
        const panther_plugin_types_service_outcome_t *s = &o->services.ptr[i];
        if (s->timed_out) {
            v->reasons.ptr[v->reasons.len++] = joined(s->service, " timed out");
        } else if (s->exit_code.is_some && s->exit_code.val != 0) {
            char tail[40] = " exited with status ";
            decimal(s->exit_code.val, tail + strlen(tail));
            v->reasons.ptr[v->reasons.len++] = joined(s->service, tail);
        }
    }
    for (size_t i = 0; i < o->transfers.len; i++) {
        const panther_plugin_types_transfer_t *t = &o->transfers.ptr[i];
        bool intact = t->served.is_some && t->downloaded.is_some &&
                      t->served.val.sha256.len == t->downloaded.val.sha256.len &&
                      memcmp(t->served.val.sha256.ptr, t->downloaded.val.sha256.ptr, t->served.val.sha256.len) == 0;
        if (!intact) v->reasons.ptr[v->reasons.len++] = joined(t->path, " did not arrive intact");
    }
    v->status = v->reasons.len ? PANTHER_PLUGIN_TYPES_VERDICT_STATUS_FAIL : PANTHER_PLUGIN_TYPES_VERDICT_STATUS_PASS;
    return true;
}

bool exports_panther_plugin_service_assess(panther_plugin_types_outcome_t *outcome, panther_plugin_types_verdict_t *ret) {
@@ASSESS_C@@
}
