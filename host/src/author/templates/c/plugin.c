// @@NAME@@: @@SUMMARY@@
//
// Made by `panther-host plugin new`. The host calls `describe` once, `plan` for each service
// of a test that names this plugin, and `assess` when the test is over. A plan is data: the
// programs to run (argv, never a shell string), the ports to allocate, when the service is
// ready, what to collect. The host checks it against its policy and runs it; nothing here can
// touch files, the network or the clock. `{{...}}` items are placeholders the host fills in
// (see wit/types.wit).
//
// The bindings (build/gen/service_plugin.h) come from wit-bindgen's C generator;
// panther_guest.h has small helpers over them (allocated strings and lists, commands, errors,
// parameter choices). The bindings free what is returned after the call; every call runs on a
// fresh instance. printf works (`plugin build` sends stdout and stderr to the host's log, a
// message per buffer), but prefer the host's `log` import: one call, one message.

#include "panther_guest.h"

#define NAME "@@NAME@@"

static const char *const CLIENT_TOOLS[] = {"curl", "python", NULL};

// A small HTTP downloader for the `python` client tool; the host writes it as a plan file.
static const char FETCH_PY[] =
    "import sys, urllib.request, os\n"
    "base, out = sys.argv[1], sys.argv[2]\n"
    "for path in sys.argv[3:]:\n"
    "    urllib.request.urlretrieve(base + path, os.path.join(out, os.path.basename(path)))\n";

void exports_panther_plugin_service_describe(panther_plugin_types_plugin_info_t *ret) {
    static const char *const protocols[] = {"http", NULL};
    memset(ret, 0, sizeof *ret);
    ret->name = pg_string(NAME);
    ret->version = pg_string("0.1.0");
    ret->kind = PANTHER_PLUGIN_TYPES_PLUGIN_KIND_@@KIND_CONST@@;
    ret->description = pg_string("@@SUMMARY@@");
    ret->protocols = pg_strings_of(protocols, 0);

    ret->roles = pg_server_and_client();

    ret->versions.len = 1;
    ret->versions.ptr = pg_alloc(1, sizeof(panther_plugin_types_protocol_version_t));
    ret->versions.ptr[0].name = pg_string("http/1.0");

    ret->parameters.len = 1;
    ret->parameters.ptr = pg_alloc(1, sizeof(panther_plugin_types_param_spec_t));
    ret->parameters.ptr[0] =
        pg_choice_param("client-tool", CLIENT_TOOLS, "client: the program that downloads the requests (`curl` or `python`)");
    ret->environments = pg_localhost_only();
}

// Python's own HTTP server, serving the files the host put in `{{dirs.www}}`.
static void server(pg_plan *plan) {
    static const char *const argv[] = {"python3", "-m", "http.server", "{{ports.main}}", "--bind", "{{self.ip}}",
                                       "--directory", "{{dirs.www}}", NULL};
    pg_run(plan, pg_cmd(pg_strings_of(argv, 0), "serve {{dirs.www}} over HTTP"));
    pg_listen(plan, "main", PANTHER_PLUGIN_TYPES_TRANSPORT_TCP);
}

// Downloads every requested path from the target into `{{dirs.downloads}}`, where the host
// compares them with what the server served.
static void client(const panther_plugin_types_plan_request_t *req, bool curl, pg_plan *plan) {
    static const char BASE[] = "http://{{target.ip}}:{{target.port}}";
    static const char *const with_curl[] = {"curl", "--fail", "--silent", "--show-error", "--output-dir",
                                            "{{dirs.downloads}}", "--remote-name-all", NULL};
    static const char *const with_python[] = {"python3", "{{dirs.work}}/fetch.py", BASE, "{{dirs.downloads}}", NULL};
    pg_strings argv = pg_strings_of(curl ? with_curl : with_python, req->requests.len);
    for (size_t i = 0; i < req->requests.len; i++) {
        argv.ptr[argv.len++] = pg_join(curl ? BASE : "", req->requests.ptr[i], "");
    }
    pg_run(plan, pg_cmd(argv, "download the requests"));
    if (!curl) plan->files = pg_pair("{{dirs.work}}/fetch.py", FETCH_PY);
    plan->readiness.condition.tag = PANTHER_PLUGIN_TYPES_READINESS_CONDITION_STARTED;
}

static bool plan(const panther_plugin_types_plan_request_t *req, pg_plan *ret, pg_error *err) {
    int tool = pg_choice(req, "client-tool", CLIENT_TOOLS, 0, err);
    if (tool < 0) return false;
    if (req->role != PANTHER_PLUGIN_TYPES_ROLE_SERVER && req->role != PANTHER_PLUGIN_TYPES_ROLE_CLIENT) {
        return pg_unsupported(err, NAME " has the roles server and client only");
    }
    if (req->environment != PANTHER_PLUGIN_TYPES_ENVIRONMENT_KIND_LOCALHOST) {
        return pg_unsupported(err, NAME " plans for localhost only");
    }
    memset(ret, 0, sizeof *ret);
    ret->readiness.timeout_ms = 10000;
    ret->artifacts.len = 1;
    ret->artifacts.ptr = pg_alloc(1, sizeof(panther_plugin_types_artifact_t));
    ret->artifacts.ptr[0].kind = PANTHER_PLUGIN_TYPES_ARTIFACT_KIND_LOG;
    ret->artifacts.ptr[0].path = pg_string("{{dirs.logs}}");
    if (req->role == PANTHER_PLUGIN_TYPES_ROLE_SERVER) server(ret);
    else client(req, tool == 0, ret);
    return true;
}

bool exports_panther_plugin_service_plan(panther_plugin_types_plan_request_t *request, pg_plan *ret, pg_error *err) {
    bool ok = plan(request, ret, err);
    panther_plugin_types_plan_request_free(request);
    return ok;
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
    v->reasons.ptr = pg_alloc(o->services.len + o->transfers.len, sizeof(pg_str));
    for (size_t i = 0; i < o->services.len; i++) {
        const panther_plugin_types_service_outcome_t *s = &o->services.ptr[i];
        if (s->timed_out) {
            v->reasons.ptr[v->reasons.len++] = pg_join("", s->service, " timed out");
        } else if (s->exit_code.is_some && s->exit_code.val != 0) {
            char tail[40] = " exited with status ";
            decimal(s->exit_code.val, tail + strlen(tail));
            v->reasons.ptr[v->reasons.len++] = pg_join("", s->service, tail);
        }
    }
    for (size_t i = 0; i < o->transfers.len; i++) {
        const panther_plugin_types_transfer_t *t = &o->transfers.ptr[i];
        bool intact = t->served.is_some && t->downloaded.is_some &&
                      t->served.val.sha256.len == t->downloaded.val.sha256.len &&
                      memcmp(t->served.val.sha256.ptr, t->downloaded.val.sha256.ptr, t->served.val.sha256.len) == 0;
        if (!intact) v->reasons.ptr[v->reasons.len++] = pg_join("", t->path, " did not arrive intact");
    }
    v->status = v->reasons.len ? PANTHER_PLUGIN_TYPES_VERDICT_STATUS_FAIL : PANTHER_PLUGIN_TYPES_VERDICT_STATUS_PASS;
    return true;
}

bool exports_panther_plugin_service_assess(panther_plugin_types_outcome_t *outcome, panther_plugin_types_verdict_t *ret) {
@@ASSESS_C@@
}
