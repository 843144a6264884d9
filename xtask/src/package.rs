//! `cargo xtask deb` and `cargo xtask oci`: the Debian package and the container image,
//! both assembled here from a built binary, reproducibly, without a container daemon.
//!
//! Owns:
//! - the Debian package (`target/package/scs-cert_<version>_<arch>.deb`, built by
//!   `dpkg-deb`; depends on this machine's libc6 version or later; md5sums; prerm disables the
//!   timers on removal): the binary at /usr/bin/scs-cert, the systemd units of deploy/systemd in
//!   /lib/systemd/system, the default configuration deploy/debian/config.toml and
//!   scs-cert.env in /etc/scs-cert (conffiles), the official scope files in
//!   /usr/share/scs-cert/scopes, the man pages `scs-cert man` writes, the copyright file; every file's time is the last commit's (`SOURCE_DATE_EPOCH`);
//! - its check ([`check_deb`]): installed with `dpkg --root` into a scratch root (this
//!   machine's package database is not touched), the installed binary runs and prints its
//!   version, the man page is there, the units pass `systemd-analyze verify --root`;
//! - the OCI image layout (`target/package/oci`, tag `<version>`): one uncompressed layer with
//!   the statically linked (musl) binary, the CA bundle of the building machine, an unprivileged
//!   user 65532 and its writable directories, all with fixed owners and times, so the same
//!   inputs give the same digests;
//! - its check ([`check_oci`]): `skopeo inspect` reads the layout, `umoci raw unpack` unpacks
//!   it, and the binary runs inside the unpacked root (`chroot` when root), with no library
//!   of the host.
//!
//! Never: install into this machine's package database, need a container daemon, or take a
//! time stamp from the clock.

use super::{cargo, root, run, target_dir};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The musl target of the container image's binary.
pub(super) const MUSL: &str = "x86_64-unknown-linux-musl";

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Seconds since the epoch of the last commit (SOURCE_DATE_EPOCH), or the variable itself.
fn source_date_epoch() -> Result<u64> {
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
        return v
            .trim()
            .parse()
            .context("SOURCE_DATE_EPOCH is not a number");
    }
    let out = Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(root())
        .output()
        .context("git log (for SOURCE_DATE_EPOCH)")?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("no commit time: set SOURCE_DATE_EPOCH")
}

