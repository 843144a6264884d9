//! The KaaS scope end to end: `version-policy-check` (checks/scs-0210-version-policy) run by
//! the real `scs-cert` binary with the official `scopes/scs-compatible-kaas.yaml` against the
//! simulated API server (`tests/simkube`, HTTPS with a CA made by `openssl` at test time) and a
//! signed data file made at test time with `scs-cert data build` from sources in their real
//! formats (GitHub releases JSON, the CVE feed, CVE JSON 5 records, the EOL YAML) whose dates
//! are relative to the current time, as the check compares them with the host clock.
//!
//! Every verdict of the official script's decision is asserted with its exit code and its log
//! line: PASS, FAIL (a newer patch older than 31 days; a critical CVE and a fix older than 14
//! days; an ended branch), WARNING, ABORT (the `parse_version` quirk, outdated EOL data, no data
//! file, stale data); then record, offline replay and `report reproduce` from a signed bundle,
//! the whole scope with the two Sonobuoy testcases ABORTing without Sonobuoy, and a combined run
//! over two clusters from a runner configuration (`--config`).

use crate::common::{self, CliRun};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

const TOKEN: &str = "kaas-test-token-4c1d";
const CONTEXT: &str = "kaas-sim";
const SCOPE: &str = "scopes/scs-compatible-kaas.yaml";
const TESTCASE: &str = "version-policy-check";

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// A CA and the API server's certificate for 127.0.0.1 in `dir/pki` (see
/// [`crate::common::pki`]).
fn make_pki(dir: &Path) -> PathBuf {
    crate::common::pki::make_pki(&dir.join("pki")).dir
}

// ------------------------------------------------------------------------------------------------
// the sources, in their real formats, with dates relative to now

