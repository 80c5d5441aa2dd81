// ngtcp2 as an implementation under test, written in C: a panther plugin built with clang for
// wasm32-wasi, wit-bindgen's C bindings and `panther-host plugin build` (plugins-src/build-c.sh).
//
// The programs are Debian's ngtcp2 0.12.1 examples with GnuTLS and nghttp3, from apt
// (`ngtcp2-server`, `ngtcp2-client`; `make setup-apt` installs them): `gtlsserver` serves
// {{dirs.www}} over HTTP/3, `gtlsclient` fetches the test's files into {{dirs.downloads}} and
// exits when every stream has closed. Both write TLS secrets to SSLKEYLOGFILE (GnuTLS reads it),
// so the host can decrypt the capture. The examples speak only HTTP/3 (ALPN h3), so of the
// interop test cases only `http3` runs; any other exits 127, as a runner endpoint does.
// The client does not verify the server's certificate: the example has no option for a CA.
//
// No stdio (it would import WASI file calls, which plugins never get); every string returned
// is allocated, since the bindings free it after the call.

#include <stdlib.h>
#include <string.h>

#include "service_plugin.h"

typedef service_plugin_string_t str_t;
typedef service_plugin_list_string_t strings_t;
typedef panther_plugin_types_command_t command_t;
typedef panther_plugin_types_service_plan_t plan_t;
typedef panther_plugin_types_plugin_error_t error_t_;

#define NAME "ngtcp2"

// Says why a test case cannot run, and exits 127.
static const char UNSUPPORTED_SH[] =
    "echo \"ngtcp2's gtlsserver/gtlsclient speak only HTTP/3; no configuration for the interop test case '$1'\" >&2\n"
    "exit 127\n";

static str_t str(const char *text) {
    str_t out;
    service_plugin_string_dup(&out, text);
    return out;
}

static bool is(str_t a, const char *b) {
    size_t n = strlen(b);
    return a.len == n && memcmp(a.ptr, b, n) == 0;
}

static void *alloc(size_t n, size_t size) {
    return n ? calloc(n, size) : NULL;
}

static strings_t strings(const char *const *items) {
    size_t n = 0;
    while (items[n]) n++;
    strings_t list = {.ptr = alloc(n, sizeof(str_t)), .len = n};
    for (size_t i = 0; i < n; i++) list.ptr[i] = str(items[i]);
    return list;
}

// `head` then `tail` (a string from the host), as one allocated string.
static str_t concat(const char *head, str_t tail) {
    size_t h = strlen(head);
    str_t out = {.ptr = malloc(h + tail.len), .len = h + tail.len};
    memcpy(out.ptr, head, h);
    memcpy(out.ptr + h, tail.ptr, tail.len);
    return out;
}

static command_t command(strings_t argv, const char *description, bool keylog) {
    command_t c;
    memset(&c, 0, sizeof c);
    c.argv = argv;
    c.critical = true;
    c.description = str(description);
    if (keylog) {
        c.env.len = 1;
        c.env.ptr = alloc(1, sizeof(service_plugin_tuple2_string_string_t));
        c.env.ptr[0].f0 = str("SSLKEYLOGFILE");
        c.env.ptr[0].f1 = str("{{files.keylog}}");
    }
    return c;
}

static bool fail(error_t_ *err, const char *message) {
    err->tag = PANTHER_PLUGIN_TYPES_PLUGIN_ERROR_UNSUPPORTED;
    err->val.unsupported = str(message);
    return false;
}

static void add_artifact(plan_t *plan, panther_plugin_types_artifact_kind_t kind, const char *path) {
    panther_plugin_types_artifact_t *a = &plan->artifacts.ptr[plan->artifacts.len++];
    a->kind = kind;
    a->path = str(path);
}