fn copy(from: &Path, to: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(d) = to.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("create {}", d.display()))?;
    }
    std::fs::copy(from, to)
        .with_context(|| format!("copy {} to {}", from.display(), to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", to.display()))
}

fn write(to: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(d) = to.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("create {}", d.display()))?;
    }
    std::fs::write(to, bytes).with_context(|| format!("write {}", to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", to.display()))
}

/// Build the Debian package from `binary` (a built scs-cert); returns the .deb.
pub(super) fn deb(binary: &Path) -> Result<PathBuf> {
    let epoch = source_date_epoch()?;
    let out_dir = target_dir().join("package");
    let stage = out_dir.join("deb-root");
    let _ = std::fs::remove_dir_all(&stage);
    let r = root();
    copy(binary, &stage.join("usr/bin/scs-cert"), 0o755)?;
    for unit in [
        "scs-cert.service",
        "scs-cert.timer",
        "scs-cert-flush.service",
        "scs-cert-flush.timer",
    ] {
        copy(
            &r.join("deploy/systemd").join(unit),
            &stage.join("lib/systemd/system").join(unit),
            0o644,
        )?;
    }
    copy(
        &r.join("deploy/debian/config.toml"),
        &stage.join("etc/scs-cert/config.toml"),
        0o644,
    )?;
    copy(
        &r.join("deploy/debian/scs-cert.env"),
        &stage.join("etc/scs-cert/scs-cert.env"),
        0o640,
    )?;
    // the man pages from the binary's own argument definitions
    let man_dir = stage.join("usr/share/man/man1");
    std::fs::create_dir_all(&man_dir).context("create the man directory")?;
    let mut c = Command::new(binary);
    c.arg("man").arg("--out-dir").arg(&man_dir);
    run(c, "scs-cert man --out-dir (man pages)")?;
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("gzip -9 -n \"$1\"/*.1")
        .arg("sh")
        .arg(&man_dir);
    run(c, "gzip -9 -n the man pages")?;
    // the official scope files, which config.toml names
    for scope in ["scs-compatible-iaas.yaml", "scs-compatible-kaas.yaml"] {
        copy(
            &r.join("scopes").join(scope),
            &stage.join("usr/share/scs-cert/scopes").join(scope),
            0o644,
        )?;
    }
    write(
        &stage.join("usr/share/doc/scs-cert/copyright"),
        (
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
             Upstream-Name: scs-cert\n\nFiles: *\nCopyright: the scs-cert authors\n\
             License: Apache-2.0\n On Debian systems the full text of the Apache License 2.0 is in\n\
             \x20/usr/share/common-licenses/Apache-2.0.\n"
        )
        .as_bytes(),
        0o644,
    )?;
    let arch = String::from_utf8_lossy(
        &Command::new("dpkg")
            .arg("--print-architecture")
            .output()
            .context("dpkg --print-architecture")?
            .stdout,
    )
    .trim()
    .to_string();
    // the C library this machine builds against is the least the binary needs
    let libc = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "libc6"])
        .output()
        .context("dpkg-query libc6")?;
    let libc = String::from_utf8_lossy(&libc.stdout)
        .split(['-', '+'])
        .next()
        .unwrap_or_default()
        .to_string();
    if libc.is_empty() {
        bail!("dpkg-query did not name this machine's libc6 version");
    }
    let installed_kib = dir_size(&stage)? / 1024;
    write(
        &stage.join("DEBIAN/control"),
        format!(
            "Package: scs-cert\nVersion: {}\nArchitecture: {arch}\nMaintainer: scs-cert maintainers <scs-cert@localhost>\n\
             Installed-Size: {installed_kib}\nDepends: libc6 (>= {libc})\nRecommends: openssh-client\nSection: admin\nPriority: optional\n\
             Homepage: https://docs.scs.community/\n\
             Description: certify clouds against the Sovereign Cloud Stack standards\n \
             scs-cert runs the SCS compliance checks as sandboxed WebAssembly components from\n \
             signed bundles against an OpenStack cloud or a Kubernetes cluster, signs the report\n \
             and delivers it to the SCS compliance monitor. This package ships systemd units for\n \
             a nightly local monitoring job (scs-cert.timer) and the spool upload\n \
             (scs-cert-flush.timer); neither is enabled until configured.\n",
            version()
        )
        .as_bytes(),
        0o644,
    )?;
    write(
        &stage.join("DEBIAN/conffiles"),
        b"/etc/scs-cert/config.toml\n/etc/scs-cert/scs-cert.env\n",
        0o644,
    )?;
    write(
        &stage.join("DEBIAN/postinst"),
        b"#!/bin/sh\nset -e\n# the units are installed, not enabled: configure /etc/scs-cert first\n\
          if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi\n",
        0o755,
    )?;
    write(
        &stage.join("DEBIAN/prerm"),
        b"#!/bin/sh\nset -e\n# on removal, stop and disable the timers (an upgrade keeps them)\n\
          if [ \"$1\" = remove ] && [ -d /run/systemd/system ]; then\n\
          \x20 systemctl disable --now scs-cert.timer scs-cert-flush.timer >/dev/null 2>&1 || true\n\
          fi\n",
        0o755,
    )?;
    write(
        &stage.join("DEBIAN/postrm"),
        b"#!/bin/sh\nset -e\nif [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi\n",
        0o755,
    )?;
    // md5sums of the payload, as dpkg's own packages carry them
    let mut sums = Command::new("sh");
    sums.arg("-c")
        .arg("cd \"$1\" && find . -type f ! -path './DEBIAN/*' | LC_ALL=C sort | sed 's|^\\./||' | xargs md5sum > DEBIAN/md5sums")
        .arg("sh")
        .arg(&stage);
    run(sums, "md5sums of the package's files")?;
    // directory modes independent of the umask, then fixed times for every file and directory
    let mut dirs = Command::new("find");
    dirs.arg(&stage)
        .args(["-type", "d", "-exec", "chmod", "0755", "{}", "+"]);
    run(dirs, "directory modes 0755")?;
    let mut touch = Command::new("find");
    touch.arg(&stage).args([
        "-exec",
        "touch",
        "-h",
        "-d",
        &format!("@{epoch}"),
        "{}",
        "+",
    ]);
    run(touch, "set the package's file times to SOURCE_DATE_EPOCH")?;
    let deb = out_dir.join(format!("scs-cert_{}_{arch}.deb", version()));
    let mut c = Command::new("dpkg-deb");
    c.args(["--root-owner-group", "-Zxz", "--build"])
        .arg(&stage)
        .arg(&deb)
        .env("SOURCE_DATE_EPOCH", epoch.to_string());
    run(c, "dpkg-deb --build")?;
    Ok(deb)
}

