// panther_guest.h: helpers for panther plugins written in C, on top of the bindings wit-bindgen's
// C generator writes for the contract (service_plugin.h, or environment_plugin.h when the file
// defines PANTHER_ENVIRONMENT before including this one). Used by the bundled C plugins
// (plugins-src/c/*) and written into every `panther-host plugin new --lang c` project.
//
// Every string and list a plugin returns is freed by the bindings after the call, so these
// helpers always allocate; every call runs on a fresh instance, so nothing outlives it. No
// stdio: printf and snprintf pull in WASI file calls, which plugins never get.
#ifndef PANTHER_GUEST_H
#define PANTHER_GUEST_H

#include <stdlib.h>
#include <string.h>

// The bindings name their world's own helpers (`service_plugin_string_dup`); everything from
// the contract's `types` interface is the same in both worlds.
#ifdef PANTHER_ENVIRONMENT
#include "environment_plugin.h"
#define PG_WORLD(item) environment_plugin_##item
#else
#include "service_plugin.h"
#define PG_WORLD(item) service_plugin_##item
#endif

typedef PG_WORLD(string_t) pg_str;
typedef PG_WORLD(list_string_t) pg_strings;
typedef panther_plugin_types_command_t pg_command;
typedef panther_plugin_types_service_plan_t pg_plan;
typedef panther_plugin_types_plugin_error_t pg_error;

// An allocated copy of `text`.
static pg_str pg_string(const char *text) {
    pg_str out;
    PG_WORLD(string_dup)(&out, text);
    return out;
}

// Whether `a` (from the host) is exactly `b`.
static bool pg_is(pg_str a, const char *b) {
    size_t n = strlen(b);
    return a.len == n && memcmp(a.ptr, b, n) == 0;
}

// `n` zeroed items of `size` bytes; NULL for none (the bindings free only non-empty lists).
static void *pg_alloc(size_t n, size_t size) {
    return n ? calloc(n, size) : NULL;
}

// A list of allocated copies of a NULL-terminated array, with room for `extra` more items
// (the list's `len` counts only the copies).
static pg_strings pg_strings_of(const char *const *items, size_t extra) {
    size_t n = 0;
    while (items[n]) n++;
    pg_strings list = {.ptr = pg_alloc(n + extra, sizeof(pg_str)), .len = n};
    for (size_t i = 0; i < n; i++) list.ptr[i] = pg_string(items[i]);
    return list;
}

// `head`, then `middle` (text from the host), then `tail`, as one allocated string.
static pg_str pg_join(const char *head, pg_str middle, const char *tail) {
    size_t h = strlen(head), m = middle.len, t = strlen(tail);
    pg_str out = {.ptr = malloc(h + m + t + 1), .len = h + m + t};
    memcpy(out.ptr, head, h);
    memcpy(out.ptr + h, middle.ptr, m);
    memcpy(out.ptr + h + m, tail, t);
    return out;
}

// A list holding the one pair (`key`, `value`): a plan file and its contents, an environment
// variable and its value.
static PG_WORLD(list_tuple2_string_string_t) pg_pair(const char *key, const char *value) {
    PG_WORLD(list_tuple2_string_string_t) list = {.ptr = pg_alloc(1, sizeof(PG_WORLD(tuple2_string_string_t))), .len = 1};
    list.ptr[0].f0 = pg_string(key);
    list.ptr[0].f1 = pg_string(value);
    return list;
}

// A command the host runs directly (never through a shell); a failure stops the service.
static pg_command pg_cmd(pg_strings argv, const char *description) {
    pg_command c;
    memset(&c, 0, sizeof c);
    c.argv = argv;
    c.critical = true;
    c.description = pg_string(description);
    return c;
}

// Makes `command` the plan's only run command.
static void pg_run(pg_plan *plan, pg_command command) {
    plan->phases.run.len = 1;
    plan->phases.run.ptr = pg_alloc(1, sizeof(pg_command));
    plan->phases.run.ptr[0] = command;
}

