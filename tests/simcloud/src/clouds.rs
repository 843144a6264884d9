//! clouds.yaml writer (openstacksdk / keystoneauth format) for a fixture user or application
//! credential.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Error;
use crate::fixture::Fixture;

/// Which identity a clouds.yaml authenticates as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The fixture's first user (password auth).
    FirstUser,
    /// A user by name (password auth).
    User(String),
    /// An application credential by id (`auth_type: v3applicationcredential`).
    ApplicationCredential(String),
}

#[derive(Serialize)]
struct CloudsFile<'a> {
    clouds: BTreeMap<&'a str, Cloud>,
}

#[derive(Serialize)]
struct Cloud {
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_type: Option<&'static str>,
    auth: Auth,
    region_name: String,
    interface: &'static str,
    identity_api_version: u32,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Auth {
    Password {
        auth_url: String,
        username: String,
        password: String,
        project_name: String,
        user_domain_name: &'static str,
        project_domain_name: &'static str,
    },
    AppCredential {
        auth_url: String,
        application_credential_id: String,
        application_credential_secret: String,
    },
}

/// Render a clouds.yaml with one cloud `cloud_name` that authenticates at `auth_url`.
pub fn clouds_yaml(
    fixture: &Fixture,
    auth_url: &str,
    cloud_name: &str,
    credential: &Credential,
) -> Result<String, Error> {
    let (auth_type, auth) = match credential {
        Credential::FirstUser | Credential::User(_) => {
            let user = match credential {
                Credential::User(name) => fixture.user(name),
                _ => fixture.users.first(),
            }
            .ok_or_else(|| Error::UnknownCredential(format!("{credential:?}")))?;
            (
                None,
                Auth::Password {
                    auth_url: auth_url.to_owned(),
                    username: user.name.clone(),
                    password: user.password.clone(),
                    project_name: user.project.clone(),
                    user_domain_name: "Default",
                    project_domain_name: "Default",
                },
            )
        }
        Credential::ApplicationCredential(id) => {
            let cred = fixture
                .application_credential(id)
                .ok_or_else(|| Error::UnknownCredential(format!("{credential:?}")))?;
            (
                Some("v3applicationcredential"),
                Auth::AppCredential {
                    auth_url: auth_url.to_owned(),
                    application_credential_id: cred.id.clone(),
                    application_credential_secret: cred.secret.clone(),
                },
            )
        }
    };
    let cloud = Cloud {
        auth_type,
        auth,
        region_name: fixture.region.clone(),
        interface: "public",
        identity_api_version: 3,
    };
    let file = CloudsFile {
        clouds: BTreeMap::from([(cloud_name, cloud)]),
    };
    yaml_serde::to_string(&file).map_err(|e| Error::Yaml(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Fixture {
        Fixture::from_yaml(
            "region: R2\n\
             users: [{name: member, password: s3cret, project: demo, roles: [member]}]\n\
             application_credentials: [{id: ac1, secret: sec, user: member}]\n",
        )
        .expect("valid fixture")
    }

    #[test]
    fn password_cloud() {
        let text = clouds_yaml(
            &fixture(),
            "http://h/identity/v3",
            "sim",
            &Credential::FirstUser,
        )
        .expect("rendered");
        let v: yaml_serde::Value = yaml_serde::from_str(&text).expect("yaml");
        let cloud = &v["clouds"]["sim"];
        assert_eq!(
            cloud["auth"]["auth_url"].as_str(),
            Some("http://h/identity/v3")
        );
        assert_eq!(cloud["auth"]["username"].as_str(), Some("member"));
        assert_eq!(cloud["auth"]["password"].as_str(), Some("s3cret"));
        assert_eq!(cloud["auth"]["project_name"].as_str(), Some("demo"));
        assert_eq!(cloud["auth"]["user_domain_name"].as_str(), Some("Default"));
        assert_eq!(
            cloud["auth"]["project_domain_name"].as_str(),
            Some("Default")
        );
        assert_eq!(cloud["region_name"].as_str(), Some("R2"));
        assert_eq!(cloud["interface"].as_str(), Some("public"));
        assert_eq!(cloud["identity_api_version"].as_u64(), Some(3));
        assert!(cloud.get("auth_type").is_none());
    }

    #[test]
    fn application_credential_cloud() {
        let text = clouds_yaml(
            &fixture(),
            "http://h/identity/v3",
            "ci",
            &Credential::ApplicationCredential("ac1".into()),
        )
        .expect("rendered");
        let v: yaml_serde::Value = yaml_serde::from_str(&text).expect("yaml");
        let cloud = &v["clouds"]["ci"];
        assert_eq!(cloud["auth_type"].as_str(), Some("v3applicationcredential"));
        assert_eq!(
            cloud["auth"]["application_credential_id"].as_str(),
            Some("ac1")
        );
        assert_eq!(
            cloud["auth"]["application_credential_secret"].as_str(),
            Some("sec")
        );
        assert!(cloud["auth"].get("username").is_none());
    }

    #[test]
    fn unknown_credentials_are_errors() {
        let f = fixture();
        let user = clouds_yaml(&f, "u", "c", &Credential::User("nobody".into()));
        assert!(matches!(user, Err(Error::UnknownCredential(_))));
        let cred = clouds_yaml(&f, "u", "c", &Credential::ApplicationCredential("x".into()));
        assert!(matches!(cred, Err(Error::UnknownCredential(_))));
        let empty = Fixture::from_yaml("{}").expect("valid");
        assert!(clouds_yaml(&empty, "u", "c", &Credential::FirstUser).is_err());
    }
}
