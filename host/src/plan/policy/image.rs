//! Image build specs: local names and bases (no registry), Debian package names, pinned
//! https sources, build steps and build args. Bases are also judged across an experiment's
//! plans, since "another plan's image" is only known once every plan is in.

use std::collections::BTreeSet;

use super::argv::{is_env_name, is_loader_env, NO_DANGEROUS_ENV};
use super::checker::{is_plain_name, shorten, Checker, BOUNDED_SIZES, MAX_NAME_BYTES, MAX_PATH_BYTES, VALID_NAMES};
use super::rules::Rule;
use super::{Policy, PolicyViolation, Violations};
use crate::plugin::types::{ImageSpec, ServicePlan};

pub const LOCAL_IMAGES: Rule = Rule {
    name: "local-images",
    docs: "### What it checks\nImage names are plain local names (lower-case letters, digits, `.`, `_`, `-`; no registry host, no `/`, no tag, no digest). With `local_images_only` (strict) the base is `panther-base:TAG` or the name of an image another plan of the same experiment builds. Packages are Debian package names (no leading `-`, so no apt option can be smuggled in), source URLs are `https://` without credentials, and `rev` is not empty; with `pinned_sources` (strict) it is a full commit id.\n\n### Why\nA registry reference pulls code nobody reviewed into the test (and, on a machine without a registry, fails late and confusingly). Strict CI builds every image from the local base it made itself.\n\n### Example\n`base = \"docker.io/evil/root:latest\"` and `packages = [\"-oAPT::Get::AllowUnauthenticated=1\"]` are refused.",
};

impl Checker<'_> {
    pub(super) fn image(&mut self, img: &ImageSpec) {
        self.text("image.name", &img.name, MAX_NAME_BYTES);
        if !img.name.contains('\0') && (!is_plain_name(&img.name) || img.name.chars().any(|c| c.is_ascii_uppercase())) {
            self.violate("image.name", &LOCAL_IMAGES, format!("`{}` is not a local image name (lower-case letters, digits, `.`, `_`, `-`; no registry, tag or digest)", shorten(&img.name)));
        }
        self.text("image.base", &img.base, MAX_NAME_BYTES);
        if !img.base.contains('\0') {
            if let Some(why) = registry_ref(&img.base) {
                self.violate(
                    "image.base",
                    &LOCAL_IMAGES,
                    format!("`{}` {why}; build on `panther-base:bookworm` or another plan's image", shorten(&img.base)),
                );
            } else if self.policy.local_images_only && img.base.contains(':') && !img.base.starts_with("panther-base:")
            {
                self.violate("image.base", &LOCAL_IMAGES, format!("`{}` is a tagged image the host did not build; use `panther-base:TAG` or another plan's image name", shorten(&img.base)));
            }
        }
        if img.packages.len() > self.policy.max_args {
            self.violate(
                "image.packages",
                &BOUNDED_SIZES,
                format!("{} packages, more than {}", img.packages.len(), self.policy.max_args),
            );
        }
        for (i, p) in img.packages.iter().enumerate() {
            let f = format!("image.packages[{i}]");
            self.text(&f, p, MAX_NAME_BYTES);
            let ok = p.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.:=~_".contains(c));
            if !p.contains('\0') && !ok {
                self.violate(
                    &f,
                    &LOCAL_IMAGES,
                    format!(
                        "`{}` is not a Debian package name (an apt option or path would be read as one)",
                        shorten(p)
                    ),
                );
            }
        }
        for (i, s) in img.sources.iter().enumerate() {
            let at = format!("image.sources[{i}]");
            self.name(&format!("{at}.name"), &s.name, "source name");
            self.text(&format!("{at}.url"), &s.url, MAX_PATH_BYTES);
            let url_ok = s.url.strip_prefix("https://").is_some_and(|rest| {
                let host = rest.split('/').next().unwrap_or("");
                !host.is_empty() && !host.contains('@') && rest.chars().all(|c| c.is_ascii_graphic())
            });
            if !url_ok {
                self.violate(
                    format!("{at}.url"),
                    &LOCAL_IMAGES,
                    format!("`{}` is not an https URL without credentials", shorten(&s.url)),
                );
            }
            self.text(&format!("{at}.rev"), &s.rev, MAX_NAME_BYTES);
            if s.rev.is_empty() || s.rev.starts_with('-') || s.rev.chars().any(|c| c.is_whitespace()) {
                self.violate(
                    format!("{at}.rev"),
                    &LOCAL_IMAGES,
                    format!("`{}` is not a commit or tag", shorten(&s.rev)),
                );
            } else if self.policy.pinned_sources && !crate::exec::sources::is_full_commit(&s.rev) {
                self.violate(
                    format!("{at}.rev"),
                    &LOCAL_IMAGES,
                    format!(
                        "`{}` is not a full commit id; this policy pins sources to commits (a tag can move)",
                        shorten(&s.rev)
                    ),
                );
            }
            self.image_path(&format!("{at}.dest"), &s.dest);
        }
        if img.steps.len() > self.policy.max_commands {
            self.violate(
                "image.steps",
                &BOUNDED_SIZES,
                format!("{} build steps, more than {}", img.steps.len(), self.policy.max_commands),
            );
        }
        for (i, s) in img.steps.iter().enumerate() {
            let at = format!("image.steps[{i}]");
            self.argv(&at, &s.argv);
            self.env(&format!("{at}.env"), &s.env);
            if let Some(w) = &s.workdir {
                self.image_path(&format!("{at}.workdir"), w);
            }
        }
        for (k, v) in &img.build_args {
            let f = format!("image.build-args.{}", shorten(k));
            self.text(&f, k, MAX_NAME_BYTES);
            self.text(&f, v, self.policy.max_env_bytes);
            if !k.contains('\0') && !is_env_name(k) {
                self.violate(&f, &VALID_NAMES, format!("`{}` is not a valid build-arg name", shorten(k)));
            }
            if is_loader_env(k) {
                self.violate(&f, &NO_DANGEROUS_ENV, format!("`{k}` changes what programs load or run"));
            }
        }
        if let Some(w) = &img.workdir {
            self.image_path("image.workdir", w);
        }
    }
}