// The value of the string parameter `name` as an index into `choices` (NULL-terminated), or
// `fallback` when the request does not have it; -1, with `invalid-param` in `err`, for any
// other value. The host checks experiment files too, but a plugin does not trust its caller.
static int pg_choice(const panther_plugin_types_plan_request_t *req, const char *name, const char *const *choices,
                     int fallback, pg_error *err) {
    for (size_t i = 0; i < req->params.len; i++) {
        if (!pg_is(req->params.ptr[i].f0, name)) continue;
        panther_plugin_types_param_value_t v = req->params.ptr[i].f1;
        for (int c = 0; v.tag == PANTHER_PLUGIN_TYPES_PARAM_VALUE_STRING && choices[c]; c++) {
            if (pg_is(v.val.string, choices[c])) return c;
        }
        err->tag = PANTHER_PLUGIN_TYPES_PLUGIN_ERROR_INVALID_PARAM;
        err->val.invalid_param.name = pg_string(name);
        err->val.invalid_param.message = pg_string("not one of the declared choices");
        return -1;
    }
    return fallback;
}

// A string parameter whose value must be one of `choices` (NULL-terminated); the first is the
// default.
static panther_plugin_types_param_spec_t pg_choice_param(const char *name, const char *const *choices, const char *doc) {
    panther_plugin_types_param_spec_t p;
    memset(&p, 0, sizeof p);
    p.name = pg_string(name);
    p.ty = PANTHER_PLUGIN_TYPES_PARAM_TYPE_STRING;
    p.default_.is_some = true;
    p.default_.val.tag = PANTHER_PLUGIN_TYPES_PARAM_VALUE_STRING;
    p.default_.val.val.string = pg_string(choices[0]);
    p.doc = pg_string(doc);
    p.choices = pg_strings_of(choices, 0);
    return p;
}

// The roles `server` and `client`.
static panther_plugin_types_list_role_t pg_server_and_client(void) {
    panther_plugin_types_list_role_t roles = {.ptr = pg_alloc(2, sizeof(panther_plugin_types_role_t)), .len = 2};
    roles.ptr[0] = PANTHER_PLUGIN_TYPES_ROLE_SERVER;
    roles.ptr[1] = PANTHER_PLUGIN_TYPES_ROLE_CLIENT;
    return roles;
}

// The environments list of a plugin that plans for localhost only.
static panther_plugin_types_list_environment_kind_t pg_localhost_only(void) {
    panther_plugin_types_list_environment_kind_t envs = {.ptr = pg_alloc(1, sizeof(panther_plugin_types_environment_kind_t)), .len = 1};
    envs.ptr[0] = PANTHER_PLUGIN_TYPES_ENVIRONMENT_KIND_LOCALHOST;
    return envs;
}

// A server's port `name` (number chosen by the host); ready once something listens on it.
static void pg_listen(pg_plan *plan, const char *name, panther_plugin_types_transport_t transport) {
    plan->ports.len = 1;
    plan->ports.ptr = pg_alloc(1, sizeof(panther_plugin_types_port_t));
    plan->ports.ptr[0].name = pg_string(name);
    plan->ports.ptr[0].transport = transport;
    plan->readiness.condition.tag = PANTHER_PLUGIN_TYPES_READINESS_CONDITION_PORT_BOUND;
    plan->readiness.condition.val.port_bound = pg_string(name);
}

// Returns `unsupported`: the plugin cannot serve this role, version, environment or case.
static bool pg_unsupported(pg_error *err, const char *message) {
    err->tag = PANTHER_PLUGIN_TYPES_PLUGIN_ERROR_UNSUPPORTED;
    err->val.unsupported = pg_string(message);
    return false;
}

// Returns `invalid-param`: the parameter `name` has a value the plugin cannot use.
static bool pg_invalid(pg_error *err, const char *name, const char *message) {
    err->tag = PANTHER_PLUGIN_TYPES_PLUGIN_ERROR_INVALID_PARAM;
    err->val.invalid_param.name = pg_string(name);
    err->val.invalid_param.message = pg_string(message);
    return false;
}

#endif