void exports_panther_plugin_service_describe(panther_plugin_types_plugin_info_t *ret) {
    static const char *const protocols[] = {"quic", NULL};
    static const char *const alpn[] = {"h3", NULL};
    static const char *const sources[] = {"debian", NULL};
    memset(ret, 0, sizeof *ret);
    ret->name = str(NAME);
    ret->version = str("0.1.0");
    ret->kind = PANTHER_PLUGIN_TYPES_PLUGIN_KIND_IUT;
    ret->description = str("ngtcp2 0.12 HTTP/3 example server and client (GnuTLS), plugin written in C");
    ret->protocols = strings(protocols);

    ret->roles.len = 2;
    ret->roles.ptr = alloc(2, sizeof(panther_plugin_types_role_t));
    ret->roles.ptr[0] = PANTHER_PLUGIN_TYPES_ROLE_SERVER;
    ret->roles.ptr[1] = PANTHER_PLUGIN_TYPES_ROLE_CLIENT;

    ret->versions.len = 1;
    ret->versions.ptr = alloc(1, sizeof(panther_plugin_types_protocol_version_t));
    ret->versions.ptr[0].name = str("rfc9000");
    ret->versions.ptr[0].wire.is_some = true;
    ret->versions.ptr[0].wire.val = str("00000001");
    ret->versions.ptr[0].alpn = strings(alpn);

    ret->sources.len = 1;
    ret->sources.ptr = alloc(1, sizeof(panther_plugin_types_source_info_t));
    ret->sources.ptr[0].name = str("debian");
    ret->sources.ptr[0].doc = str("Debian's ngtcp2 0.12.1 examples, gtlsserver and gtlsclient (packages ngtcp2-server, ngtcp2-client); localhost");
    ret->sources.ptr[0].offline = true;

    ret->parameters.len = 1;
    ret->parameters.ptr = alloc(1, sizeof(panther_plugin_types_param_spec_t));
    panther_plugin_types_param_spec_t *source = &ret->parameters.ptr[0];
    source->name = str("source");
    source->ty = PANTHER_PLUGIN_TYPES_PARAM_TYPE_STRING;
    source->default_.is_some = true;
    source->default_.val.tag = PANTHER_PLUGIN_TYPES_PARAM_VALUE_STRING;
    source->default_.val.val.string = str("debian");
    source->doc = str("where the implementation's programs come from (see `sources`)");
    source->choices = strings(sources);

    ret->environments.len = 1;
    ret->environments.ptr = alloc(1, sizeof(panther_plugin_types_environment_kind_t));
    ret->environments.ptr[0] = PANTHER_PLUGIN_TYPES_ENVIRONMENT_KIND_LOCALHOST;
}

static void server(plan_t *plan) {
    static const char *const argv[] = {"gtlsserver", "--quiet", "--htdocs", "{{dirs.www}}", "{{self.ip}}", "{{ports.quic}}",
                                       "{{certs.key_pem}}", "{{certs.chain_pem}}", NULL};
    plan->phases.run.len = 1;
    plan->phases.run.ptr = alloc(1, sizeof(command_t));
    plan->phases.run.ptr[0] = command(strings(argv), "ngtcp2 HTTP/3 server serving the www directory", true);
    plan->ports.len = 1;
    plan->ports.ptr = alloc(1, sizeof(panther_plugin_types_port_t));
    plan->ports.ptr[0].name = str("quic");
    plan->ports.ptr[0].transport = PANTHER_PLUGIN_TYPES_TRANSPORT_UDP;
    plan->readiness.condition.tag = PANTHER_PLUGIN_TYPES_READINESS_CONDITION_PORT_BOUND;
    plan->readiness.condition.val.port_bound = str("quic");
}

// Fetches every request (`/index.html` when the test names none) over HTTP/3.
static void client(const panther_plugin_types_plan_request_t *req, plan_t *plan) {
    static const char *const head[] = {"gtlsclient", "--quiet", "--exit-on-all-streams-close", "--download",
                                       "{{dirs.downloads}}", "{{target.ip}}", "{{target.port}}", NULL};
    static const char BASE[] = "https://{{target.host}}:{{target.port}}";
    static const uint8_t INDEX[] = "/index.html";
    strings_t h = strings(head);
    size_t n = req->requests.len ? req->requests.len : 1;
    strings_t argv = {.ptr = alloc(h.len + n, sizeof(str_t)), .len = h.len + n};
    memcpy(argv.ptr, h.ptr, h.len * sizeof(str_t));
    free(h.ptr);
    for (size_t i = 0; i < n; i++) {
        str_t path = req->requests.len ? req->requests.ptr[i] : (str_t){.ptr = (uint8_t *)INDEX, .len = sizeof INDEX - 1};
        argv.ptr[h.len + i] = concat(BASE, path);
    }
    plan->phases.run.len = 1;
    plan->phases.run.ptr = alloc(1, sizeof(command_t));
    plan->phases.run.ptr[0] = command(argv, "ngtcp2 HTTP/3 client downloading the test's files", true);
    plan->readiness.condition.tag = PANTHER_PLUGIN_TYPES_READINESS_CONDITION_STARTED;
}

