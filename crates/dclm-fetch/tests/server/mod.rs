//! A small HTTP/1.1 file server on 127.0.0.1 for the tests: serves fixture bytes by path, honours `Range`,
//! can answer scripted statuses (429/503/404) and redirects, cut a connection mid-body, logs each request's
//! `Authorization` header, and counts requests in flight. Paths include the query string.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the next request to a path gets.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub(crate) enum Behavior {
    /// This status with an empty body (and `Retry-After: secs` when given).
    Status(u16, Option<u64>),
    /// Normal headers (full `Content-Length`), then only this many body bytes, then the connection is closed.
    CutAfter(usize),
    /// `302 Found` to this URL.
    Redirect(String),
}

/// One logged request.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub(crate) struct Logged {
    pub path: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub authorization: Option<String>,
    pub status: u16,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    files: Mutex<HashMap<String, Vec<u8>>>,
    script: Mutex<HashMap<String, VecDeque<Behavior>>>,
    log: Mutex<Vec<Logged>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    delay: Mutex<Duration>,
}

/// The server (runs until the test process ends).
#[derive(Clone)]
pub(crate) struct Server {
    pub base: String,
    state: Arc<State>,
}

#[allow(dead_code)]
impl Server {
    pub(crate) fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}/", listener.local_addr().unwrap());
        let state = Arc::new(State::default());
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || handle(conn, &st));
            }
        });
        Server { base, state }
    }

    pub(crate) fn add(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.state
            .files
            .lock()
            .unwrap()
            .insert(path.trim_start_matches('/').to_string(), body.into());
    }

    pub(crate) fn script(&self, path: &str, behaviors: impl IntoIterator<Item = Behavior>) {
        self.state
            .script
            .lock()
            .unwrap()
            .entry(path.trim_start_matches('/').to_string())
            .or_default()
            .extend(behaviors);
    }

    /// Hold every response this long before sending the body (makes overlap observable).
    pub(crate) fn set_delay(&self, d: Duration) {
        *self.state.delay.lock().unwrap() = d;
    }

    pub(crate) fn log(&self) -> Vec<Logged> {
        self.state.log.lock().unwrap().clone()
    }

    pub(crate) fn requests_to(&self, path: &str) -> Vec<Logged> {
        self.log()
            .into_iter()
            .filter(|l| l.path == path.trim_start_matches('/'))
            .collect()
    }

    pub(crate) fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }
}

struct InFlight<'a>(&'a State);

impl<'a> InFlight<'a> {
    fn enter(st: &'a State) -> Self {
        let now = st.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        st.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(st)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn handle(mut conn: TcpStream, st: &State) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut range = None;
    let mut if_range: Option<String> = None;
    let mut authorization: Option<String> = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            }
            if k.eq_ignore_ascii_case("if-range") {
                if_range = Some(v.trim().to_string());
            }
            if k.eq_ignore_ascii_case("authorization") {
                authorization = Some(v.trim().to_string());
            }
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .trim_start_matches('/')
        .to_string();
    let _guard = InFlight::enter(st);
    let delay = *st.delay.lock().unwrap();
    let behavior = st.script.lock().unwrap().get_mut(&path).and_then(VecDeque::pop_front);
    let body = st.files.lock().unwrap().get(&path).cloned();
    let log = |status: u16| {
        st.log.lock().unwrap().push(Logged {
            path: path.clone(),
            range: range.clone(),
            if_range: if_range.clone(),
            authorization: authorization.clone(),
            status,
            at: Instant::now(),
        })
    };
    std::thread::sleep(delay);
    if let Some(Behavior::Status(code, retry_after)) = behavior {
        log(code);
        let ra = retry_after.map(|s| format!("Retry-After: {s}\r\n")).unwrap_or_default();
        let _ = write!(
            conn,
            "HTTP/1.1 {code} Scripted\r\n{ra}Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return;
    }
    if let Some(Behavior::Redirect(to)) = &behavior {
        log(302);
        let _ = write!(
            conn,
            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return;
    }
    let Some(body) = body else {
        log(404);
        let _ = write!(
            conn,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return;
    };
    let len = body.len();
    // A strong validator of the content, as S3 and CDNs send; `If-Range` with another one gets the whole file.
    let etag = format!("\"{:016x}-{len}\"", fnv(&body));
    let effective = match &if_range {
        Some(v) if *v != etag => None,
        _ => range.clone(),
    };
    let start = effective
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|s| s.parse::<usize>().ok());
    let (status, head, slice) = match start {
        Some(s) if s >= len => {
            log(416);
            let _ = write!(
                conn,
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            return;
        }
        Some(s) => (
            206,
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {s}-{}/{len}\r\n",
                len - 1
            ),
            &body[s..],
        ),
        None => (200, "HTTP/1.1 200 OK\r\n".to_string(), &body[..]),
    };
    log(status);
    let _ = write!(
        conn,
        "{head}Content-Length: {}\r\nETag: {etag}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
        slice.len()
    );
    let send = match behavior {
        Some(Behavior::CutAfter(n)) => &slice[..n.min(slice.len())],
        _ => slice,
    };
    let _ = conn.write_all(send);
    let _ = conn.flush();
    let _ = conn.shutdown(std::net::Shutdown::Both);
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
        (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3)
    })
}