/// `days` days from now (negative: ago) as GitHub writes `published_at`.
fn github_time(days_ago: f64) -> String {
    let t = chrono::Utc::now() - chrono::Duration::seconds((days_ago * 86_400.0) as i64);
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `YYYY-MM-DD`, `days` from today (negative: in the past).
fn eol_date(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// One critical-or-not CVE: its id, CVSS 3.1 base score and the `versions` of its Kubernetes
/// `affected` entry.
struct Cve {
    id: &'static str,
    score: f64,
    versions: Value,
}

/// What the Internet says: the EOL table (branch, end of life in days from today), the GitHub
/// releases newest first (tag, published days ago, prerelease) and the CVEs.
struct World {
    eol: Vec<(&'static str, i64)>,
    releases: Vec<(&'static str, f64, bool)>,
    cves: Vec<Cve>,
}

/// The usual EOL table: 1.35, 1.34 and 1.33 supported, 1.32 ended ten days ago.
fn eol_table() -> Vec<(&'static str, i64)> {
    vec![
        ("1.35", 300),
        ("1.34", 200),
        ("1.33", 100),
        ("1.32", -10),
        ("1.31", -130),
    ]
}

/// Three supported branches; on 1.33 the newest patch 1.33.6 is 10 days old and 1.33.5 40
/// days; 1.32 (ended) has its newest patch 1.32.9; a pre-release of 1.33 40 days old and a
/// draft never count. A critical CVE covers only 1.31, a non-critical one 1.33.4.
fn world_a() -> World {
    World {
        eol: eol_table(),
        releases: vec![
            ("v1.35.1", 2.0, false),
            ("v1.34.3", 2.0, false),
            ("v1.36.0-rc.0", 5.0, true),
            ("v1.33.6", 10.0, false),
            ("v1.33.7-rc.0", 40.0, true),
            ("v1.35.0", 40.0, false),
            ("v1.34.2", 40.0, false),
            ("v1.33.5", 40.0, false),
            ("v1.32.9", 45.0, false),
            ("v1.33.4", 70.0, false),
            ("v1.32.8", 70.0, false),
        ],
        cves: vec![
            Cve {
                id: "CVE-2099-2001",
                score: 9.8,
                versions: json!([{"version": "1.31.0", "status": "affected",
                    "lessThanOrEqual": "1.31.9", "versionType": "semver"}]),
            },
            Cve {
                id: "CVE-2099-2002",
                score: 5.3,
                versions: json!([{"version": "1.33.4", "status": "affected",
                    "versionType": "semver"}]),
            },
        ],
    }
}

/// The cluster's 1.34.2 lies in a CVE range of base score `score`; the fix 1.34.3 is
/// `fix_days` old.
fn world_cve(score: f64, fix_days: f64) -> World {
    World {
        eol: eol_table(),
        releases: vec![
            ("v1.35.1", 1.0, false),
            ("v1.34.3", fix_days, false),
            ("v1.33.6", 20.0, false),
            ("v1.35.0", 25.0, false),
            ("v1.34.2", 25.0, false),
        ],
        cves: vec![Cve {
            id: "CVE-2099-2101",
            score,
            versions: json!([
                {"version": "1.34.0", "status": "affected", "lessThan": "1.34.3",
                 "versionType": "semver"},
                {"version": "1.34.3", "status": "unaffected", "versionType": "semver"}
            ]),
        }],
    }
}

fn release_json(n: usize, tag: &str, days_ago: f64, prerelease: bool) -> Value {
    let id = 210_000_000 + n;
    let base = "https://api.github.com/repos/kubernetes/kubernetes";
    let at = github_time(days_ago);
    json!({
        "url": format!("{base}/releases/{id}"),
        "assets_url": format!("{base}/releases/{id}/assets"),
        "upload_url": format!("https://uploads.github.com/repos/kubernetes/kubernetes/releases/{id}/assets{{?name,label}}"),
        "html_url": format!("https://github.com/kubernetes/kubernetes/releases/tag/{tag}"),
        "id": id,
        "author": {"login": "k8s-release-robot", "id": 33505452, "type": "User", "site_admin": false},
        "node_id": format!("RE_kwDOAToIks4{id}"),
        "tag_name": tag,
        "target_commitish": "master",
        "name": format!("Kubernetes {tag}"),
        "draft": false,
        "prerelease": prerelease,
        "created_at": at,
        "published_at": at,
        "assets": [],
        "tarball_url": format!("{base}/tarball/{tag}"),
        "zipball_url": format!("{base}/zipball/{tag}"),
        "body": "See kubernetes-announce. Additional binary downloads are linked in the CHANGELOG.",
        "mentions_count": 0
    })
}

fn cve_record(c: &Cve) -> Value {
    let published = format!("{}.000Z", github_time(30.0).trim_end_matches('Z'));
    json!({
        "dataType": "CVE_RECORD",
        "dataVersion": "5.1",
        "cveMetadata": {
            "cveId": c.id,
            "assignerOrgId": "00000000-0000-4000-8000-00000000c0de",
            "assignerShortName": "kubernetes",
            "state": "PUBLISHED",
            "dateReserved": published,
            "datePublished": published,
            "dateUpdated": published
        },
        "containers": {
            "cna": {
                "providerMetadata": {
                    "orgId": "00000000-0000-4000-8000-00000000c0de",
                    "shortName": "kubernetes",
                    "dateUpdated": published
                },
                "title": format!("synthetic test flaw {}", c.id),
                "descriptions": [{"lang": "en", "value": "Synthetic record of the scs-cert KaaS tests."}],
                "affected": [
                    {"vendor": "Kubernetes", "product": "Kubernetes",
                     "repo": "https://github.com/kubernetes/kubernetes",
                     "defaultStatus": "unaffected", "versions": c.versions},
                    {"vendor": "Kubernetes", "product": "kubelet",
                     "defaultStatus": "unaffected",
                     "versions": [{"version": "0.0.0", "status": "affected",
                                   "lessThan": "9.9.9", "versionType": "semver"}]}
                ],
                "metrics": [{
                    "format": "CVSS",
                    "scenarios": [{"lang": "en", "value": "GENERAL"}],
                    "cvssV3_1": {
                        "version": "3.1",
                        "vectorString": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
                        "baseScore": c.score,
                        "baseSeverity": if c.score >= 7.0 { "HIGH" } else { "MEDIUM" }
                    }
                }],
                "problemTypes": [{"descriptions": [{"type": "CWE", "cweId": "CWE-20", "lang": "en",
                    "description": "CWE-20 Improper Input Validation"}]}],
                "references": [{"url": "https://github.com/kubernetes/kubernetes/issues/1"}],
                "source": {"discovery": "EXTERNAL"}
            }
        }
    })
}

/// Write the four sources of `w` into `dir` (releases.json, index.json, records/, eol.yml).
fn write_sources(dir: &Path, w: &World) {
    std::fs::create_dir_all(dir.join("records")).expect("mkdir records");
    let releases: Vec<Value> = w
        .releases
        .iter()
        .enumerate()
        .map(|(i, (tag, days, pre))| release_json(i, tag, *days, *pre))
        .collect();
    std::fs::write(
        dir.join("releases.json"),
        serde_json::to_vec_pretty(&releases).expect("json"),
    )
    .expect("write releases");
    let items: Vec<Value> = w
        .cves
        .iter()
        .map(|c| {
            json!({
                "url": format!("https://www.cve.org/CVERecord?id={}", c.id),
                "id": c.id,
                "authors": [{"url": "https://github.com/kubernetes-security-bot"}],
                "summary": format!("Synthetic test CVE {}", c.id),
                "content_text": "A synthetic issue of the scs-cert KaaS tests.",
                "date_published": github_time(30.0),
                "external_url": "https://github.com/kubernetes/kubernetes/issues/1",
                "_kubernetes_io": {"google_group_url": "https://groups.google.com/g/kubernetes-announce",
                                   "issue_number": 1}
            })
        })
        .collect();
    let feed = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Kubernetes Vulnerability Announcements - CVE Feed",
        "home_page_url": "https://kubernetes.io",
        "feed_url": "https://kubernetes.io/docs/reference/issues-security/official-cve-feed/index.json",
        "description": "Auto-refreshing official CVE feed for Kubernetes repository",
        "authors": [{"name": "Kubernetes Community", "url": "https://www.kubernetes.dev"}],
        "_kubernetes_io": {"feed_refreshed_at": github_time(0.0), "updated_at": github_time(0.0)},
        "items": items
    });
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec_pretty(&feed).expect("json"),
    )
    .expect("write feed");
    for c in &w.cves {
        std::fs::write(
            dir.join("records").join(format!("{}.json", c.id)),
            serde_json::to_vec_pretty(&cve_record(c)).expect("json"),
        )
        .expect("write record");
    }
    let mut yaml = String::from(
        "# https://kubernetes.io/releases/patch-releases/#detailed-release-history-for-active-branches\n\n",
    );
    for (branch, days) in &w.eol {
        yaml.push_str(&format!(
            "- branch: '{branch}'\n  end-of-life: '{}'\n",
            eol_date(*days)
        ));
    }
    std::fs::write(dir.join("eol.yml"), yaml).expect("write eol");
}

// ------------------------------------------------------------------------------------------------
// the site: keys, trust root, PKI, clusters, data files, runs

/// One `scs-cert` run: exit code, console and the report (when written).
struct Outcome {
    cli: CliRun,
    report: Option<Value>,
    report_text: String,
}

impl Outcome {
    fn report(&self) -> &Value {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no report; stderr:\n{}", self.cli.stderr))
    }

    fn logs(&self) -> Vec<String> {
        common::log_lines(self.report())
    }

    fn result(&self) -> Option<i64> {
        common::results_of(self.report()).get(TESTCASE).copied()
    }

    /// The testcase's result, the exit code and one log line exactly `line`.
    fn expect(&self, result: i64, code: i32, line: &str) {
        let logs = self.logs();
        let ctx = format!(
            "exit {}\nstdout:\n{}\nstderr:\n{}\nlogs:\n{}",
            self.cli.code,
            self.cli.stdout,
            self.cli.stderr,
            logs.join("\n")
        );
        assert_eq!(self.result(), Some(result), "{ctx}");
        assert_eq!(self.cli.code, code, "{ctx}");
        assert!(logs.iter().any(|l| l == line), "no line {line:?}\n{ctx}");
    }

    fn has_line(&self, line: &str) -> bool {
        self.logs().iter().any(|l| l == line)
    }
}

/// Keys (`root-key`: root and bundle role, `data-key`: the data role), the trust root and a
/// PKI for the clusters, in one temporary directory.
struct Site {
    dir: tempfile::TempDir,
    pki: PathBuf,
}

impl Site {
    fn new() -> Site {
        let dir = common::tempdir();
        let d = dir.path();
        let site = Site {
            pki: make_pki(d),
            dir,
        };
        for k in ["root-key", "data-key"] {
            site.ok(&["key", "generate", "--out", &site.p(k), "--no-passphrase"]);
        }
        site.ok(&[
            "trust",
            "init",
            "--out",
            &site.p("root.json"),
            "--root-key",
            &site.p("root-key.pub"),
            "--bundle-key",
            &site.p("root-key.pub"),
            "--data-key",
            &site.p("data-key.pub"),
            "--sign",
            &site.p("root-key"),
        ]);
        site
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn p(&self, rel: &str) -> String {
        s(&self.path(rel))
    }

    /// Run the real binary in the site directory (not the repository), with a home of its own,
    /// no KUBECONFIG and no clouds.yaml.
    fn cli_in(&self, cwd: &Path, args: &[&str]) -> CliRun {
        let home = self.path("home");
        std::fs::create_dir_all(&home).expect("home");
        let o = Command::new(env!("CARGO_BIN_EXE_scs-cert"))
            .args(args)
            .current_dir(cwd)
            .env("SCS_CERT_CACHE_DIR", common::cache_dir())
            .env("SCS_CERT_STATE_DIR", self.path("state"))
            .env("HOME", &home)
            .env_remove("KUBECONFIG")
            .env_remove("OS_CLOUD")
            .env_remove("SCS_CERT_CHECKS")
            .env_remove("SCS_CERT_DATA")
            .env_remove("SCS_CERT_KEY_PASSPHRASE")
            .env("OS_CLIENT_CONFIG_FILE", "/nonexistent/clouds.yaml")
            .output()
            .expect("run scs-cert");
        CliRun {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    fn cli(&self, args: &[&str]) -> CliRun {
        self.cli_in(self.dir.path(), args)
    }

    fn ok(&self, args: &[&str]) -> CliRun {
        let r = self.cli(args);
        assert_eq!(r.code, 0, "{args:?}:\n{}\n{}", r.stdout, r.stderr);
        r
    }

    /// A simulated API server reporting `git_version`, accepting the bearer token.
    fn cluster(&self, git_version: &str) -> simkube::BlockingSimKube {
        let fixture = simkube::Fixture {
            git_version: git_version.to_string(),
            tokens: vec![TOKEN.to_string()],
            nodes: vec![],
            namespaces: vec!["default".into(), "kube-system".into()],
            rotation: None,
        };
        let read = |f: &str| std::fs::read(self.pki.join(f)).expect("pki file");
        let tls = simkube::Tls {
            cert_pem: read("server.pem"),
            key_pem: read("server.key"),
            client_ca_pem: None,
        };
        simkube::start_blocking(fixture, &tls).expect("start simkube")
    }

    /// A kubeconfig for `cluster` at `rel` (context `CONTEXT`, the site's CA, the token).
    fn kubeconfig(&self, rel: &str, cluster: &simkube::BlockingSimKube) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(
            &p,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: {CONTEXT}\nclusters:\n- name: sim\n  \
                 cluster:\n    server: '{}'\n    certificate-authority: {}\ncontexts:\n\
                 - name: {CONTEXT}\n  context: {{cluster: sim, user: certifier}}\nusers:\n\
                 - name: certifier\n  user:\n    token: {TOKEN}\n",
                cluster.server.url,
                s(&self.pki.join("ca.pem"))
            ),
        )
        .expect("write kubeconfig");
        p
    }

    /// `data build` from the sources of `w`, generated `hours_ago` hours ago, signed with the
    /// data key; returns the data file.
    fn data(&self, name: &str, w: &World, hours_ago: i64) -> PathBuf {
        let src = self.path(&format!("sources-{name}"));
        write_sources(&src, w);
        let at = scs_cert_host::trust::root::fmt_time(
            chrono::Utc::now() - chrono::Duration::hours(hours_ago),
        );
        let out = self.path(&format!("{name}.scsd"));
        self.ok(&[
            "data",
            "build",
            "--releases",
            &s(&src.join("releases.json")),
            "--cve-feed",
            &s(&src.join("index.json")),
            "--cve-records",
            &s(&src.join("records")),
            "--eol",
            &s(&src.join("eol.yml")),
            "--generated-at",
            &at,
            "--sign-key",
            &self.p("data-key"),
            "--out",
            &s(&out),
        ]);
        out
    }

    /// `scs-cert run` of the official KaaS scope with the real checks: `-a kubeconfig`,
    /// `-a subject_root`, `--root`, a rollback state of its own, `extra` (sections, `--data`,
    /// …); report in `name.yaml`.
    fn run(&self, name: &str, kubeconfig: &Path, extra: &[&str]) -> Outcome {
        let out = self.path(&format!("{name}.yaml"));
        let checks = common::real_checks();
        let scope = common::root().join(SCOPE);
        let state = self.path(&format!("state-{name}"));
        let mut args = vec![
            "run".to_string(),
            s(&scope),
            "-s".into(),
            "kaas-cluster".into(),
            "-a".into(),
            format!("kubeconfig={}", s(kubeconfig)),
            "-a".into(),
            format!("subject_root={}", self.p("kaas-cluster")),
            "--root".into(),
            self.p("root.json"),
            "--state-dir".into(),
            s(&state),
            "-o".into(),
            s(&out),
        ];
        if !extra.contains(&"--bundle") {
            args.extend(["--checks".into(), s(&checks)]);
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let cli = self.cli(&refs);
        let (report, report_text) = match std::fs::read_to_string(&out) {
            Ok(t) => (Some(common::read_report(&out)), t),
            Err(_) => (None, String::new()),
        };
        Outcome {
            cli,
            report,
            report_text,
        }
    }
}

/// The light section (version-policy-check) with `data`.
fn light(data: &Path) -> Vec<String> {
    vec!["-S".into(), "light".into(), "--data".into(), s(data)]
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

// ------------------------------------------------------------------------------------------------
// the verdicts

/// Cases 1, 2 and 4 on one world: the newest patch passes (with three supported branches, a
/// pre-release and a non-critical CVE that do not count), a newer patch published 40 days ago
/// fails, an ended branch fails even on its newest patch.
#[test]
fn newest_patch_passes_an_old_missed_patch_and_an_ended_branch_fail() {
    let site = Site::new();
    let data = site.data("world-a", &world_a(), 1);
    let args = light(&data);

    // 1. the newest patch of 1.33 (10 days old), three branches supported: PASS
    let k = site.cluster("v1.33.6");
    let kc = site.kubeconfig("newest.yaml", &k);
    let o = site.run("newest", &kc, &refs(&args));
    o.expect(
        1,
        0,
        "INFO: The K8s cluster version 1.33.6 of cluster 'kaas-sim' is still in the recency time window.",
    );
    assert!(o.has_line("INFO: Checking cluster 'kaas-sim': version 1.33.6."));
    assert!(
        !o.logs().iter().any(|l| l.starts_with("WARNING")),
        "{:?}",
        o.logs()
    );
    assert!(
        k.server.seen().iter().all(|r| r.path == "/version"),
        "the check reads /version only"
    );
    assert!(
        o.cli
            .stdout
            .contains("TENTATIVE pass (1 passed, 2 missing)"),
        "-S light: the heavy testcases count as missing, the exit code looks at light only\n{}",
        o.cli.stdout
    );

    // the patch before it, 1.33.5: its newer patch is 10 days old (< 31): PASS too
    let k = site.cluster("v1.33.5");
    let kc = site.kubeconfig("previous.yaml", &k);
    let o = site.run("previous", &kc, &refs(&args));
    o.expect(
        1,
        0,
        "INFO: The K8s cluster version 1.33.5 of cluster 'kaas-sim' is still in the recency time window.",
    );

    // 2. 1.33.4: 1.33.5 was published 40 days ago (> 31): FAIL
    let k = site.cluster("v1.33.4");
    let kc = site.kubeconfig("missed.yaml", &k);
    let o = site.run("missed", &kc, &refs(&args));
    o.expect(
        -1,
        1,
        "ERROR: The K8s cluster version 1.33.4 of cluster 'kaas-sim' is outdated according to the standard.",
    );
    assert!(
        !o.logs().iter().any(|l| l.contains("CRITICAL CVE")),
        "CVE-2099-2002 (5.3) is not critical: {:?}",
        o.logs()
    );
    assert!(o.report_text.contains("version-policy-check: FAIL"));

    // 4. 1.32.9 is the newest patch of 1.32, which ended ten days ago: FAIL
    let k = site.cluster("v1.32.9");
    let kc = site.kubeconfig("eol.yaml", &k);
    let o = site.run("eol", &kc, &refs(&args));
    o.expect(
        -1,
        1,
        "ERROR: The K8s cluster version 1.32.9 of cluster 'kaas-sim' is already EOL.",
    );
}

/// Case 3: a critical CVE (baseScore 8.0, the threshold) covers 1.34.2 and the fix 1.34.3 is
/// 15 days old: FAIL with the WARNING and the CRITICAL CVE lines; 3 days old: a WARNING, not a
/// FAIL; with baseScore 7.9 the CVE is not critical and 15 days pass quietly.
#[test]
fn a_critical_cve_shortens_the_window_to_14_days_with_a_warning_after_2() {
    let site = Site::new();
    let k = site.cluster("v1.34.2");
    let kc = site.kubeconfig("kc.yaml", &k);
    let warning = "WARNING: Consider updating from 1.34.2 to 1.34.3 to avoid a CVE";

    let data = site.data("cve-15d", &world_cve(8.0, 15.0), 1);
    let o = site.run("cve-15d", &kc, &refs(&light(&data)));
    o.expect(
        -1,
        1,
        "ERROR: The K8s cluster version 1.34.2 of cluster 'kaas-sim' is an outdated version with a possible CRITICAL CVE.",
    );
    assert!(o.has_line(warning), "{:?}", o.logs());
    assert!(o.has_line(
        "ERROR: The K8s cluster version 1.34.2 of cluster 'kaas-sim' is outdated according to the standard."
    ));

    let data = site.data("cve-3d", &world_cve(8.0, 3.0), 1);
    let o = site.run("cve-3d", &kc, &refs(&light(&data)));
    o.expect(1, 0, warning);
    assert!(o.has_line(
        "INFO: The K8s cluster version 1.34.2 of cluster 'kaas-sim' is still in the recency time window."
    ));

    let data = site.data("cve-low", &world_cve(7.9, 15.0), 1);
    let o = site.run("cve-low", &kc, &refs(&light(&data)));
    o.expect(
        1,
        0,
        "INFO: The K8s cluster version 1.34.2 of cluster 'kaas-sim' is still in the recency time window.",
    );
    assert!(!o.has_line(warning), "{:?}", o.logs());
}

/// Case 5: `v1.33.4-gke.1` does not parse with the official `parse_version`: ABORT.
#[test]
fn a_vendor_suffixed_git_version_aborts_as_the_official_parse_version_does() {
    let site = Site::new();
    let data = site.data("world-a", &world_a(), 1);
    let k = site.cluster("v1.33.4-gke.1");
    let kc = site.kubeconfig("kc.yaml", &k);
    let o = site.run("gke", &kc, &refs(&light(&data)));
    o.expect(
        0,
        2,
        "ERROR: version-policy-check: ValueError: Unrecognized version format: v1.33.4-gke.1",
    );
}

/// Case 6: two supported branches give a WARNING and the check goes on; one gives the WARNING
/// first and then ABORTs before the cluster is asked.
#[test]
fn outdated_eol_data_warns_below_three_branches_and_aborts_below_two() {
    let site = Site::new();
    let k = site.cluster("v1.35.1");
    let kc = site.kubeconfig("kc.yaml", &k);
    let warning = "WARNING: The EOL data in dataset k8s-eol isn't up-to-date.";
    let mut w = world_a();
    w.eol = vec![("1.35", 300), ("1.34", 20), ("1.33", -1), ("1.32", -10)];
    let data = site.data("two", &w, 1);
    let o = site.run("two", &kc, &refs(&light(&data)));
    o.expect(1, 0, warning);

    w.eol = vec![("1.35", 300), ("1.34", -1), ("1.33", -40), ("1.32", -10)];
    let data = site.data("one", &w, 1);
    let before = k.server.seen().len();
    let o = site.run("one", &kc, &refs(&light(&data)));
    o.expect(
        0,
        2,
        "ERROR: version-policy-check: RuntimeError: The EOL data in dataset k8s-eol is critically outdated!",
    );
    let logs = o.logs();
    let w_at = logs.iter().position(|l| l == warning);
    let e_at = logs.iter().position(|l| l.contains("critically outdated"));
    assert!(
        matches!((w_at, e_at), (Some(a), Some(b)) if a < b),
        "the WARNING comes first: {logs:?}"
    );
    assert_eq!(
        k.server.seen().len(),
        before,
        "ABORT before the cluster is asked"
    );
}

/// Cases 7 and 8: without a data file the check ABORTs naming `scs-cert data refresh`; with a
/// stale one (72 h, the bound 48 h) it ABORTs, never PASSes, although the same data within a
/// larger bound gives a PASS.
#[test]
fn no_data_or_stale_data_aborts_and_never_passes() {
    let site = Site::new();
    let k = site.cluster("v1.33.6");
    let kc = site.kubeconfig("kc.yaml", &k);

    let o = site.run("no-data", &kc, &["-S", "light"]);
    assert_eq!(o.result(), Some(0), "{}", o.cli.stderr);
    assert_eq!(o.cli.code, 2);
    let logs = o.logs();
    let line = logs
        .iter()
        .find(|l| l.starts_with("ERROR: version-policy-check: "))
        .unwrap_or_else(|| panic!("no ERROR line: {logs:?}"));
    assert!(
        line.contains("no dataset \"k8s-eol\": this run has no data file")
            && line.contains("`scs-cert data refresh`"),
        "{line}"
    );
    assert!(o.report()["run"]["scs_cert"]["data"].is_null());

    let data = site.data("stale", &world_a(), 72);
    let o = site.run("stale", &kc, &refs(&light(&data)));
    assert_eq!(o.result(), Some(0), "never PASS: {:?}", o.logs());
    assert_eq!(o.cli.code, 2, "{}", o.cli.stderr);
    assert!(
        o.cli.stderr.contains("data older than 48 h is stale"),
        "{}",
        o.cli.stderr
    );
    let logs = o.logs();
    let line = logs
        .iter()
        .find(|l| l.starts_with("ERROR: version-policy-check: "))
        .unwrap_or_else(|| panic!("no ERROR line: {logs:?}"));
    assert!(
        line.contains("dataset \"k8s-eol\" of data file k8s-data")
            && line.contains("72 h before this run; data older than 48 h is stale")
            && line.contains("scs-cert data refresh"),
        "{line}"
    );
    assert!(
        !logs.iter().any(|l| l.contains("recency time window")),
        "{logs:?}"
    );
    assert_eq!(o.report()["run"]["scs_cert"]["data"]["age_hours"], 72);
    assert_eq!(o.report()["run"]["scs_cert"]["data"]["max_age_hours"], 48);

    // a tighter bound makes a 30-hour-old file stale as well
    let data30 = site.data("thirty", &world_a(), 30);
    let mut args = light(&data30);
    args.extend(["--max-data-age".into(), "24".into()]);
    let o = site.run("thirty", &kc, &refs(&args));
    assert_eq!(o.result(), Some(0), "{:?}", o.logs());

    // the same stale data under a larger bound (the operator's choice, in the report): PASS
    let mut args = light(&data);
    args.extend(["--max-data-age".into(), "100".into()]);
    let o = site.run("stale-accepted", &kc, &refs(&args));
    o.expect(
        1,
        0,
        "INFO: The K8s cluster version 1.33.6 of cluster 'kaas-sim' is still in the recency time window.",
    );
    assert_eq!(o.report()["run"]["scs_cert"]["data"]["max_age_hours"], 100);
}

// ------------------------------------------------------------------------------------------------
// record, replay, reproduce; the whole scope; a combined run

/// A signed bundle as `cargo xtask bundle` makes it: every real check and every scope of
/// `scopes/`, signed by the root key (bundle role).
fn xtask_like_bundle(site: &Site) -> PathBuf {
    let out = site.path("checks.scsb");
    let mut args = vec![
        "bundle".to_string(),
        "build".into(),
        "--checks".into(),
        s(&common::real_checks()),
        "--trust".into(),
        site.p("root.json"),
        "--sequence".into(),
        "1".into(),
        "--expires".into(),
        "2099-01-01".into(),
        "--out".into(),
        s(&out),
    ];
    let mut scopes: Vec<PathBuf> = std::fs::read_dir(common::root().join("scopes"))
        .expect("ls scopes")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    scopes.sort();
    for p in scopes {
        args.extend(["--scope".into(), s(&p)]);
    }
    site.ok(&refs(&args));
    site.ok(&["bundle", "sign", &s(&out), "--key", &site.p("root-key")]);
    let r = site.ok(&[
        "bundle",
        "inspect",
        &s(&out),
        "--root",
        &site.p("root.json"),
    ]);
    for want in [
        "scs-0210-version-policy 0.1.0",
        "testcases:    version-policy-check",
        "scopes/scs-compatible-kaas.yaml",
    ] {
        assert!(r.stdout.contains(want), "{want}:\n{}", r.stdout);
    }
    out
}

/// Case 9: a run from a signed bundle is recorded (cluster calls and data reads), replayed
/// offline without data file, kubeconfig or cluster to the same verdict and lines, and `report
/// reproduce` accepts the signed report.
#[test]
fn record_replay_and_reproduce_give_the_same_verdict_offline() {
    let site = Site::new();
    let bundle = xtask_like_bundle(&site);
    let data = site.data("cve", &world_cve(8.0, 15.0), 1);
    let k = site.cluster("v1.34.2");
    let kc = site.kubeconfig("kc.yaml", &k);
    let transcript = site.path("transcript");
    let mut args = light(&data);
    args.extend([
        "--bundle".into(),
        s(&bundle),
        "--record".into(),
        s(&transcript),
    ]);
    let o = site.run("recorded", &kc, &refs(&args));
    let fail_line = "ERROR: The K8s cluster version 1.34.2 of cluster 'kaas-sim' is an outdated version with a possible CRITICAL CVE.";
    o.expect(-1, 1, fail_line);
    assert_eq!(
        o.report()["run"]["scs_cert"]["checks_trust"],
        "signed-bundle"
    );
    assert!(transcript.join("data.json").is_file());
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(transcript.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["cluster"]["context"], CONTEXT);
    drop(k);

    // offline: no data file, no cluster, a kubeconfig that does not exist
    std::fs::remove_file(&data).expect("rm data");
    let replayed = site.run(
        "replayed",
        &site.path("no-such-kubeconfig.yaml"),
        &[
            "-S",
            "light",
            "--bundle",
            &s(&bundle),
            "--replay",
            &s(&transcript),
        ],
    );
    replayed.expect(-1, 1, fail_line);
    let sorted = |o: &Outcome| {
        let mut v = o.logs();
        v.sort();
        v
    };
    assert_eq!(sorted(&replayed), sorted(&o));
    assert_eq!(
        replayed.report()["run"]["scs_cert"]["data"]["mode"],
        "replayed"
    );
    assert_eq!(o.report()["run"]["scs_cert"]["cluster"]["context"], CONTEXT);
    assert_eq!(
        replayed.report()["run"]["scs_cert"]["cluster"],
        o.report()["run"]["scs_cert"]["cluster"],
        "the replay names the recorded cluster"
    );

    // the signed report reproduces offline
    site.ok(&[
        "key",
        "generate",
        "--out",
        &site.p("report-key"),
        "--no-passphrase",
    ]);
    site.ok(&[
        "report",
        "sign",
        &site.p("recorded.yaml"),
        "--key",
        &site.p("report-key"),
        "--no-spool",
    ]);
    let pubkey = std::fs::read_to_string(site.path("report-key.pub")).expect("pub");
    std::fs::write(
        site.path("allowed"),
        format!("certifier@example.org {pubkey}"),
    )
    .expect("allowed");
    let r = site.cli(&[
        "report",
        "reproduce",
        &site.p("recorded.yaml"),
        "--transcript",
        &s(&transcript),
        "--bundle",
        &s(&bundle),
        "--root",
        &site.p("root.json"),
        "--allowed-signers",
        &site.p("allowed"),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("reproduced: all "), "{}", r.stdout);
}

/// Case 10: the whole official KaaS scope. version-policy-check has its verdict; the two
/// Sonobuoy testcases have their component (checks/scs-0201-0219-sonobuoy) but no Sonobuoy
/// on PATH and no archive here, so they ABORT with the one line naming both options (exit 2;
/// the Sonobuoy runs themselves: tests/integration/sonobuoy.rs); the report names the data
/// file and the cluster, and holds no credential.
#[test]
fn the_whole_kaas_scope_aborts_the_sonobuoy_testcases_without_sonobuoy() {
    let site = Site::new();
    let data = site.data("world-a", &world_a(), 1);
    let k = site.cluster("v1.33.6");
    let kc = site.kubeconfig("kc.yaml", &k);
    let o = site.run("whole", &kc, &["--data", &s(&data)]);
    o.expect(
        1,
        2,
        "INFO: The K8s cluster version 1.33.6 of cluster 'kaas-sim' is still in the recency time window.",
    );
    let report = o.report();
    let results = common::results_of(report);
    assert_eq!(results.len(), 3, "{results:?}");
    let p = &report["run"]["scs_cert"];
    for id in ["cncf-k8s-conformance", "kaas-networking-check"] {
        assert_eq!(results.get(id), Some(&0), "{results:?}");
        assert!(
            o.cli.stdout.contains(id),
            "the console lists {id}:\n{}",
            o.cli.stdout
        );
        assert!(
            o.logs()
                .iter()
                .any(|l| l.starts_with(&format!("ERROR: {id}: sonobuoy missing"))
                    && l.contains("--sonobuoy PATH")
                    && l.contains("--sonobuoy-archive")),
            "{:?}",
            o.logs()
        );
    }
    assert!(o.cli.stdout.contains("ABORTED"), "{}", o.cli.stdout);
    // the manual testcase (a preview target) is never run
    assert!(!results.contains_key("node-distribution-check"));

    // data provenance: the digest of the signed manifest and when the sources were fetched
    let entries = scs_cert_host::bundle::archive::unpack(&std::fs::read(&data).expect("read"))
        .expect("unpack");
    let manifest: Value = serde_json::from_slice(&entries["manifest.json"]).expect("manifest json");
    assert_eq!(
        p["data"]["manifest_sha256"],
        scs_cert_host::bundle::manifest::sha256_hex(&entries["manifest.json"]).as_str()
    );
    assert_eq!(p["data"]["generated_at"], manifest["generated_at"]);
    assert_eq!(p["data"]["name"], "k8s-data");
    assert_eq!(p["data"]["authorized_by"], "data");
    // the cluster: the kubeconfig named in the assignment, server and context in the report
    assert_eq!(report["run"]["assignment"]["kubeconfig"], s(&kc).as_str());
    assert_eq!(
        p["cluster"]["server"],
        k.server.url.as_str(),
        "{}",
        o.report_text
    );
    assert_eq!(p["cluster"]["context"], CONTEXT);
    // and no credential
    assert!(!o.report_text.contains(TOKEN), "the token is in the report");
    assert!(!o.cli.stderr.contains(TOKEN) && !o.cli.stdout.contains(TOKEN));
    assert!(!o.report_text.contains("Bearer"));
    let caps = p["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["id"] == "scs-0210-version-policy")
        .map(|c| c["capabilities"].clone())
        .expect("scs-0210-version-policy ran");
    assert_eq!(
        caps,
        json!([
            "kubernetes:nonresource/version:read",
            "data:k8s-cves:read",
            "data:k8s-eol:read",
            "data:k8s-releases:read"
        ])
    );
}

/// Case 11: `run --config` with the official runner configuration's KaaS preset and default
/// mapping (`kubeconfig = "{subject}/kubeconfig.yaml"`, relative to the working directory, as
/// the official runner has it): two subjects, two clusters on different versions, one combined
/// report with one document per subject.
#[test]
fn a_combined_run_certifies_two_clusters_from_the_runner_configuration() {
    let site = Site::new();
    let data = site.data("world-a", &world_a(), 1);
    let work = site.path("work");
    std::fs::create_dir_all(&work).expect("work");
    let newest = site.cluster("v1.33.6");
    let outdated = site.cluster("v1.33.4");
    site.kubeconfig("work/alpha-1.33/kubeconfig.yaml", &newest);
    site.kubeconfig("work/beta-1.33/kubeconfig.yaml", &outdated);
    std::fs::copy(
        common::root().join(SCOPE),
        work.join("scs-compatible-kaas.yaml"),
    )
    .expect("copy scope");
    std::fs::write(
        work.join("config.toml"),
        r#"
[presets.default]
scopes = ["scs-compatible-iaas"]
subjects = ["scs2"]

[presets.kaas]
scopes = ["scs-compatible-kaas"]
subjects = ["alpha-1.33", "beta-1.33"]
workers = 2

[scopes.scs-compatible-iaas]
spec = "./scs-compatible-iaas.yaml"

[scopes.scs-compatible-kaas]
spec = "./scs-compatible-kaas.yaml"

[subjects._.mapping]
os_cloud = "{subject}"
subject_root = "{subject}"
kubeconfig = "{subject}/kubeconfig.yaml"
"#,
    )
    .expect("config.toml");
    let out = work.join("combined.yaml");
    let r = site.cli_in(
        &work,
        &[
            "run",
            "--config",
            "config.toml",
            "--preset",
            "kaas",
            "-S",
            "light",
            "--checks",
            &s(&common::real_checks()),
            "--root",
            &site.p("root.json"),
            "--state-dir",
            &site.p("state-combined"),
            "--data",
            &s(&data),
            "-o",
            &s(&out),
        ],
    );
    assert_eq!(r.code, 1, "the worst verdict\n{}\n{}", r.stdout, r.stderr);
    for subject in ["alpha-1.33", "beta-1.33"] {
        assert!(
            r.stdout.contains(&format!("{subject} SCS-compatible KaaS")),
            "{}",
            r.stdout
        );
    }
    let text = std::fs::read_to_string(&out).expect("combined report");
    let docs: Vec<Value> = yaml_serde::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("doc"))
        .collect();
    assert_eq!(docs.len(), 2, "{text}");
    let mut by_subject = std::collections::BTreeMap::new();
    for doc in &docs {
        let subject = doc["subject"].as_str().expect("subject").to_string();
        assert_eq!(
            doc["run"]["assignment"]["kubeconfig"],
            format!("{subject}/kubeconfig.yaml").as_str()
        );
        assert_eq!(doc["run"]["assignment"]["subject_root"], subject.as_str());
        by_subject.insert(subject, common::results_of(doc).get(TESTCASE).copied());
    }
    assert_eq!(by_subject["alpha-1.33"], Some(1), "{text}");
    assert_eq!(by_subject["beta-1.33"], Some(-1), "{text}");
    assert_ne!(docs[0]["run"]["uuid"], docs[1]["run"]["uuid"]);
    let logs: Vec<Vec<String>> = docs.iter().map(common::log_lines).collect();
    let alpha = docs
        .iter()
        .position(|d| d["subject"] == "alpha-1.33")
        .expect("alpha");
    assert!(
        logs[alpha].iter().any(|l| l
            == "INFO: The K8s cluster version 1.33.6 of cluster 'kaas-sim' is still in the recency time window."),
        "{:?}",
        logs[alpha]
    );
    assert!(
        logs[1 - alpha].iter().any(|l| l
            == "ERROR: The K8s cluster version 1.33.4 of cluster 'kaas-sim' is outdated according to the standard."),
        "{:?}",
        logs[1 - alpha]
    );
    // each cluster was asked by its own subject's run
    assert!(!newest.server.seen().is_empty() && !outdated.server.seen().is_empty());
}
