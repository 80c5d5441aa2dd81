//! The QUIC (and MiniP) Ivy test catalogue and the run arguments, as PANTHER renders them.
//!
//! Role inversion: a test named `quic_server_test_*` tests a server IUT, so Ivy plays the
//! client; `quic_client_test_*` tests a client IUT and Ivy plays the server. The compiled
//! tester takes `key=value` arguments; IPv4 addresses are decimal integers
//! (`{{target.ip_decimal}}`, `{{self.ip_decimal}}`, filled in by the host).

/// Server-IUT tests (Ivy is the client), from `protocol-testing/quic/quic_tests/server_tests/`.
pub const QUIC_SERVER_TESTS: &[&str] = &[
    "quic_server_test",
    "quic_server_test_stream",
    "quic_server_test_max",
    "quic_server_test_accept_maxdata",
    "quic_server_test_reset_stream",
    "quic_server_test_connection_close",
    "quic_server_test_stop_sending",
    "quic_server_test_stop_sending_error",
    "quic_server_test_handshake_done_error",
    "quic_server_test_token_error",
    "quic_server_test_new_token_error",
    "quic_server_test_tp_error",
    "quic_server_test_double_tp_error",
    "quic_server_test_tp_acticoid_error",
    "quic_server_test_tp_limit_acticoid_error",
    "quic_server_test_tp_limit_newcoid",
    "quic_server_test_tp_inv_cid",
    "quic_server_test_unkown",
    "quic_server_test_unkown_tp",
    "quic_server_test_blocked_streams_maxstream_error",
    "quic_server_test_retirecoid_error",
    "quic_server_test_newcoid_zero_error",
    "quic_server_test_newcoid_length_error",
    "quic_server_test_newcoid_rtp_error",
    "quic_server_test_newconnectionid_error",
    "quic_server_test_no_icid",
    "quic_server_test_ext_min_ack_delay",
    "quic_server_test_ext_min_ack_delay_example",
    "quic_server_test_stream_limit_error",
    "quic_server_test_crypto_limit_error",
    "quic_server_test_max_error",
    "quic_server_test_max_limit_error",
    "quic_server_test_version_negociation",
    "quic_server_test_version_negociation_ext",
    "quic_server_test_retry",
    "quic_server_test_retry_tp_error",
    "quic_server_test_retry_reuse_key",
    "quic_server_test_0rtt",
    "quic_server_test_0rtt_stream",
    "quic_server_test_0rtt_stream_app_close",
    "quic_server_test_0rtt_stream_co_close",
    "quic_server_test_migration",
    "quic_server_test_stream_migration",
    "quic_server_test_timeout",
    "quic_server_test_timeout_no_sleep",
    "quic_server_test_timeout_no_sleep_migration",
    "quic_server_test_timeout_no_sleep_validation",
    "quic_server_test_deadconnection",
    "quic_server_test_deadconnection_no_sleep",
    "quic_server_test_deadconnection_no_sleep_migration",
    "quic_server_test_deadconnection_no_sleep_validation",
    "quic_server_test_deadconnection_signal",
    "quic_server_test_loss_recovery",
    "quic_server_test_congestion_control",
    "quic_server_test_mim",
    "quic_server_test_attacker_reflection",
    "quic_server_test_ncid_quant_vulne",
    "quic_server_test_stream_vuln",
];

