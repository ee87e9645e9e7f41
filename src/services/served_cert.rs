//! The certificate a member actually serves, read from a TLS handshake with it (as
//! `openssl s_client` shows it), whatever it is: expired, from another CA, naming other
//! names. Judging it is the caller's business, so the handshake trusts anything and
//! keeps what it was shown. It presents the client certificate it is given: etcd with
//! `--client-cert-auth` (and its peer port with `--peer-client-cert-auth`) shows its own
//! only to a client that shows one.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::cert_info::{CertInfo, from_der};

/// How long a handshake may take: a member that is up answers in milliseconds.
const WITHIN: Duration = Duration::from_secs(5);

/// Accepts any certificate, keeping the first (the member's own) it was shown; the
/// handshake's signatures are still checked, so the certificate is the server's.
#[derive(Debug)]
struct Keep {
    seen: Mutex<Option<Vec<u8>>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Keep {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().expect("not poisoned") = Some(end_entity.to_vec());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The client certificate and key a handshake presents.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, String> {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{}: {e}", cert.display()))?;
        let key =
            PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
        Ok(Self { chain, key })
    }
}

/// The certificate the server at `addr` serves under the name `host`: a handshake, then
/// the connection closed. An error says why no certificate was shown.
pub async fn served(
    addr: SocketAddr,
    host: &str,
    me: Option<&Identity>,
) -> Result<CertInfo, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let keep = Arc::new(Keep {
        seen: Mutex::new(None),
        provider: provider.clone(),
    });
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(keep.clone());
    let config = match me {
        Some(me) => builder
            .with_client_auth_cert(me.chain.clone(), me.key.clone_key())
            .map_err(|e| format!("the client certificate: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    let name = ServerName::try_from(host.to_string()).map_err(|e| format!("{host}: {e}"))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let shake = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        // The server may close once it has judged the client's certificate: what it
        // showed before that was kept all the same.
        let _ = connector.connect(name, tcp).await;
        Ok::<(), String>(())
    };
    tokio::time::timeout(WITHIN, shake)
        .await
        .map_err(|_| format!("{addr}: no TLS handshake within {} s", WITHIN.as_secs()))??;
    let der = keep
        .seen
        .lock()
        .expect("not poisoned")
        .take()
        .ok_or_else(|| format!("{addr} showed no certificate"))?;
    from_der(&der)
}