// A test case the examples cannot do: a script that says so and exits 127.
static void unsupported_case(const panther_plugin_types_plan_request_t *req, plan_t *plan) {
    static const char *const head[] = {"sh", "{{dirs.work}}/unsupported.sh", NULL};
    strings_t h = strings(head);
    strings_t argv = {.ptr = alloc(3, sizeof(str_t)), .len = 3};
    memcpy(argv.ptr, h.ptr, 2 * sizeof(str_t));
    free(h.ptr);
    argv.ptr[2] = concat("", req->testcase.val);
    plan->phases.run.len = 1;
    plan->phases.run.ptr = alloc(1, sizeof(command_t));
    plan->phases.run.ptr[0] = command(argv, "ngtcp2 cannot do this interop test case: exit 127, as a runner endpoint does", false);
    plan->files.len = 1;
    plan->files.ptr = alloc(1, sizeof(service_plugin_tuple2_string_string_t));
    plan->files.ptr[0].f0 = str("{{dirs.work}}/unsupported.sh");
    plan->files.ptr[0].f1 = str(UNSUPPORTED_SH);
    plan->readiness.condition.tag = PANTHER_PLUGIN_TYPES_READINESS_CONDITION_STARTED;
}

static bool plan(const panther_plugin_types_plan_request_t *req, plan_t *ret, error_t_ *err) {
    for (size_t i = 0; i < req->params.len; i++) {
        if (!is(req->params.ptr[i].f0, "source")) continue;
        panther_plugin_types_param_value_t v = req->params.ptr[i].f1;
        if (v.tag != PANTHER_PLUGIN_TYPES_PARAM_VALUE_STRING || !is(v.val.string, "debian")) {
            err->tag = PANTHER_PLUGIN_TYPES_PLUGIN_ERROR_INVALID_PARAM;
            err->val.invalid_param.name = str("source");
            err->val.invalid_param.message = str("not one of debian");
            return false;
        }
    }
    if (req->role != PANTHER_PLUGIN_TYPES_ROLE_SERVER && req->role != PANTHER_PLUGIN_TYPES_ROLE_CLIENT) {
        return fail(err, "ngtcp2 has the roles server and client");
    }
    if (!is(req->protocol_version, "rfc9000")) {
        return fail(err, "ngtcp2's examples speak QUIC version 1 (rfc9000) only");
    }
    if (req->environment != PANTHER_PLUGIN_TYPES_ENVIRONMENT_KIND_LOCALHOST) {
        return fail(err, "ngtcp2 plans for localhost (Debian's packages, from apt)");
    }
    memset(ret, 0, sizeof *ret);
    ret->readiness.timeout_ms = 10000;
    ret->artifacts.ptr = alloc(2, sizeof(panther_plugin_types_artifact_t));
    add_artifact(ret, PANTHER_PLUGIN_TYPES_ARTIFACT_KIND_LOG, "{{dirs.logs}}");
    if (req->testcase.is_some && !is(req->testcase.val, "http3")) {
        unsupported_case(req, ret);
        return true;
    }
    add_artifact(ret, PANTHER_PLUGIN_TYPES_ARTIFACT_KIND_KEYLOG, "{{files.keylog}}");
    if (req->role == PANTHER_PLUGIN_TYPES_ROLE_SERVER) server(ret);
    else client(req, ret);
    return true;
}

bool exports_panther_plugin_service_plan(panther_plugin_types_plan_request_t *request, plan_t *ret, error_t_ *err) {
    bool ok = plan(request, ret, err);
    panther_plugin_types_plan_request_free(request);
    return ok;
}

bool exports_panther_plugin_service_assess(panther_plugin_types_outcome_t *outcome, panther_plugin_types_verdict_t *ret) {
    // No opinion: the host compares the transfers, the interop tester judges test cases.
    (void)outcome;
    (void)ret;
    return false;
}