/// Why an image reference would reach a registry, if it would.
fn registry_ref(r: &str) -> Option<&'static str> {
    if r.is_empty() {
        return Some("is empty");
    }
    if r.contains('@') {
        return Some("is a digest reference (pulled from a registry)");
    }
    if r.contains('/') {
        return Some("names a registry or repository path");
    }
    let (name, tag) = r.split_once(':').unwrap_or((r, ""));
    if !is_plain_name(name) || name.chars().any(|c| c.is_ascii_uppercase()) || (r.contains(':') && !is_plain_name(tag))
    {
        return Some("is not a local image reference");
    }
    None
}

/// [`Policy::check_image_bases`]: kept beside [`LOCAL_IMAGES`], the one rule it applies.
pub(super) fn check_image_bases(policy: &Policy, plans: &[(&str, &ServicePlan)]) -> Result<(), Vec<Violations>> {
    if !policy.local_images_only {
        return Ok(());
    }
    let built: BTreeSet<&str> = plans.iter().filter_map(|(_, p)| p.image.as_ref().map(|i| i.name.as_str())).collect();
    let mut out = vec![];
    for (plugin, plan) in plans {
        let Some(img) = &plan.image else { continue };
        let own = img.base == img.name;
        // A registry reference is already refused by `check`, with its own reason.
        if registry_ref(&img.base).is_some()
            || img.base.starts_with("panther-base:")
            || (!own && built.contains(img.base.as_str()))
        {
            continue;
        }
        out.push(Violations {
            plugin: plugin.to_string(),
            policy: policy.name.clone(),
            violations: vec![PolicyViolation {
                plugin: plugin.to_string(),
                field: "image.base".into(),
                rule: LOCAL_IMAGES.name,
                message: format!(
                    "`{}` is neither `panther-base:TAG` nor an image another plan of this experiment builds ({})",
                    shorten(&img.base),
                    if built.is_empty() {
                        "none".to_string()
                    } else {
                        built.iter().copied().collect::<Vec<_>>().join(", ")
                    }
                ),
            }],
        });
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::policy::tests::{check, cmd, ctx, image, plan};
    use crate::plan::policy::Policy;
    use crate::plugin::types::{ImageSpec, SourceRef};

    // It rejects registry references and digests, and tagged foreign bases under strict.
    #[test]
    fn registry_bases() {
        for base in ["docker.io/library/debian:12", "ghcr.io/x/y", "debian@sha256:abcd", "localhost:5000/x"] {
            let mut p = plan(vec![cmd(&["x"])]);
            p.image = Some(image(base));
            assert_eq!(check(&Policy::default(), &p), ["local-images"], "{base}");
        }
        let mut p = plan(vec![cmd(&["x"])]);
        p.image = Some(image("debian:bookworm"));
        assert_eq!(check(&Policy::default(), &p), Vec::<&str>::new());
        assert_eq!(check(&Policy::strict(), &p), ["local-images"]);
    }

    // It rejects apt options smuggled in as package names, and insecure source URLs.
    #[test]
    fn packages_and_sources() {
        let mut p = plan(vec![cmd(&["x"])]);
        let mut img = image("panther-base:bookworm");
        img.packages = vec!["-oAPT::Get::AllowUnauthenticated=1".into(), "libssl-dev".into()];
        img.sources = vec![SourceRef {
            name: "q".into(),
            url: "http://user:pw@example.com/x.git".into(),
            rev: "v1".into(),
            dest: "/src/q".into(),
        }];
        p.image = Some(img);
        let v = Policy::strict().check("t", &p, &ctx()).unwrap_err();
        let fields: Vec<_> = v.violations.iter().map(|v| (v.field.as_str(), v.rule)).collect();
        // Strict also pins sources to full commits: a tag (`v1`) can be moved.
        assert_eq!(
            fields,
            [
                ("image.packages[0]", "local-images"),
                ("image.sources[0].url", "local-images"),
                ("image.sources[0].rev", "local-images")
            ]
        );
        let v = Policy::default().check("t", &p, &ctx()).unwrap_err();
        assert!(v.violations.iter().all(|v| v.field != "image.sources[0].rev"), "the default policy takes tags");
    }

    // It accepts a base another plan builds, and refuses one nobody builds, under strict.
    #[test]
    fn image_bases_across_plans() {
        let mut ivy = plan(vec![cmd(&["x"])]);
        ivy.image = Some(ImageSpec { name: "ivy".into(), ..image("quic-go") });
        let mut go = plan(vec![cmd(&["x"])]);
        go.image = Some(image("panther-base:bookworm"));
        let mut lone = plan(vec![cmd(&["x"])]);
        lone.image = Some(ImageSpec { name: "lone".into(), ..image("ubuntu") });
        let s = Policy::strict();
        assert!(s.check_image_bases(&[("ivy", &ivy), ("quic-go", &go)]).is_ok());
        let errs = s.check_image_bases(&[("ivy", &ivy), ("quic-go", &go), ("lone", &lone)]).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].plugin, "lone");
        assert!(Policy::default().check_image_bases(&[("lone", &lone)]).is_ok());
    }
}
