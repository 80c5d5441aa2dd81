// @@NAME@@: @@SUMMARY@@
//
// Made by `panther-host plugin new --kind environment`. An environment plugin places the
// services of a test: for each one, the host it runs on, the services it waits for, its
// networks, mounts and environment, and what to capture. The host checks the deployment against
// its policy and carries it out with the executor of the declared kind (here `localhost`: local
// processes). Nothing here runs anything, reads files or sees the network.
//
// The bindings (build/gen/environment_plugin.h) come from wit-bindgen's C generator;
// panther_guest.h has small helpers over them. The bindings free what is returned after the
// call; every call runs on a fresh instance. printf works (`plugin build` sends stdout and
// stderr to the host's log), but prefer the host's `log` import: one call, one message.

#define PANTHER_ENVIRONMENT
#include "panther_guest.h"

#define NAME "@@NAME@@"
#define HOST "127.0.0.1"

typedef exports_panther_plugin_environment_service_entry_t entry_t;

void exports_panther_plugin_environment_describe(panther_plugin_types_plugin_info_t *ret) {
    memset(ret, 0, sizeof *ret);
    ret->name = pg_string(NAME);
    ret->version = pg_string("0.1.0");
    ret->kind = PANTHER_PLUGIN_TYPES_PLUGIN_KIND_ENVIRONMENT;
    ret->description = pg_string("@@SUMMARY@@");
    ret->environments = pg_localhost_only();
}

// Whether `name` is one of the first `n` services of `order`.
static bool placed(const entry_t *const *order, size_t n, pg_str name) {
    for (size_t i = 0; i < n; i++) {
        if (order[i]->name.len == name.len && memcmp(order[i]->name.ptr, name.ptr, name.len) == 0) return true;
    }
    return false;
}

// Each service after the one it targets; otherwise servers first, then the experiment's order.
// A missing target, or a cycle, is an error.
static bool start_order(const exports_panther_plugin_environment_list_service_entry_t *services,
                        const entry_t **order, pg_error *err) {
    for (size_t n = 0; n < services->len; n++) {
        const entry_t *best = NULL;
        for (size_t i = 0; i < services->len; i++) {
            const entry_t *s = &services->ptr[i];
            if (placed(order, n, s->name) || (s->target.is_some && !placed(order, n, s->target.val))) continue;
            bool later = s->role == PANTHER_PLUGIN_TYPES_ROLE_CLIENT || s->tester;
            bool best_later = best && (best->role == PANTHER_PLUGIN_TYPES_ROLE_CLIENT || best->tester);
            if (!best || (best_later && !later)) best = s;
        }
        if (!best) return pg_unsupported(err, "some services can never start: their targets are missing or wait for each other");
        order[n] = best;
    }
    return true;
}

bool exports_panther_plugin_environment_deploy(exports_panther_plugin_environment_deploy_request_t *req,
                                               exports_panther_plugin_environment_deployment_plan_t *ret,
                                               pg_error *err) {
    if (req->params.len > 0) return pg_invalid(err, "params", NAME " takes no parameters");
    size_t n = req->services.len;
    const entry_t **order = pg_alloc(n, sizeof *order);
    if (!start_order(&req->services, order, err)) {
        free(order);
        return false;
    }
    memset(ret, 0, sizeof *ret);
    ret->kind = PANTHER_PLUGIN_TYPES_ENVIRONMENT_KIND_LOCALHOST;
    ret->placements.len = n;
    ret->placements.ptr = pg_alloc(n, sizeof(exports_panther_plugin_environment_placement_t));
    for (size_t i = 0; i < n; i++) {
        exports_panther_plugin_environment_placement_t *p = &ret->placements.ptr[i];
        p->service = pg_join("", order[i]->name, "");
        p->host = pg_string(HOST);
        // A service starts once the one it targets is ready.
        if (order[i]->target.is_some) {
            p->after.len = 1;
            p->after.ptr = pg_alloc(1, sizeof(pg_str));
            p->after.ptr[0] = pg_join("", order[i]->target.val, "");
        }
    }
    free(order);
    ret->capture.is_some = true;
    ret->capture.val.interface = pg_string("lo");
    ret->capture.val.ports_only = true;
    return true;
}
