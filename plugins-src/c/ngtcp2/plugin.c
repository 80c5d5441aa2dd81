// ngtcp2 as an implementation under test, written in C: a panther plugin built with clang for
// wasm32-wasi, wit-bindgen's C bindings, ../panther_guest.h and `panther-host plugin build`
// (plugins-src/build-c.sh).
//
// The programs are Debian's ngtcp2 0.12.1 examples with GnuTLS and nghttp3, from apt
// (`ngtcp2-server`, `ngtcp2-client`; `make setup-apt` installs them): `gtlsserver` serves
// {{dirs.www}} over HTTP/3, `gtlsclient` fetches the test's files into {{dirs.downloads}} and
// exits when every stream has closed. Both write TLS secrets to SSLKEYLOGFILE (GnuTLS reads it),
// so the host can decrypt the capture. The examples speak only HTTP/3 (ALPN h3), so of the
// interop test cases only `http3` runs; any other exits 127, as a runner endpoint does.
// The client does not verify the server's certificate: the example has no option for a CA.

#include "panther_guest.h"

static const char *const SOURCES[] = {"debian", NULL};

// Says why a test case cannot run, and exits 127.
static const char UNSUPPORTED_SH[] =
    "echo \"ngtcp2's gtlsserver/gtlsclient speak only HTTP/3; no configuration for the interop test case '$1'\" >&2\n"
    "exit 127\n";

// A command whose TLS secrets go to the key log the host collects.
static pg_command with_keylog(pg_command c) {
    c.env = pg_pair("SSLKEYLOGFILE", "{{files.keylog}}");
    return c;
}

static void add_artifact(pg_plan *plan, panther_plugin_types_artifact_kind_t kind, const char *path) {
    panther_plugin_types_artifact_t *a = &plan->artifacts.ptr[plan->artifacts.len++];
    a->kind = kind;
    a->path = pg_string(path);
}

void exports_panther_plugin_service_describe(panther_plugin_types_plugin_info_t *ret) {
    static const char *const protocols[] = {"quic", NULL};
    static const char *const alpn[] = {"h3", NULL};
    memset(ret, 0, sizeof *ret);
    ret->name = pg_string("ngtcp2");
    ret->version = pg_string("0.1.0");
    ret->kind = PANTHER_PLUGIN_TYPES_PLUGIN_KIND_IUT;
    ret->description = pg_string("ngtcp2 0.12 HTTP/3 example server and client (GnuTLS), plugin written in C");
    ret->protocols = pg_strings_of(protocols, 0);

    ret->roles = pg_server_and_client();

    ret->versions.len = 1;
    ret->versions.ptr = pg_alloc(1, sizeof(panther_plugin_types_protocol_version_t));
    ret->versions.ptr[0].name = pg_string("rfc9000");
    ret->versions.ptr[0].wire.is_some = true;
    ret->versions.ptr[0].wire.val = pg_string("00000001");
    ret->versions.ptr[0].alpn = pg_strings_of(alpn, 0);

    ret->sources.len = 1;
    ret->sources.ptr = pg_alloc(1, sizeof(panther_plugin_types_source_info_t));
    ret->sources.ptr[0].name = pg_string(SOURCES[0]);
    ret->sources.ptr[0].doc = pg_string("Debian's ngtcp2 0.12.1 examples, gtlsserver and gtlsclient (packages ngtcp2-server, ngtcp2-client); localhost");
    ret->sources.ptr[0].offline = true;

    ret->parameters.len = 1;
    ret->parameters.ptr = pg_alloc(1, sizeof(panther_plugin_types_param_spec_t));
    ret->parameters.ptr[0] = pg_choice_param("source", SOURCES, "where the implementation's programs come from (see `sources`)");
    ret->environments = pg_localhost_only();
}