/// Bytes of the files below `dir`, recursively.
pub(super) fn dir_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir).with_context(|| format!("list {}", dir.display()))? {
        let e = e?;
        let m = e.metadata()?;
        total += if m.is_dir() {
            dir_size(&e.path())?
        } else {
            m.len()
        };
    }
    Ok(total)
}

/// Install `deb` into a scratch root and check what it installed.
pub(super) fn check_deb(deb: &Path) -> Result<()> {
    let scratch = target_dir().join("package/deb-check");
    let _ = std::fs::remove_dir_all(&scratch);
    let admin = scratch.join("var/lib/dpkg");
    std::fs::create_dir_all(admin.join("info")).context("create the scratch dpkg database")?;
    std::fs::create_dir_all(admin.join("updates"))?;
    std::fs::write(admin.join("status"), b"")?;
    let mut c = Command::new("dpkg");
    c.arg(format!("--root={}", scratch.display()))
        .args([
            "--force-depends",
            "--force-not-root",
            "--force-script-chrootless",
        ])
        .arg("-i")
        .arg(deb);
    run(c, "dpkg --root=SCRATCH -i (the package installs)")?;
    let bin = scratch.join("usr/bin/scs-cert");
    let out = Command::new(&bin)
        .arg("--version")
        .output()
        .with_context(|| format!("run {}", bin.display()))?;
    if !out.status.success() || !String::from_utf8_lossy(&out.stdout).contains(version()) {
        bail!(
            "the installed scs-cert --version did not print {}",
            version()
        );
    }
    for f in [
        "usr/share/man/man1/scs-cert.1.gz",
        "etc/scs-cert/config.toml",
        "lib/systemd/system/scs-cert.timer",
    ] {
        if !scratch.join(f).is_file() {
            bail!("the package did not install /{f}");
        }
    }
    // the targets and slices the units are ordered against come from this machine's systemd
    // (a scratch root has none); the man page was checked above (`--man=no`: systemd-analyze
    // would look for it outside the root)
    let units = scratch.join("lib/systemd/system");
    for e in std::fs::read_dir("/lib/systemd/system").context("list /lib/systemd/system")? {
        let p = e?.path();
        let keep = p.extension().is_some_and(|x| x == "target" || x == "slice");
        if let (true, Some(name)) = (keep && p.is_file(), p.file_name()) {
            let to = units.join(name);
            if !to.exists() {
                std::fs::copy(&p, &to).with_context(|| format!("copy {}", p.display()))?;
            }
        }
    }
    let mut c = Command::new("systemd-analyze");
    c.arg("verify")
        .arg("--man=no")
        .arg(format!("--root={}", scratch.display()))
        .args([
            "/lib/systemd/system/scs-cert.service",
            "/lib/systemd/system/scs-cert.timer",
            "/lib/systemd/system/scs-cert-flush.service",
            "/lib/systemd/system/scs-cert-flush.timer",
        ]);
    let out = c.output().context("systemd-analyze verify")?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() || !said.trim().is_empty() {
        bail!("systemd-analyze verify of the installed units:\n{said}");
    }
    eprintln!(
        "xtask: {} installs into a scratch root; scs-cert --version runs; the units pass systemd-analyze verify",
        deb.display()
    );
    Ok(())
}

