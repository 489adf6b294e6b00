//! The updates port: Tauri's updater plugin (minisign signatures checked against the app's public
//! key, or the machine-wide file's), its HTTPS client trusting the system's roots plus
//! `server_ca_file`, as the clinic server's client does. When to check and when to ask is the
//! core's (`consult_core::updates`); this only carries it out.

use std::sync::{Arc, Mutex, PoisonError};

use tauri::{AppHandle, Runtime};
use tauri_plugin_updater::{Error as PluginError, Update, UpdaterExt};

use consult_core::desktop::UpdateSource;
use consult_core::ports::{UpdateError, UpdateFuture, Updater};

/// The public key this build was made with (`plugins.updater.pubkey` in tauri.conf.json); empty
/// when the build has none.
pub fn built_in_key<R: Runtime>(app: &AppHandle<R>) -> String {
    app.config()
        .plugins
        .0
        .get("updater")
        .and_then(|updater| updater.get("pubkey"))
        .and_then(|key| key.as_str())
        .unwrap_or_default()
        .to_owned()
}

pub struct PluginUpdater<R: Runtime> {
    app: AppHandle<R>,
    source: UpdateSource,
    certificates: Vec<reqwest::Certificate>,
    /// What the last check offered.
    offered: Mutex<Option<Update>>,
    /// The download whose signature was verified, for the install.
    verified: Mutex<Option<(Update, Vec<u8>)>>,
}

impl<R: Runtime> PluginUpdater<R> {
    pub fn port(app: &AppHandle<R>, source: UpdateSource) -> Result<Arc<dyn Updater>, UpdateError> {
        let certificates = source
            .ca_certificates
            .iter()
            .map(|der| reqwest::Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| UpdateError::Other(format!("server_ca_file: {error}")))?;
        Ok(Arc::new(PluginUpdater {
            app: app.clone(),
            source,
            certificates,
            offered: Mutex::new(None),
            verified: Mutex::new(None),
        }))
    }

    fn updater(&self) -> Result<tauri_plugin_updater::Updater, UpdateError> {
        let certificates = self.certificates.clone();
        let mut builder = self
            .app
            .updater_builder()
            .endpoints(vec![self.source.endpoint.clone()])
            .map_err(describe)?
            .timeout(self.source.timeout)
            // Added to the system's roots (rustls-platform-verifier), never replacing them, and
            // verification is never turned off.
            .configure_client(move |client| client.tls_certs_merge(certificates.clone()));
        if let Some(key) = &self.source.public_key {
            builder = builder.pubkey(key.trim());
        }
        builder.build().map_err(describe)
    }
}

impl<R: Runtime> Updater for PluginUpdater<R> {
    fn check(&self) -> UpdateFuture<'_, Option<String>> {
        Box::pin(async move {
            let found = self.updater()?.check().await.map_err(describe)?;
            let version = found.as_ref().map(|update| update.version.clone());
            *lock(&self.offered) = found;
            Ok(version)
        })
    }

    fn download(&self) -> UpdateFuture<'_, String> {
        Box::pin(async move {
            let update = lock(&self.offered)
                .clone()
                .ok_or_else(|| UpdateError::Other("no update was offered".into()))?;
            // `download` verifies the signature before it returns the bytes.
            let bytes = update.download(|_, _| {}, || {}).await.map_err(describe)?;
            let version = update.version.clone();
            *lock(&self.verified) = Some((update, bytes));
            Ok(version)
        })
    }

    fn install(&self) -> Result<(), UpdateError> {
        let (update, bytes) = lock(&self.verified)
            .clone()
            .ok_or_else(|| UpdateError::Install("nothing was downloaded".into()))?;
        installable_here()?;
        // Verifies the bytes again, then (a .deb) `dpkg -i` through pkexec, or sudo.
        update
            .install(bytes)
            .map_err(|error| match describe(error) {
                UpdateError::Install(detail) | UpdateError::Other(detail) => {
                    UpdateError::Install(detail)
                }
                other => other,
            })
    }

    fn restart(&self) {
        self.app.restart();
    }
}

/// The plugin installs over the package the app came from; a binary run from a build directory
/// (no bundle type patched in by the bundler) would be overwritten in place, so it is refused.
fn installable_here() -> Result<(), UpdateError> {
    use tauri::utils::config::BundleType;
    match tauri::utils::platform::bundle_type() {
        Some(BundleType::Deb | BundleType::Rpm | BundleType::AppImage) => Ok(()),
        Some(_) if !cfg!(target_os = "linux") => Ok(()),
        _ => Err(UpdateError::Install(
            "this copy of Consult was not installed from a package (.deb, .rpm or AppImage), so it cannot replace itself; install the new version the way this one was installed".into(),
        )),
    }
}

/// The plugin's errors in the port's words, for the log, the diagnostics and the banner. Keys are
/// public and the endpoint carries no credentials (the configuration refuses them); a URL's query
/// is cut off all the same.
fn describe(error: PluginError) -> UpdateError {
    let text = without_queries(&error.to_string());
    match error {
        PluginError::Minisign(_)
        | PluginError::Base64(_)
        | PluginError::SignatureUtf8(_)
        | PluginError::SignedVersionMismatch { .. }
        | PluginError::MissingSignedVersion => UpdateError::BadSignature(text),
        PluginError::Reqwest(_) | PluginError::Network(_) => UpdateError::Unreachable(text),
        PluginError::ReleaseNotFound
        | PluginError::TargetNotFound(_)
        | PluginError::TargetsNotFound(_)
        | PluginError::Serialization(_)
        | PluginError::Semver(_) => UpdateError::BadAnswer(text),
        PluginError::InvalidUpdaterFormat
        | PluginError::PackageInstallFailed
        | PluginError::AuthenticationFailed
        | PluginError::TempDirNotFound => UpdateError::Install(text),
        _ => UpdateError::Other(text),
    }
}

/// `text` with the query of every URL in it left out.
fn without_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_query = false;
    for (at, c) in text.char_indices() {
        if in_query {
            if c.is_whitespace() || c == ')' {
                in_query = false;
                out.push(c);
            }
            continue;
        }
        if c == '?'
            && text[..at]
                .rfind("://")
                .is_some_and(|scheme| !text[scheme..at].contains(char::is_whitespace))
        {
            in_query = true;
            out.push_str("?…");
            continue;
        }
        out.push(c);
    }
    out
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::without_queries;

    #[test]
    fn queries_are_cut_from_urls_in_error_texts() {
        assert_eq!(
            without_queries(
                "error sending request for url (https://u.example/latest.json?token=abc): refused"
            ),
            "error sending request for url (https://u.example/latest.json?…): refused"
        );
        assert_eq!(
            without_queries("is it done? yes (https://u.example/a)"),
            "is it done? yes (https://u.example/a)"
        );
    }
}