static void server(pg_plan *plan) {
    static const char *const argv[] = {"gtlsserver", "--quiet", "--htdocs", "{{dirs.www}}", "{{self.ip}}", "{{ports.quic}}",
                                       "{{certs.key_pem}}", "{{certs.chain_pem}}", NULL};
    pg_run(plan, with_keylog(pg_cmd(pg_strings_of(argv, 0), "ngtcp2 HTTP/3 server serving the www directory")));
    pg_listen(plan, "quic", PANTHER_PLUGIN_TYPES_TRANSPORT_UDP);
}

// Fetches every request (`/index.html` when the test names none) over HTTP/3.
static void client(const panther_plugin_types_plan_request_t *req, pg_plan *plan) {
    static const char *const head[] = {"gtlsclient", "--quiet", "--exit-on-all-streams-close", "--download",
                                       "{{dirs.downloads}}", "{{target.ip}}", "{{target.port}}", NULL};
    static const char BASE[] = "https://{{target.host}}:{{target.port}}";
    static const char INDEX[] = "/index.html";
    size_t n = req->requests.len ? req->requests.len : 1;
    pg_strings argv = pg_strings_of(head, n);
    for (size_t i = 0; i < n; i++) {
        pg_str path = req->requests.len ? req->requests.ptr[i] : (pg_str){.ptr = (uint8_t *)INDEX, .len = sizeof INDEX - 1};
        argv.ptr[argv.len++] = pg_join(BASE, path, "");
    }
    pg_run(plan, with_keylog(pg_cmd(argv, "ngtcp2 HTTP/3 client downloading the test's files")));
    plan->readiness.condition.tag = PANTHER_PLUGIN_TYPES_READINESS_CONDITION_STARTED;
}

// A test case the examples cannot do: a script that says so and exits 127.
static void unsupported_case(const panther_plugin_types_plan_request_t *req, pg_plan *plan) {
    static const char *const head[] = {"sh", "{{dirs.work}}/unsupported.sh", NULL};
    pg_strings argv = pg_strings_of(head, 1);
    argv.ptr[argv.len++] = pg_join("", req->testcase.val, "");
    pg_run(plan, pg_cmd(argv, "ngtcp2 cannot do this interop test case: exit 127, as a runner endpoint does"));
    plan->files = pg_pair("{{dirs.work}}/unsupported.sh", UNSUPPORTED_SH);
    plan->readiness.condition.tag = PANTHER_PLUGIN_TYPES_READINESS_CONDITION_STARTED;
}

static bool plan(const panther_plugin_types_plan_request_t *req, pg_plan *ret, pg_error *err) {
    if (pg_choice(req, "source", SOURCES, 0, err) < 0) return false;
    if (req->role != PANTHER_PLUGIN_TYPES_ROLE_SERVER && req->role != PANTHER_PLUGIN_TYPES_ROLE_CLIENT) {
        return pg_unsupported(err, "ngtcp2 has the roles server and client");
    }
    if (!pg_is(req->protocol_version, "rfc9000")) {
        return pg_unsupported(err, "ngtcp2's examples speak QUIC version 1 (rfc9000) only");
    }
    if (req->environment != PANTHER_PLUGIN_TYPES_ENVIRONMENT_KIND_LOCALHOST) {
        return pg_unsupported(err, "ngtcp2 plans for localhost (Debian's packages, from apt)");
    }
    memset(ret, 0, sizeof *ret);
    ret->readiness.timeout_ms = 10000;
    ret->artifacts.ptr = pg_alloc(2, sizeof(panther_plugin_types_artifact_t));
    add_artifact(ret, PANTHER_PLUGIN_TYPES_ARTIFACT_KIND_LOG, "{{dirs.logs}}");
    if (req->testcase.is_some && !pg_is(req->testcase.val, "http3")) {
        unsupported_case(req, ret);
        return true;
    }
    add_artifact(ret, PANTHER_PLUGIN_TYPES_ARTIFACT_KIND_KEYLOG, "{{files.keylog}}");
    if (req->role == PANTHER_PLUGIN_TYPES_ROLE_SERVER) server(ret);
    else client(req, ret);
    return true;
}

bool exports_panther_plugin_service_plan(panther_plugin_types_plan_request_t *request, pg_plan *ret, pg_error *err) {
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