/// Build the static binary for the image: `cargo build --target x86_64-unknown-linux-musl`
/// (musl-gcc compiles the C parts: ring, zstd, SQLite).
pub(super) fn musl_binary(release: bool) -> Result<PathBuf> {
    let mut c = cargo();
    c.args(["build", "--locked", "--target", MUSL, "-p", "scs-cert"]);
    if release {
        c.arg("--release");
    }
    run(c, &format!("cargo build --target {MUSL} -p scs-cert"))?;
    Ok(target_dir()
        .join(MUSL)
        .join(if release { "release" } else { "debug" })
        .join("scs-cert"))
}

/// One file of the image's layer.
struct Entry {
    path: &'static str,
    mode: u32,
    uid: u64,
    data: Option<Vec<u8>>,
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(b))
}

/// Assemble the OCI image layout of `binary` (static); returns the layout directory.
pub(super) fn oci(binary: &Path) -> Result<PathBuf> {
    let epoch = source_date_epoch()?;
    let layout = target_dir().join("package/oci");
    let _ = std::fs::remove_dir_all(&layout);
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).context("create the OCI layout")?;
    let bin = std::fs::read(binary).with_context(|| format!("read {}", binary.display()))?;
    let ca = std::fs::read("/etc/ssl/certs/ca-certificates.crt")
        .context("/etc/ssl/certs/ca-certificates.crt (apt-get install ca-certificates)")?;
    let entries = vec![
        Entry { path: "etc/", mode: 0o755, uid: 0, data: None },
        Entry {
            path: "etc/group",
            mode: 0o644,
            uid: 0,
            data: Some(b"root:x:0:\nscs-cert:x:65532:\n".to_vec()),
        },
        Entry {
            path: "etc/passwd",
            mode: 0o644,
            uid: 0,
            data: Some(
                b"root:x:0:0:root:/root:/sbin/nologin\nscs-cert:x:65532:65532:scs-cert:/var/lib/scs-cert:/sbin/nologin\n"
                    .to_vec(),
            ),
        },
        Entry { path: "etc/ssl/", mode: 0o755, uid: 0, data: None },
        Entry { path: "etc/ssl/certs/", mode: 0o755, uid: 0, data: None },
        Entry { path: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, uid: 0, data: Some(ca) },
        Entry { path: "tmp/", mode: 0o1777, uid: 0, data: None },
        Entry { path: "usr/", mode: 0o755, uid: 0, data: None },
        Entry { path: "usr/bin/", mode: 0o755, uid: 0, data: None },
        Entry { path: "usr/bin/scs-cert", mode: 0o755, uid: 0, data: Some(bin) },
        Entry { path: "var/", mode: 0o755, uid: 0, data: None },
        Entry { path: "var/lib/", mode: 0o755, uid: 0, data: None },
        Entry { path: "var/lib/scs-cert/", mode: 0o700, uid: 65532, data: None },
    ];
    let mut layer = tar::Builder::new(Vec::new());
    for e in &entries {
        let mut h = tar::Header::new_ustar();
        h.set_mode(e.mode);
        h.set_uid(e.uid);
        h.set_gid(e.uid);
        h.set_mtime(epoch);
        match &e.data {
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_cksum();
                layer
                    .append_data(&mut h, e.path, std::io::empty())
                    .context("layer tar")?;
            }
            Some(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(d.len() as u64);
                h.set_cksum();
                layer
                    .append_data(&mut h, e.path, d.as_slice())
                    .context("layer tar")?;
            }
        }
    }
    let layer = layer.into_inner().context("layer tar")?;
    let put = |bytes: &[u8]| -> Result<(String, usize)> {
        let d = sha256_hex(bytes);
        std::fs::write(blobs.join(&d), bytes).context("write a blob")?;
        Ok((format!("sha256:{d}"), bytes.len()))
    };
    let (layer_digest, layer_size) = put(&layer)?;
    let created = chrono_like(epoch);
    let config = serde_json::json!({
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "User": "65532:65532",
            "Entrypoint": ["/usr/bin/scs-cert"],
            "Cmd": ["--help"],
            "Env": [
                "PATH=/usr/bin",
                "SCS_CERT_CACHE_DIR=/tmp/scs-cert-cache",
                "SCS_CERT_STATE_DIR=/var/lib/scs-cert",
                "SCS_CERT_SPOOL_DIR=/var/lib/scs-cert/spool",
                "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
                "HOME=/var/lib/scs-cert"
            ],
            "WorkingDir": "/var/lib/scs-cert",
            "Volumes": {"/var/lib/scs-cert": {}},
            "Labels": {
                "org.opencontainers.image.title": "scs-cert",
                "org.opencontainers.image.description": "Certify clouds against the Sovereign Cloud Stack standards",
                "org.opencontainers.image.version": version(),
                "org.opencontainers.image.licenses": "Apache-2.0"
            }
        },
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created": created, "created_by": "cargo xtask oci"}]
    });
    let config = serde_json::to_vec(&config).context("config JSON")?;
    let (config_digest, config_size) = put(&config)?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_size
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": layer_digest,
            "size": layer_size
        }]
    });
    let manifest = serde_json::to_vec(&manifest).context("manifest JSON")?;
    let (manifest_digest, manifest_size) = put(&manifest)?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest_size,
            "annotations": {"org.opencontainers.image.ref.name": version()}
        }]
    });
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).context("index JSON")?,
    )
    .context("write index.json")?;
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .context("write oci-layout")?;
    eprintln!(
        "xtask: OCI image layout {} (tag {}): manifest {manifest_digest}, layer {:.1} MiB",
        layout.display(),
        version(),
        layer_size as f64 / (1024.0 * 1024.0)
    );
    Ok(layout)
}