/// Client-IUT tests (Ivy is the server), from `quic_tests/client_tests/`.
pub const QUIC_CLIENT_TESTS: &[&str] = &[
    "quic_client_test",
    "quic_client_test_stream",
    "quic_client_test_max",
    "quic_client_test_accept_maxdata",
    "quic_client_test_tp_error",
    "quic_client_test_double_tp_error",
    "quic_client_test_tp_acticoid_error",
    "quic_client_test_tp_limit_acticoid_error",
    "quic_client_test_tp_prefadd_error",
    "quic_client_test_tp_inv_cid",
    "quic_client_test_tp_unkown",
    "quic_client_test_unkown",
    "quic_client_test_blocked_streams_maxstream_error",
    "quic_client_test_retirecoid_error",
    "quic_client_test_newcoid_zero_error",
    "quic_client_test_no_odci",
    "quic_client_test_ext_min_ack_delay",
    "quic_client_test_stateless_reset_token",
    "quic_client_test_handshake_done_error",
    "quic_client_test_limit_max_error",
    "quic_client_test_new_token_error",
    "quic_client_test_new_token_address_validation",
    "quic_client_test_version_negociation",
    "quic_client_test_version_negociation_mim_forge",
    "quic_client_test_version_negociation_mim_modify",
    "quic_client_test_retry",
    "quic_client_test_retry_futur",
    "quic_client_test_retry_notoken",
    "quic_client_test_0rtt",
    "quic_client_test_0rtt_add_val",
    "quic_client_test_0rtt_invalid",
    "quic_client_test_0rtt_max",
    "quic_client_test_0rtt_max_add_val",
    "quic_client_test_0rtt_max_app_close",
    "quic_client_test_0rtt_max_co_close",
    "quic_client_test_0rtt_mim_replay",
    "quic_client_test_mim",
    "quic_client_test_mim_modify",
    "quic_client_test_psk_mim_reflection_selfie_attack",
    "quic_client_test_timeout",
    "quic_client_test_timeout_no_sleep",
    "quic_client_test_timeout_no_sleep_validation",
    "quic_client_test_deadconnection",
    "quic_client_test_deadconnection_no_sleep",
    "quic_client_test_deadconnection_no_sleep_validation",
    "quic_client_test_deadconnection_signal",
    "quic_client_test_loss_recovery",
    "quic_client_test_congestion_control",
];

/// MiniP ping tests (the protocol the original's Ivy stack also ships).
pub const MINIP_TESTS: &[&str] = &["ping_server_test", "ping_client_test"];

/// The role Ivy plays in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IvyRole {
    Client,
    Server,
}

/// The role Ivy plays for `test`, from its name (PANTHER picks the test directory the same
/// way): a server test means Ivy is the client.
pub fn ivy_role(test: &str) -> Option<IvyRole> {
    if test.contains("server_test") {
        Some(IvyRole::Client)
    } else if test.contains("client_test") {
        Some(IvyRole::Server)
    } else {
        None
    }
}

/// `quic` or `minip`, from the catalogue.
pub fn protocol_of(test: &str) -> Option<&'static str> {
    if QUIC_SERVER_TESTS.contains(&test) || QUIC_CLIENT_TESTS.contains(&test) {
        Some("quic")
    } else if MINIP_TESTS.contains(&test) {
        Some("minip")
    } else {
        None
    }
}

/// Every test, for the parameter's choices.
pub fn all_tests() -> Vec<&'static str> {
    QUIC_SERVER_TESTS
        .iter()
        .chain(QUIC_CLIENT_TESTS)
        .chain(MINIP_TESTS)
        .copied()
        .collect()
}

/// Numbers from the version file (`version_configs/quic/rfc9000.yaml`), as the experiment
/// may override them.
#[derive(Debug, Clone, PartialEq)]
pub struct RunParams {
    pub seed: i64,
    pub the_cid: i64,
    pub server_cid: i64,
    pub iversion: i64,
    pub server_port: i64,
    pub client_port: i64,
    pub client_port_alt: i64,
}

impl Default for RunParams {
    fn default() -> Self {
        RunParams {
            seed: 0,
            the_cid: 1,
            server_cid: 10,
            iversion: 1,
            server_port: 4443,
            client_port: 4997,
            client_port_alt: 4444,
        }
    }
}

