//! A local https host for client metadata documents: its own CA (a PEM file the server under
//! test is told to trust) and a certificate for `localhost` and 127.0.0.1; it counts requests
//! per path and answers each path as told (a document, a redirect, a slow answer). openssl (a
//! dependency already) makes the certificates and serves TLS, one thread per connection.
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslAcceptor, SslMethod};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Name, X509NameBuilder, X509};

/// How a path answers.
#[derive(Clone, Debug)]
pub enum Answer {
    /// `status`, `Content-Type`, optional `Cache-Control`, the body; `length`: with a
    /// Content-Length (else the body runs to the end of the connection).
    Body {
        status: u16,
        content_type: String,
        cache_control: Option<String>,
        body: String,
        length: bool,
    },
    /// 302 to this location.
    Redirect(String),
    /// This answer, after a pause.
    Slow(Duration, Box<Answer>),
}

impl Answer {
    pub fn json(body: &serde_json::Value, cache_control: Option<&str>) -> Answer {
        Answer::Body {
            status: 200,
            content_type: "application/json".into(),
            cache_control: cache_control.map(str::to_string),
            body: body.to_string(),
            length: true,
        }
    }
}

pub struct DocHost {
    pub port: u16,
    /// The PEM file of the host's CA.
    pub ca_file: PathBuf,
    _dir: tempfile::TempDir,
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl DocHost {
    pub fn start() -> DocHost {
        let (ca, ca_key) = ca();
        let (cert, key) = server_cert(&ca, &ca_key);
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.to_pem().unwrap()).unwrap();
        let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
        acceptor.set_private_key(&key).unwrap();
        acceptor.set_certificate(&cert).unwrap();
        acceptor.check_private_key().unwrap();
        let acceptor = Arc::new(acceptor.build());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let answers: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (a, h) = (answers.clone(), hits.clone());
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let (acceptor, a, h) = (acceptor.clone(), a.clone(), h.clone());
                std::thread::spawn(move || {
                    tcp.set_read_timeout(Some(Duration::from_secs(5))).ok();
                    tcp.set_write_timeout(Some(Duration::from_secs(5))).ok();
                    if let Ok(mut tls) = acceptor.accept(tcp) {
                        serve(&mut tls, &a, &h);
                        tls.shutdown().ok();
                    }
                });
            }
        });
        DocHost {
            port,
            ca_file,
            _dir: dir,
            answers,
            hits,
        }
    }

    /// `https://localhost:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    pub fn answer(&self, path: &str, answer: Answer) {
        self.answers.lock().unwrap().insert(path.into(), answer);
    }

    /// Requests seen for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

fn serve<S: Read + Write>(
    s: &mut S,
    answers: &Mutex<HashMap<String, Answer>>,
    hits: &Mutex<HashMap<String, usize>>,
) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&request);
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let answer = answers.lock().unwrap().get(&path).cloned();
    let mut answer = answer.unwrap_or(Answer::Body {
        status: 404,
        content_type: "text/plain".into(),
        cache_control: None,
        body: "not here".into(),
        length: true,
    });
    while let Answer::Slow(pause, then) = answer {
        std::thread::sleep(pause);
        answer = *then;
    }
    let response = match answer {
        Answer::Redirect(to) => {
            format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        }
        Answer::Body {
            status,
            content_type,
            cache_control,
            body,
            length,
        } => {
            let mut r = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nConnection: close\r\n"
            );
            if let Some(cc) = cache_control {
                r.push_str(&format!("Cache-Control: {cc}\r\n"));
            }
            if length {
                r.push_str(&format!("Content-Length: {}\r\n", body.len()));
            }
            r.push_str("\r\n");
            r.push_str(&body);
            r
        }
        Answer::Slow(..) => unreachable!(),
    };
    s.write_all(response.as_bytes()).ok();
    s.flush().ok();
}

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn name(cn: &str) -> X509Name {
    let mut b = X509NameBuilder::new().unwrap();
    b.append_entry_by_text("CN", cn).unwrap();
    b.build()
}

fn serial() -> Asn1Integer {
    let mut bn = BigNum::new().unwrap();
    bn.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    bn.to_asn1_integer().unwrap()
}

fn validity(b: &mut openssl::x509::X509Builder) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    b.set_not_before(&Asn1Time::from_unix(now - 3600).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + 86400).unwrap())
        .unwrap();
}

fn ca() -> (X509, PKey<Private>) {
    let key = key();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&serial()).unwrap();
    let n = name("Portcullis test CA");
    b.set_subject_name(&n).unwrap();
    b.set_issuer_name(&n).unwrap();
    b.set_pubkey(&key).unwrap();
    validity(&mut b);
    b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()
            .unwrap(),
    )
    .unwrap();
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(ski).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (b.build(), key)
}

fn server_cert(ca: &X509, ca_key: &PKey<Private>) -> (X509, PKey<Private>) {
    let key = key();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&serial()).unwrap();
    b.set_subject_name(&name("localhost")).unwrap();
    b.set_issuer_name(ca.subject_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    validity(&mut b);
    b.append_extension(BasicConstraints::new().build().unwrap())
        .unwrap();
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .build()
            .unwrap(),
    )
    .unwrap();
    b.append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .build(&b.x509v3_context(Some(ca), None))
        .unwrap();
    b.append_extension(san).unwrap();
    let aki = AuthorityKeyIdentifier::new()
        .keyid(false)
        .build(&b.x509v3_context(Some(ca), None))
        .unwrap();
    b.append_extension(aki).unwrap();
    b.sign(ca_key, MessageDigest::sha256()).unwrap();
    (b.build(), key)
}
