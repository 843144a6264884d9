//! Test certificates made at test time with the real `openssl` command-line tool (never
//! embedded): a CA, a server certificate for 127.0.0.1 / localhost / kube.internal and a
//! client certificate, EC P-256, v3 leaves signed by the CA with the key usages rustls wants.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The OpenSSL configuration of the three certificates.
const PKI_CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = scs-cert test
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:kube.internal
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// Run `openssl ARGS` in `dir`; a missing openssl fails the test with what to install.
pub fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `openssl` ({e}): the tests make their certificates and keys with the \
                 openssl command-line tool; install openssl (Debian/Ubuntu: apt-get install openssl)"
            )
        });
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The files of a fresh PKI.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The directory holding them.
    pub dir: PathBuf,
    /// The CA certificate.
    pub ca: PathBuf,
    /// The server certificate (127.0.0.1, localhost, kube.internal).
    pub server_cert: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// The client certificate.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
}

/// Make a fresh [`Pki`] in `dir` (created): the CA self-signed, the two leaves signed by it.
pub fn make_pki(dir: &Path) -> Pki {
    const EC: &str = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    std::fs::create_dir_all(dir).expect("create PKI directory");
    std::fs::write(dir.join("pki.cnf"), PKI_CONFIG).expect("write pki.cnf");
    openssl(
        dir,
        &format!(
            "req -x509 -config pki.cnf -extensions ca {EC} -keyout ca.key -out ca.pem -days 2 \
             -subj /CN=scs-cert-test-CA"
        ),
    );
    for (name, cn) in [("server", "127.0.0.1"), ("client", "scs-cert-test-client")] {
        openssl(
            dir,
            &format!(
                "req -new -config pki.cnf {EC} -keyout {name}.key -out {name}.csr -subj /CN={cn}"
            ),
        );
        openssl(
            dir,
            &format!(
                "x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
                 -sha256 -extfile pki.cnf -extensions {name} -out {name}.pem"
            ),
        );
    }
    Pki {
        dir: dir.to_path_buf(),
        ca: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
    }
}