/// The tester's `key=value` arguments (templates: addresses are late-bound placeholders).
///
/// Ivy as client (a server test) gets PANTHER's `server_command.jinja` form with both
/// addresses; Ivy as server gets `client_command.jinja`'s shorter form, `server_addr` being
/// its own address. MiniP uses its own shorter forms, with ports bound by the host.
pub fn run_args(test: &str, p: &RunParams) -> Option<Vec<String>> {
    let role = ivy_role(test)?;
    let proto = protocol_of(test)?;
    let kv = |k: &str, v: String| format!("{k}={v}");
    let mut a = vec![kv("seed", p.seed.to_string())];
    match (proto, role) {
        // The IUT server's port is the one the host gave it (a free port on localhost).
        ("quic", IvyRole::Client) => a.extend([
            kv("the_cid", p.the_cid.to_string()),
            kv("server_port", "{{target.port}}".into()),
            kv("iversion", p.iversion.to_string()),
            kv("server_addr", "{{target.ip_decimal}}".into()),
            kv("server_cid", p.server_cid.to_string()),
            kv("client_port", "{{ports.ivy}}".into()),
            kv("client_port_alt", p.client_port_alt.to_string()),
            kv("client_addr", "{{self.ip_decimal}}".into()),
        ]),
        // Ivy's own port is the plan's `ivy` port (`server_port`, 4443 by default).
        ("quic", IvyRole::Server) => a.extend([
            kv("the_cid", p.the_cid.to_string()),
            kv("server_port", "{{ports.ivy}}".into()),
            kv("iversion", p.iversion.to_string()),
            kv("server_addr", "{{self.ip_decimal}}".into()),
        ]),
        // MiniP ports are late-bound: the IUT server's port may be allocated by the host
        // (localhost), and Ivy's own is the plan's `ivy` port.
        (_, IvyRole::Client) => a.extend([
            kv("server_port", "{{target.port}}".into()),
            kv("server_addr", "{{target.ip_decimal}}".into()),
            kv("client_port", "{{ports.ivy}}".into()),
            kv("client_addr", "{{self.ip_decimal}}".into()),
        ]),
        (_, IvyRole::Server) => a.extend([
            kv("server_port", "{{ports.ivy}}".into()),
            kv("server_addr", "{{self.ip_decimal}}".into()),
        ]),
    }
    Some(a)
}

/// The `ivyc` command line PANTHER uses (`target=test test_iters=N`).
pub fn ivyc_args(test: &str, test_iters: i64) -> Vec<String> {
    vec![
        "show_compiled=false".into(),
        "trace=false".into(),
        "target=test".into(),
        format!("test_iters={test_iters}"),
        format!("{test}.ivy"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_is_inverted_from_the_test_name() {
        assert_eq!(ivy_role("quic_server_test_stream"), Some(IvyRole::Client));
        assert_eq!(ivy_role("quic_client_test_max"), Some(IvyRole::Server));
        assert_eq!(ivy_role("ping_client_test"), Some(IvyRole::Server));
        assert_eq!(ivy_role("nonsense"), None);
    }

    #[test]
    fn server_test_arguments_match_panthers_server_command_template() {
        let a = run_args("quic_server_test_stream", &RunParams::default()).unwrap();
        assert_eq!(
            a.join(" "),
            "seed=0 the_cid=1 server_port={{target.port}} iversion=1 server_addr={{target.ip_decimal}} server_cid=10 \
             client_port={{ports.ivy}} client_port_alt=4444 client_addr={{self.ip_decimal}}"
        );
    }

    #[test]
    fn client_test_arguments_match_panthers_client_command_template() {
        let a = run_args("quic_client_test_max", &RunParams::default()).unwrap();
        assert_eq!(
            a.join(" "),
            "seed=0 the_cid=1 server_port={{ports.ivy}} iversion=1 server_addr={{self.ip_decimal}}"
        );
    }

    #[test]
    fn minip_arguments_match_panthers_templates_with_late_bound_ports() {
        let a = run_args("ping_server_test", &RunParams::default()).unwrap();
        assert_eq!(
            a.join(" "),
            "seed=0 server_port={{target.port}} server_addr={{target.ip_decimal}} \
             client_port={{ports.ivy}} client_addr={{self.ip_decimal}}"
        );
        let a = run_args("ping_client_test", &RunParams::default()).unwrap();
        assert_eq!(
            a.join(" "),
            "seed=0 server_port={{ports.ivy}} server_addr={{self.ip_decimal}}"
        );
    }

    #[test]
    fn catalogue_sizes_match_the_original() {
        assert_eq!(QUIC_SERVER_TESTS.len(), 58);
        assert_eq!(QUIC_CLIENT_TESTS.len(), 48);
        assert!(all_tests()
            .iter()
            .all(|t| ivy_role(t).is_some() && protocol_of(t).is_some()));
        assert_eq!(
            ivyc_args("x", 100).join(" "),
            "show_compiled=false trace=false target=test test_iters=100 x.ivy"
        );
    }
}
