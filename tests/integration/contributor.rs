//! The contributor's path of docs/writing-a-check.md, step by step, outside this workspace
//! (issue 14, part 4): `check new` in an empty directory with a `Cargo.toml` of its own, the
//! native unit tests, `check test` against the simulated cloud with `--record`, the same test
//! offline from the transcript, `check build` twice from two paths (the same bytes), a
//! delegation in the root, `bundle build` + `bundle sign` with the contributor's key, and the
//! operator's run of the official bundle and the contributor's side by side.

use crate::common::*;
use std::path::Path;
use std::process::Command;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The real binary in `cwd`, with its own cache and state, the user's cargo home kept (the
/// nested `cargo build` of `check build` needs its registry).
fn cli(cwd: &Path, args: &[&str], clouds: Option<&Path>) -> CliRun {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scs-cert"));
    c.args(args)
        .current_dir(cwd)
        .env("SCS_CERT_CACHE_DIR", cache_dir())
        .env("SCS_CERT_STATE_DIR", cwd.join("state"))
        .env_remove("OS_CLOUD")
        .env_remove("SCS_CERT_CHECKS")
        .env_remove("SCS_CERT_BUNDLE")
        .env_remove("SCS_CERT_KEY_PASSPHRASE")
        .env(
            "OS_CLIENT_CONFIG_FILE",
            clouds.unwrap_or(Path::new("/nonexistent/clouds.yaml")),
        );
    let o = c.output().expect("run scs-cert");
    CliRun {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn ok(r: CliRun, what: &str) -> CliRun {
    assert_eq!(r.code, 0, "{what}:\n{}\n{}", r.stdout, r.stderr);
    r
}

/// `sha256 <hex>` of `check build`'s line.
fn sha_of(r: &CliRun) -> String {
    r.stdout
        .split("sha256 ")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .unwrap_or_else(|| panic!("no sha256 in {}", r.stdout))
        .to_string()
}

#[test]
fn a_contributor_goes_from_an_empty_directory_to_a_bundle_run_beside_the_official_one() {
    const ID: &str = "scs-0199-my-rule";
    const TESTCASE: &str = "scs-0199-flavors-listed";
    let dir = tempdir();
    let d = dir.path();
    let sdk = root().join("checks/sdk");

    // 1. Write: a package of its own, outside any workspace.
    let r = ok(
        cli(d, &["check", "new", ID, "--sdk", s(&sdk)], None),
        "check new",
    );
    assert!(
        r.stdout.contains("wrote scs-0199-my-rule/Cargo.toml"),
        "{}",
        r.stdout
    );
    let pkg = d.join(ID);
    let lines_written = ["Cargo.toml", "check.json", "src/lib.rs"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(pkg.join(f))
                .unwrap_or_else(|e| panic!("{f}: {e}"))
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count()
        })
        .sum::<usize>();
    eprintln!("contributor: the generated package has {lines_written} non-empty lines");

    // 2. Unit tests, natively (what a contributor runs first).
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let unit = Command::new(&cargo)
        .args(["test", "--quiet"])
        .current_dir(&pkg)
        .env_remove("RUSTFLAGS")
        .env("CARGO_TARGET_DIR", pkg.join("target"))
        .output()
        .expect("cargo test");
    assert!(
        unit.status.success(),
        "{}",
        String::from_utf8_lossy(&unit.stderr)
    );

    // 3. Test against the simulated cloud, recording a transcript.
    let cloud = start_cloud("compliant");
    let clouds = write_clouds(d, &cloud, "simcloud", &Credential::FirstUser);
    let transcript = d.join("transcript");
    let r = ok(
        cli(
            d,
            &[
                "check",
                "test",
                ID,
                "--os-cloud",
                "simcloud",
                "--record",
                s(&transcript),
                "--",
                "-o",
                s(&d.join("dev.yaml")),
            ],
            Some(&clouds),
        ),
        "check test live",
    );
    assert!(r.stdout.contains("main: PASS (1 passed)"), "{}", r.stdout);
    let built = r
        .stderr
        .lines()
        .find(|l| l.starts_with("scs-cert: built "))
        .unwrap_or_else(|| panic!("{}", r.stderr))
        .to_string();
    assert!(built.contains(ID), "{built}");

    // 4. The same test offline, from the transcript (the cloud is gone).
    drop(cloud);
    let r = ok(
        cli(
            d,
            &["check", "test", ID, "--transcript", s(&transcript)],
            None,
        ),
        "check test replay",
    );
    assert!(r.stdout.contains("main: PASS (1 passed)"), "{}", r.stdout);

    // 5. Build reproducibly: a copy of the package elsewhere gives the same bytes.
    let first = ok(cli(d, &["check", "build", ID], None), "check build");
    let copy = d.join("elsewhere").join(ID);
    std::fs::create_dir_all(copy.join("src")).expect("mkdir copy");
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "check.json",
        "scope.yaml",
        "src/lib.rs",
    ] {
        std::fs::copy(pkg.join(f), copy.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    let second = ok(
        cli(d, &["check", "build", s(&copy)], None),
        "check build copy",
    );
    assert_eq!(sha_of(&first), sha_of(&second), "same source, same bytes");

    // 6. The delegation: the root owner delegates scs-0199- (read-only) to the contributor.
    for k in ["owner", "contrib"] {
        ok(
            cli(
                d,
                &["key", "generate", "--out", s(&d.join(k)), "--no-passphrase"],
                None,
            ),
            "key generate",
        );
    }
    let root_json = d.join("root.json");
    let delegate = format!(
        "name=my-rule,prefix=scs-0199-,key={},cap=openstack:*:read",
        s(&d.join("contrib.pub"))
    );
    ok(
        cli(
            d,
            &[
                "trust",
                "init",
                "--root-key",
                s(&d.join("owner.pub")),
                "--bundle-key",
                s(&d.join("owner.pub")),
                "--delegate",
                &delegate,
                "--sign",
                s(&d.join("owner")),
                "--out",
                s(&root_json),
            ],
            None,
        ),
        "trust init",
    );

    // 7. The official bundle (the root owner's) and the contributor's, each signed.
    let official = d.join("official.scsb");
    let official_checks = checks_with(&d.join("official"), &["scs-0100-flavor-naming"]);
    ok(
        cli(
            d,
            &[
                "bundle",
                "build",
                "--checks",
                s(&official_checks),
                "--scope",
                s(&root().join("scopes/scs-compatible-iaas.yaml")),
                "--trust",
                s(&root_json),
                "--sequence",
                "1",
                "--expires",
                "2099-01-01",
                "--out",
                s(&official),
            ],
            None,
        ),
        "bundle build official",
    );
    ok(
        cli(
            d,
            &["bundle", "sign", s(&official), "--key", s(&d.join("owner"))],
            None,
        ),
        "bundle sign official",
    );
    let contribution = d.join("my-rule.scsb");
    ok(
        cli(
            d,
            &[
                "bundle",
                "build",
                "--checks",
                s(&pkg.join("target/scs-check")),
                "--name",
                ID,
                "--sequence",
                "1",
                "--expires",
                "2099-01-01",
                "--out",
                s(&contribution),
            ],
            None,
        ),
        "bundle build contribution",
    );
    ok(
        cli(
            d,
            &[
                "bundle",
                "sign",
                s(&contribution),
                "--key",
                s(&d.join("contrib")),
            ],
            None,
        ),
        "bundle sign contribution",
    );

    // 8. The operator runs both against the cloud, with a scope that selects a testcase of
    // each (the contributed standard is in no official scope yet).
    let cloud = start_cloud("compliant");
    let clouds = write_clouds(d, &cloud, "simcloud", &Credential::FirstUser);
    let scope = d.join("operator-scope.yaml");
    let dev_scope = std::fs::read_to_string(pkg.join("scope.yaml")).expect("scope");
    std::fs::write(
        &scope,
        dev_scope
            .replace(
                "      - id: scs-0199-flavors-listed\n",
                "      - id: scs-0100-syntax-check\n      - id: scs-0199-flavors-listed\n",
            )
            .replace(
                "main: [scs-0199-flavors-listed]",
                "main: [scs-0100-syntax-check, scs-0199-flavors-listed]",
            ),
    )
    .expect("operator scope");
    let out = d.join("report.yaml");
    ok(
        cli(
            d,
            &[
                "run",
                s(&scope),
                "--os-cloud",
                "simcloud",
                "-s",
                "operator-cloud",
                "--bundle",
                s(&official),
                "--bundle",
                s(&contribution),
                "--root",
                s(&root_json),
                "-o",
                s(&out),
            ],
            Some(&clouds),
        ),
        "operator run",
    );
    let rep = read_report(&out);
    let results = results_of(&rep);
    assert_eq!(
        results.get("scs-0100-syntax-check"),
        Some(&1),
        "{results:?}"
    );
    assert_eq!(results.get(TESTCASE), Some(&1), "{results:?}");
    let p = &rep["run"]["scs_cert"];
    assert_eq!(p["checks_trust"], "signed-bundle");
    assert_eq!(p["contributions"][0]["name"], ID);
    assert_eq!(p["contributions"][0]["authorized_by"], "delegation:my-rule");
}