/// RFC 3339 UTC of a Unix time, without a date library.
fn chrono_like(epoch: u64) -> String {
    let secs = epoch % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        super::chrono_free_date(epoch),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Inspect the layout with skopeo, unpack it with umoci, run its binary inside.
pub(super) fn check_oci(layout: &Path) -> Result<()> {
    let reference = format!("oci:{}:{}", layout.display(), version());
    let out = Command::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(&reference)
        .output()
        .context("skopeo (apt-get install skopeo)")?;
    if !out.status.success() {
        bail!(
            "skopeo inspect {reference}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = Command::new("skopeo")
        .args(["inspect", "--config"])
        .arg(&reference)
        .output()
        .context("skopeo inspect --config")?;
    let config = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !config.contains("\"User\": \"65532:65532\"") {
        bail!("skopeo inspect --config {reference}: not the non-root image: {config}");
    }
    let bundle = target_dir().join("package/oci-check");
    let _ = std::fs::remove_dir_all(&bundle);
    std::fs::create_dir_all(&bundle).with_context(|| format!("create {}", bundle.display()))?;
    let rootfs = bundle.join("rootfs");
    let mut c = Command::new("umoci");
    c.args(["raw", "unpack", "--rootless", "--image"])
        .arg(format!("{}:{}", layout.display(), version()))
        .arg(&rootfs);
    run(c, "umoci raw unpack (the layout unpacks)")?;
    // inside the unpacked root when we may chroot: no library of this machine is reachable
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let out = if as_root {
        Command::new("chroot")
            .arg(&rootfs)
            .args(["/usr/bin/scs-cert", "--version"])
            .output()
    } else {
        Command::new(rootfs.join("usr/bin/scs-cert"))
            .arg("--version")
            .output()
    }
    .context("run the image's scs-cert")?;
    if !out.status.success() || !String::from_utf8_lossy(&out.stdout).contains(version()) {
        bail!(
            "the image's scs-cert --version failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    eprintln!(
        "xtask: skopeo reads the image, umoci unpacks it, its scs-cert runs{}",
        if as_root {
            " in a chroot of the image"
        } else {
            ""
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_of_unix_times() {
        assert_eq!(super::chrono_like(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::chrono_like(1_796_594_454), "2026-12-06T22:00:54Z");
        assert_eq!(super::chrono_like(951_782_400), "2000-02-29T00:00:00Z");
    }
}
