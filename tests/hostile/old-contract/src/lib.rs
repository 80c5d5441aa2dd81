//! A plugin built against a contract version this host does not speak (panther:plugin@0.0.3).
wit_bindgen::generate!({
    inline: r#"
        package panther:plugin@0.0.3;
        interface service { describe: func() -> string; }
        world service-plugin { export service; }
    "#,
    world: "service-plugin",
});

struct Old;

impl exports::panther::plugin::service::Guest for Old {
    fn describe() -> String {
        "hostile-old-contract".into()
    }
}

export!(Old);
