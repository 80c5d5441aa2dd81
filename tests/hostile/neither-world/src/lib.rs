//! A well-formed component that exports neither panther world.
wit_bindgen::generate!({
    inline: r#"
        package other:thing;
        interface calc { add: func(a: u32, b: u32) -> u32; }
        world calculator { export calc; }
    "#,
    world: "calculator",
});

struct Calc;

impl exports::other::thing::calc::Guest for Calc {
    fn add(a: u32, b: u32) -> u32 {
        a.wrapping_add(b)
    }
}

export!(Calc);
