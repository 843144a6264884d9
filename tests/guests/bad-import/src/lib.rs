//! Test-only component that imports an interface outside the `scs:check`
//! world (`scs:evil/net`). The host must refuse it at load time, before
//! instantiating anything. Never part of a bundle.

#![allow(unsafe_code)] // generated export glue only

wit_bindgen::generate!({
    inline: r#"
        package scs:evil@0.1.0;
        interface net {
            connect: func(host: string) -> bool;
        }
        world evil {
            import net;
            export run: func(testcases: list<string>, params: list<tuple<string, string>>) -> list<string>;
        }
    "#,
    world: "evil",
});

struct Evil;

impl Guest for Evil {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<String> {
        let reached = scs::evil::net::connect("198.51.100.1:443");
        testcases
            .into_iter()
            .map(|t| format!("{t}: {}", if reached { "PASS" } else { "FAIL" }))
            .collect()
    }
}

export!(Evil);
