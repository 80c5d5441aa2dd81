//! `network = { ..., link = { ... } }`: the link emulator's keys, read with their spans so a
//! value the link cannot have (loss 150 %, bandwidth 0) is an error at file:line:col.

use super::*;
use crate::link::spec::{
    Blackhole, Directions, GilbertElliott, LinkSpec, Rebind, RebindKind, MAX_DELAY, MAX_QUEUE, SCENARIOS,
};

pub(crate) const LINK_KEYS: &[&str] = &[
    "scenario",
    "delay",
    "jitter",
    "reorder",
    "bandwidth",
    "queue",
    "loss",
    "loss_to_server",
    "loss_to_client",
    "burst",
    "gilbert",
    "corrupt",
    "corrupt_to_server",
    "corrupt_to_client",
    "duplicate",
    "drops_to_server",
    "drops_to_client",
    "blackhole",
    "rebind",
];
const GILBERT_KEYS: &[&str] = &["p", "r", "bad_loss", "good_loss"];
const BLACKHOLE_KEYS: &[&str] = &["on", "off", "repeat", "direction"];
const REBIND_KEYS: &[&str] = &["kind", "first", "freq"];

impl Cx<'_> {
    /// The `link` value of a network table: a scenario name or a table of keys.
    pub(super) fn link(&mut self, v: &Val, at: Span) -> Option<LinkSpec> {
        if let DeValue::String(name) = v.get_ref() {
            return self.scenario(name, v.span().into());
        }
        let o = self.obj(v, at, "`link`", LINK_KEYS)?;
        let mut spec = match self.string(&o, "scenario") {
            Some((name, span)) => self.scenario(&name, span)?,
            None => LinkSpec::default(),
        };
        if let Some(d) = self.link_duration(&o, "delay") {
            spec.delay = d;
        }
        if let Some(d) = self.link_duration(&o, "jitter") {
            spec.jitter = d;
        }
        if let Some(b) = self.boolean(&o, "reorder") {
            spec.reorder = b;
        }
        if let Some(v) = o.get("bandwidth") {
            spec.bandwidth = self.rate(v, "bandwidth");
        }
        if let Some(q) = self.whole(&o, "queue", 1, u64::from(MAX_QUEUE), None) {
            spec.queue = q as u32;
        }
        for (key, d) in [("loss", None), ("loss_to_server", Some(0)), ("loss_to_client", Some(1))] {
            self.per_direction(&o, key, d, &mut spec.loss);
        }
        for (key, d) in [("corrupt", None), ("corrupt_to_server", Some(0)), ("corrupt_to_client", Some(1))] {
            self.per_direction(&o, key, d, &mut spec.corrupt);
        }
        if let Some(b) = self.whole(&o, "burst", 0, 1_000_000, None) {
            spec.burst = b as u32;
        }
        if let Some(v) = o.get("duplicate") {
            spec.duplicate = self.fraction(v, "duplicate")?;
        }
        for (key, d) in [("drops_to_server", 0), ("drops_to_client", 1)] {
            if let Some(list) = self.droplist(&o, key) {
                spec.drops[d] = list;
            }
        }
        if let Some(v) = o.get("gilbert") {
            spec.gilbert = self.gilbert(v, o.key_span("gilbert"));
        }
        if let Some(v) = o.get("blackhole") {
            spec.blackhole = self.blackhole(v, o.key_span("blackhole"), spec.blackhole);
        }
        if let Some(v) = o.get("rebind") {
            spec.rebind = self.rebind(v, o.key_span("rebind"), spec.rebind);
        }
        if spec.jitter > spec.delay && !spec.jitter.is_zero() {
            let span = o.get("jitter").map(|v| Span::from(v.span())).unwrap_or(at);
            let p = self
                .at(
                    "invalid_value",
                    span,
                    "more than the delay",
                    "invalid value for `jitter`: it is larger than `delay`",
                )
                .help("a packet's delay is `delay ± jitter` and cannot be negative; raise `delay` or lower `jitter`");
            self.push(p);
        }
        Some(spec)
    }

    fn scenario(&mut self, name: &str, span: Span) -> Option<LinkSpec> {
        let s = LinkSpec::scenario(name);
        if s.is_none() {
            self.push(self.one_of(span, "scenario", name, SCENARIOS));
        }
        s
    }

    fn link_duration(&mut self, o: &Obj, key: &str) -> Option<Duration> {
        let v = o.get(key)?;
        if let DeValue::String(s) = v.get_ref() {
            if s.trim_start().starts_with('-') {
                let p = self
                    .at(
                        "invalid_value",
                        v.span().into(),
                        "negative",
                        format!("invalid value for `{key}`: a link cannot have a negative {key}"),
                    )
                    .help(format!("write zero or more, for example `{key} = \"15ms\"`"));
                self.push(p);
                return None;
            }
        }
        let d = self.duration(o, key, true)?;
        if d > MAX_DELAY {
            let p = self
                .at(
                    "invalid_value",
                    v.span().into(),
                    "over a minute",
                    format!("invalid value for `{key}`: more than 60s"),
                )
                .help("the runner's longest link delay is 750ms (`longrtt`); a minute is the limit here");
            self.push(p);
            return None;
        }
        Some(d)
    }

    /// A probability: `"2%"`, or a fraction from 0 to 1.
    fn fraction(&mut self, v: &Val, key: &str) -> Option<f64> {
        let (value, shown) = match v.get_ref() {
            DeValue::String(s) => {
                let t = s.trim();
                let Some(num) = t.strip_suffix('%') else {
                    let p = self
                        .at(
                            "invalid_value",
                            v.span().into(),
                            "not a percentage",
                            format!("invalid value for `{key}`: `{t}` is not a percentage"),
                        )
                        .help(format!(
                            "write a percentage such as `{key} = \"2%\"`, or a fraction such as `{key} = 0.02`"
                        ));
                    self.push(p);
                    return None;
                };
                match num.trim().parse::<f64>() {
                    Ok(n) if n.is_finite() => (n / 100.0, t.to_string()),
                    _ => {
                        let p = self
                            .at(
                                "invalid_value",
                                v.span().into(),
                                "not a number",
                                format!("invalid value for `{key}`: `{num}` is not a number"),
                            )
                            .help(format!("write, for example, `{key} = \"2%\"`"));
                        self.push(p);
                        return None;
                    }
                }
            }
            DeValue::Float(_) | DeValue::Integer(_) => {
                let text = self.src.text[v.span()].trim().replace('_', "");
                let n: f64 = text.parse().unwrap_or(f64::NAN);
                (n, text)
            }
            _ => {
                self.type_error(v, key, "a percentage", "\"2%\"");
                return None;
            }
        };
        if !(0.0..=1.0).contains(&value) {
            let help = if matches!(v.get_ref(), DeValue::String(_)) {
                format!("a probability is 0% to 100%; write, for example, `{key} = \"2%\"`")
            } else {
                format!("a bare number is a fraction from 0 to 1; write `{key} = \"{shown}%\"` for a percentage")
            };
            let p = self
                .at(
                    "invalid_value",
                    v.span().into(),
                    "not between 0% and 100%",
                    format!("invalid value for `{key}`: {shown} is not a probability"),
                )
                .help(help);
            self.push(p);
            return None;
        }
        Some(value)
    }

    /// `loss = "2%"` sets both directions; `loss_to_server` one.
    fn per_direction(&mut self, o: &Obj, key: &str, dir: Option<usize>, into: &mut [f64; 2]) {
        let Some(v) = o.get(key) else { return };
        if let Some(f) = self.fraction(v, key) {
            match dir {
                Some(d) => into[d] = f,
                None => *into = [f; 2],
            }
        }
    }

    /// `"10Mbps"`, `"1Gbit/s"`, `"500kbps"`, `"64000bps"`: bits per second, more than zero.
    fn rate(&mut self, v: &Val, key: &str) -> Option<u64> {
        let DeValue::String(s) = v.get_ref() else {
            self.type_error(v, key, "a rate", "\"10Mbps\"");
            return None;
        };
        match crate::config::units::parse_rate(s) {
            Ok(0) => {
                let p = self
                    .at(
                        "invalid_value",
                        v.span().into(),
                        "zero",
                        format!("invalid value for `{key}`: a link with no bandwidth carries nothing"),
                    )
                    .help(format!(
                        "write a rate such as `{key} = \"10Mbps\"`, or remove `{key}` for an unlimited link"
                    ));
                self.push(p);
                None
            }
            Ok(r) => Some(r),
            Err(e) => {
                let p = self
                    .at("invalid_value", v.span().into(), "not a rate", format!("invalid value for `{key}`: {e}"))
                    .help(format!("write, for example, `{key} = \"10Mbps\"` (units: bps, kbps, Mbps, Gbps)"));
                self.push(p);
                None
            }
        }
    }

    /// 1-based packet indices, ascending or not, each at least 1.
    fn droplist(&mut self, o: &Obj, key: &str) -> Option<Vec<u64>> {
        let v = o.get(key)?;
        let DeValue::Array(items) = v.get_ref() else {
            self.type_error(v, key, "an array of packet numbers", "[2, 3, 4]");
            return None;
        };
        let mut out = vec![];
        for item in items.iter() {
            match item.get_ref() {
                DeValue::Integer(i) => {
                    let n = i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).unwrap_or(0);
                    if n < 1 {
                        let p = self
                            .at(
                                "invalid_value",
                                item.span().into(),
                                "packets count from 1",
                                format!("invalid value in `{key}`: {n}; the first packet is 1"),
                            )
                            .help("list 1-based packet numbers, as quic-network-simulator's droplist does");
                        self.push(p);
                    } else {
                        out.push(n as u64);
                    }
                }
                _ => self.type_error(item, key, "a packet number", "[2, 3, 4]"),
            }
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }

    fn gilbert(&mut self, v: &Val, at: Span) -> Option<GilbertElliott> {
        let o = self.obj(v, at, "`gilbert`", GILBERT_KEYS)?;
        let get = |cx: &mut Self, key: &str, default: Option<f64>| match o.get(key) {
            Some(v) => cx.fraction(v, key),
            None if default.is_some() => default,
            None => {
                cx.missing(&o, key, "\"5%\"");
                None
            }
        };
        let p = get(self, "p", None);
        let r = get(self, "r", None);
        let bad_loss = get(self, "bad_loss", Some(1.0));
        let good_loss = get(self, "good_loss", Some(0.0));
        Some(GilbertElliott { p: p?, r: r?, bad_loss: bad_loss?, good_loss: good_loss? })
    }

    fn blackhole(&mut self, v: &Val, at: Span, base: Option<Blackhole>) -> Option<Blackhole> {
        let o = self.obj(v, at, "`blackhole`", BLACKHOLE_KEYS)?;
        let mut b = base.unwrap_or(Blackhole {
            on: Duration::from_secs(5),
            off: Duration::from_secs(2),
            repeat: 0,
            directions: Directions::Both,
        });
        if let Some(d) = self.duration(&o, "on", true) {
            b.on = d;
        }
        if let Some(d) = self.duration(&o, "off", false) {
            b.off = d;
        }
        if let Some(n) = self.whole(&o, "repeat", 0, 1_000_000, None) {
            b.repeat = n as u32;
        }
        if let Some((d, span)) = self.string(&o, "direction") {
            match Directions::parse(&d) {
                Some(x) => b.directions = x,
                None => self.push(self.one_of(span, "direction", &d, Directions::NAMES)),
            }
        }
        Some(b)
    }

    fn rebind(&mut self, v: &Val, at: Span, base: Option<Rebind>) -> Option<Rebind> {
        let o = self.obj(v, at, "`rebind`", REBIND_KEYS)?;
        let mut r = base.unwrap_or(Rebind {
            kind: RebindKind::Port,
            first: Duration::from_secs(1),
            every: Duration::from_secs(5),
        });
        if let Some((k, span)) = self.string(&o, "kind") {
            match k.as_str() {
                "port" => r.kind = RebindKind::Port,
                "address" => r.kind = RebindKind::Address,
                _ => self.push(self.one_of(span, "kind", &k, &["port", "address"])),
            }
        }
        if let Some(d) = self.duration(&o, "first", false) {
            r.first = d;
        }
        if let Some(d) = self.duration(&o, "freq", false) {
            r.every = d;
        }
        Some(r)
    }
}
