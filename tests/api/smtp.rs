//! A real SMTP server on loopback for the mail tests: it speaks the protocol (EHLO, MAIL,
//! RCPT, DATA with dot-stuffing, RSET, NOOP, QUIT) over TCP, keeps every message it accepts,
//! and can refuse the next transactions with a transient `451` to exercise retries. Plus just
//! enough MIME to read a captured message's text part (quoted-printable, base64, 7/8bit).
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};

use crate::helpers::TestApp;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Captured {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA as received, dot-stuffing undone, CRLF line ends.
    pub data: String,
}

pub struct SmtpServer {
    pub port: u16,
    inbox: Mutex<mpsc::UnboundedReceiver<Captured>>,
    refuse: Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = mpsc::unbounded_channel();
        let refuse = Arc::new(AtomicU32::new(0));
        let refuse_c = refuse.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, tx.clone(), refuse_c.clone()));
            }
        });
        SmtpServer {
            port,
            inbox: Mutex::new(rx),
            refuse,
            task,
        }
    }

    /// `email.smtp_url` for this server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next `n` transactions are refused at `MAIL FROM` with `451` (try again later).
    pub fn refuse_next(&self, n: u32) {
        self.refuse.store(n, Ordering::SeqCst);
    }

    /// The next message (waiting up to 15 s).
    pub async fn next(&self) -> Captured {
        let mut inbox = self.inbox.lock().await;
        tokio::time::timeout(Duration::from_secs(15), inbox.recv())
            .await
            .expect("no mail arrived within 15 s")
            .expect("the SMTP server stopped")
    }

    /// Asserts that no message arrives within `wait`.
    pub async fn assert_none_within(&self, wait: Duration) {
        let mut inbox = self.inbox.lock().await;
        if let Ok(Some(m)) = tokio::time::timeout(wait, inbox.recv()).await {
            panic!("unexpected mail: to {:?}, {}", m.to, m.subject());
        }
    }
}

/// The settings that send mail to `smtp`.
pub fn use_smtp(settings: &mut portcullis::config::Settings, smtp: &SmtpServer) {
    settings.email.smtp_url = Some(smtp.url());
    settings.email.from = Some("Portcullis <no-reply@example.com>".into());
}

async fn session(
    stream: TcpStream,
    inbox: mpsc::UnboundedSender<Captured>,
    refuse: Arc<AtomicU32>,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write
        .write_all(b"220 localhost test ESMTP\r\n")
        .await
        .is_err()
    {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_string();
        let verb = command.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let answer: String = match verb.as_str() {
            "EHLO" => "250-localhost\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 OK".into(),
            "HELO" | "NOOP" => "250 OK".into(),
            "RSET" => {
                (from, to) = (String::new(), Vec::new());
                "250 OK".into()
            }
            "MAIL" => {
                let left = refuse.load(Ordering::SeqCst);
                if left > 0 {
                    refuse.store(left - 1, Ordering::SeqCst);
                    "451 4.3.0 Try again later".into()
                } else {
                    from = address(&command);
                    "250 OK".into()
                }
            }
            "RCPT" => {
                to.push(address(&command));
                "250 OK".into()
            }
            "DATA" => {
                if write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let mut data = String::new();
                loop {
                    line.clear();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(unstuffed);
                }
                let _ = inbox.send(Captured {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
                "250 OK queued".into()
            }
            "QUIT" => {
                let _ = write.write_all(b"221 Bye\r\n").await;
                return;
            }
            _ => "502 Command not implemented".into(),
        };
        if write
            .write_all(format!("{answer}\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The address in `MAIL FROM:<a>` / `RCPT TO:<a>`.
fn address(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..]
        .find('>')
        .map_or(command.len(), |i| start + i);
    command[start..end].to_string()
}

impl Captured {
    fn split(data: &str) -> (Vec<(String, String)>, String) {
        let (head, body) = data.split_once("\r\n\r\n").unwrap_or((data, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push_str(line.trim_start());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        (headers, body.to_string())
    }

    fn header(headers: &[(String, String)], name: &str) -> Option<String> {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    pub fn subject(&self) -> String {
        Self::header(&Self::split(&self.data).0, "subject").unwrap_or_default()
    }

    /// The decoded body of the part with this content type (`text/plain`, `text/html`).
    pub fn part(&self, content_type: &str) -> String {
        let (headers, body) = Self::split(&self.data);
        let ctype = Self::header(&headers, "content-type").unwrap_or_default();
        let boundary = ctype
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').to_string())
            .expect("a multipart message");
        for part in body.split(&format!("--{boundary}")) {
            let part = part.trim_start_matches("\r\n");
            let (h, b) = Self::split(part);
            let matches =
                Self::header(&h, "content-type").is_some_and(|t| t.starts_with(content_type));
            if matches {
                return decode(&b, Self::header(&h, "content-transfer-encoding").as_deref());
            }
        }
        panic!("no {content_type} part in:\n{}", self.data)
    }

    pub fn text(&self) -> String {
        self.part("text/plain")
    }

    /// The first link in the text part whose URL contains `path`.
    pub fn link(&self, path: &str) -> String {
        let text = self.text();
        text.split_whitespace()
            .find(|w| w.starts_with("http") && w.contains(path))
            .unwrap_or_else(|| panic!("no {path} link in:\n{text}"))
            .to_string()
    }
}

fn decode(body: &str, encoding: Option<&str>) -> String {
    match encoding.map(str::to_ascii_lowercase).as_deref() {
        Some("quoted-printable") => {
            let joined = body.replace("=\r\n", "");
            let bytes = joined.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'=' && i + 3 <= bytes.len() {
                    if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                }
                out.push(bytes[i]);
                i += 1;
            }
            String::from_utf8(out).unwrap()
        }
        Some("base64") => {
            let compact: String = body.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .unwrap();
            String::from_utf8(bytes).unwrap()
        }
        _ => body.to_string(),
    }
}

impl TestApp {
    /// The path and query of a link from a mail, on this server.
    pub fn local(&self, link: &str) -> String {
        let path = link
            .strip_prefix(&self.address)
            .unwrap_or_else(|| panic!("{link} is not ours"));
        self.url(path)
    }
}

/// The token of a mailed link.
pub fn token_of(link: &str) -> String {
    crate::web::param(link, "token").expect("a token in the link")
}
