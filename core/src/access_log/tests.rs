use super::timestamp::{civil, push_clf_time};
use super::*;

/// One request, rich enough to exercise every atom: a quote and a
/// non-ASCII byte in the URI, escapes in the path, Basic auth, a quoted
/// user agent.
struct Rec {
    remote: &'static str,
    method: &'static str,
    raw_uri: &'static [u8],
    path: &'static [u8],
    query: &'static [u8],
    version: (u8, u8),
    status: u16,
    length: Option<u64>,
    req: Vec<(&'static str, &'static [u8])>,
    resp: Vec<(&'static str, &'static [u8])>,
    environ: Vec<(&'static str, &'static str)>,
    duration: Duration,
    start: (i64, u32),
    offset: i32,
    user: Option<&'static str>,
}

impl AccessRecord for Rec {
    fn remote_addr(&self) -> &str {
        self.remote
    }
    fn method(&self) -> &str {
        self.method
    }
    fn raw_uri(&self) -> &[u8] {
        self.raw_uri
    }
    fn path(&self) -> &[u8] {
        self.path
    }
    fn query(&self) -> &[u8] {
        self.query
    }
    fn http_version(&self) -> (u8, u8) {
        self.version
    }
    fn status(&self) -> u16 {
        self.status
    }
    fn response_length(&self) -> Option<u64> {
        self.length
    }
    fn request_header(&self, lower_name: &str) -> Option<&[u8]> {
        self.req
            .iter()
            .rev()
            .find(|(n, _)| *n == lower_name)
            .map(|(_, v)| *v)
    }
    fn response_header(&self, lower_name: &str) -> Option<&[u8]> {
        self.resp
            .iter()
            .rev()
            .find(|(n, _)| *n == lower_name)
            .map(|(_, v)| *v)
    }
    fn environ_var(&self, lower_name: &str) -> Option<String> {
        self.environ
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(lower_name))
            .map(|(_, v)| (*v).to_owned())
    }
    fn pid(&self) -> u32 {
        4242
    }
    fn duration(&self) -> Duration {
        self.duration
    }
    fn start_unix(&self) -> (i64, u32) {
        self.start
    }
    fn utc_offset_secs(&self) -> i32 {
        self.offset
    }
    fn remote_user(&self) -> Option<&str> {
        self.user
    }
}

fn sample() -> Rec {
    Rec {
        remote: "192.168.1.7",
        method: "GET",
        raw_uri: b"/a%20b/\xe9?q=\"x\"",
        path: b"/a%20b/\xe9",
        query: b"q=\"x\"",
        version: (1, 1),
        status: 200,
        length: Some(1234),
        req: vec![
            ("host", b"example.com"),
            ("referer", b"http://example.com/start"),
            ("user-agent", b"curl/8.0 \"quoted\""),
            ("authorization", b"Basic dXNlcjpwYXNz"),
            ("x-forwarded-for", b"10.0.0.1"),
            ("x-forwarded-for", b"10.0.0.2"),
        ],
        resp: vec![("content-type", b"text/plain"), ("x-request-id", b"abc")],
        environ: vec![("wsgi.url_scheme", "http"), ("SERVER_NAME", "example.com")],
        // 10 Oct 2000 20:55:36 UTC, i.e. 13:55:36 -0700; the response
        // ends 1.234567891 s later.
        duration: Duration::new(1, 234_567_891),
        start: (971_211_336, 0),
        offset: -7 * 3600,
        user: None,
    }
}

fn render(fmt: &str, rec: &Rec) -> String {
    let f = AccessLogFormat::parse(fmt).unwrap_or_else(|e| panic!("{fmt}: {e}"));
    let mut out = Vec::new();
    f.render(rec, &mut out);
    String::from_utf8(out).expect("rendered lines are UTF-8")
}

#[test]
fn default_format() {
    insta::assert_snapshot!(render(DEFAULT_FORMAT, &sample()));
    let d = AccessLogFormat::default();
    assert_eq!(d, AccessLogFormat::parse(DEFAULT_FORMAT).unwrap());
    assert!(d.unknown_atoms().is_empty());
}

#[test]
fn every_atom() {
    let atoms = [
        "h",
        "l",
        "u",
        "t",
        "r",
        "m",
        "U",
        "q",
        "H",
        "s",
        "B",
        "b",
        "f",
        "a",
        "T",
        "D",
        "M",
        "L",
        "p",
        "{x-forwarded-for}i",
        "{X-Forwarded-For}I",
        "{content-type}o",
        "{missing}o",
        "{wsgi.url_scheme}e",
        "{server_name}e",
        "{nope}e",
        "{host}x",
        "zz",
    ];
    let rec = sample();
    let mut lines = String::new();
    for a in atoms {
        let fmt = format!("%({a})s");
        lines.push_str(&format!("{fmt:<24} {}\n", render(&fmt, &rec)));
    }
    insta::assert_snapshot!(lines);
}

#[test]
fn missing_values() {
    let mut rec = sample();
    rec.req.clear();
    rec.length = None;
    rec.remote = "";
    assert_eq!(
        render(DEFAULT_FORMAT, &rec),
        r#" - - [10/Oct/2000:13:55:37 -0700] "GET /a%20b/é?q=\"x\" HTTP/1.1" 200 - "-" "-""#
    );
    assert_eq!(render("%(B)s %(b)s %({x}i)s %({x}o)s", &rec), "0 - - -");
}

#[test]
fn remote_user() {
    let mut rec = sample();
    rec.user = Some("alice\"");
    assert_eq!(render("%(u)s", &rec), "alice\\\"");
    let cases: [(&[u8], &str); 16] = [
        (b"Basic dXNlcjpwYXNz", "user"),
        (b"basic   dXNlcjpwYXNz  ", "user"),
        (b"BASIC dXNl cjpw YXNz", "user"),
        (b"Basic dXNlcg==", "user"),
        (b"Basic dXNlcg", "-"),          // incorrect padding
        (b"Basic dXNlcg==junk", "user"), // padding completes: the rest is ignored
        (b"Basic OnBhc3M=", "-"),        // empty user name
        (b"Basic /w==", "-"),            // not UTF-8
        (b"Bearer dXNlcjpwYXNz", "-"),
        // What CPython's binascii.a2b_base64 gives for these, as gunicorn
        // decodes them: leftover bits ignored, stray padding and bytes
        // outside the alphabet skipped.
        (b"Basic dXNlch==", "user"),
        (b"Basic dXNlcjpw=YXNz", "user"),
        (b"Basic d=XNlcg==", "user"),
        (b"Basic dX=NlcjE=", "user1"),
        (b"Basic =dXNlcjE6", "user1"),
        (b"Basic dXNlcjE6===", "user1"),
        (b"Basic \xc3dXNlcjE6", "user1"),
    ];
    for (auth, want) in cases {
        let mut rec = sample();
        rec.req.retain(|(n, _)| *n != "authorization");
        rec.req.push(("authorization", auth));
        assert_eq!(
            render("%(u)s", &rec),
            want,
            "{}",
            String::from_utf8_lossy(auth)
        );
    }
}

#[test]
fn durations() {
    let mut rec = sample();
    rec.duration = Duration::from_micros(123);
    assert_eq!(render("%(T)s %(D)s %(M)s %(L)s", &rec), "0 123 0 0.000123");
    rec.duration = Duration::new(62, 5_999_999);
    assert_eq!(
        render("%(T)s %(D)s %(M)s %(L)s", &rec),
        "62 62005999 62005 62.005999"
    );
}

#[test]
fn python_format_specs() {
    let rec = sample();
    assert_eq!(render("%(h)20s|", &rec), "         192.168.1.7|");
    assert_eq!(render("%(h)-15s|", &rec), "192.168.1.7    |");
    assert_eq!(render("%(h).3s|", &rec), "192|");
    assert_eq!(render("%(U)-10.4s|", &rec), "/a b      |");
    assert_eq!(render("%(U)8s|", &rec), "  /a b/é|");
    assert_eq!(
        render("%(B)08d %(B)-6d| %(B)+d %(T) d %(B).6d", &rec),
        "00001234 1234  | +1234  1 001234"
    );
    assert_eq!(render("%(M)ld", &rec), "1234");
    assert_eq!(render("100%% %(s)s", &rec), "100% 200");
    assert_eq!(render("no atoms", &rec), "no atoms");
    assert_eq!(render("", &rec), "");
    assert_eq!(render("é %(s)s ü", &rec), "é 200 ü");
}

#[test]
fn unknown_atoms_render_as_dash() {
    let f = AccessLogFormat::parse("%(h)s %(hh)s %({x}z)s %(hh)s").unwrap();
    assert_eq!(f.unknown_atoms(), ["hh", "{x}z"]);
    let mut out = Vec::new();
    f.render(&sample(), &mut out);
    assert_eq!(out, b"192.168.1.7 - - -");
}

#[test]
fn parse_errors_name_the_atom() {
    let cases = [
        (
            "100%",
            "'%' at the end of the format (position 3): write %% for a literal percent sign",
        ),
        (
            "%s %(h)s",
            "'%s' at position 0 has no atom name: write %(name)s, e.g. %(h)s",
        ),
        (
            "x %(h",
            "unterminated atom '%(h' at position 2: expected %(name)s",
        ),
        (
            "%(h)",
            "atom '%(h)' at position 0 has no conversion: expected %(h)s",
        ),
        (
            "%(s)d",
            "atom %(s)d: 's' is text and %d needs a number; use %(s)s",
        ),
        ("%(T)x", "atom %(T)x: unsupported conversion 'x'; use %(T)s"),
        ("%(h)*s", "atom %(h)*: '*' widths are not supported"),
    ];
    for (fmt, want) in cases {
        assert_eq!(AccessLogFormat::parse(fmt).unwrap_err(), want, "{fmt}");
    }
    // Nested parentheses belong to the key, as in Python.
    let f = AccessLogFormat::parse("%(a(b)c)s").unwrap();
    assert_eq!(f.unknown_atoms(), ["a(b)c"]);
}

#[test]
fn clf_time() {
    let mut out = Vec::new();
    push_clf_time(0, 0, &mut out);
    push_clf_time(951_782_400, 3600 * 5 + 1800, &mut out); // 2000-02-29 05:30 +0530
    push_clf_time(-1, 0, &mut out);
    push_clf_time(253_402_300_799, 0, &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "[01/Jan/1970:00:00:00 +0000][29/Feb/2000:05:30:00 +0530]\
         [31/Dec/1969:23:59:59 +0000][31/Dec/9999:23:59:59 +0000]"
    );
}

#[test]
fn error_prefix() {
    let mut out = Vec::new();
    error_log_prefix(1_795_501_800, 0, 1234, "INFO", &mut out);
    assert_eq!(out, b"[2026-11-24 06:30:00 +0000] [1234] [INFO] ");
    out.clear();
    error_log_prefix(1_795_501_800, -(3 * 3600 + 30 * 60), 7, "WARNING", &mut out);
    assert_eq!(out, b"[2026-11-24 03:00:00 -0330] [7] [WARNING] ");
}

#[test]
fn rfc3339_stamp_of_a_json_line() {
    let mut out = Vec::new();
    rfc3339_millis(1_795_501_800, 250, 0, &mut out);
    assert_eq!(out, b"2026-11-24T06:30:00.250+00:00");
    out.clear();
    rfc3339_millis(1_795_501_800, 7, -(3 * 3600 + 30 * 60), &mut out);
    assert_eq!(out, b"2026-11-24T03:00:00.007-03:30");
}

#[test]
fn civil_dates_round_trip() {
    // Every day from 1900 to 2100 against a day-by-day walk.
    let mut days = -25_567; // 1900-01-01
    let (mut y, mut m, mut d) = (1900i64, 1u32, 1u32);
    while y < 2100 {
        // The first and the last second of the day.
        for secs in [days * 86_400, days * 86_400 + 86_399] {
            let c = civil(secs, 0);
            assert_eq!((c.year, c.month, c.day), (y, m, d), "{secs}");
        }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let len = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        d += 1;
        if d > len[m as usize - 1] {
            d = 1;
            m += 1;
            if m > 12 {
                m = 1;
                y += 1;
            }
        }
        days += 1;
    }
}

#[test]
fn extreme_inputs_do_not_panic() {
    let mut rec = sample();
    rec.start = (i64::MAX, 999_999_999);
    rec.duration = Duration::MAX;
    rec.offset = i32::MIN;
    let all = "%(h)s %(t)s %(T)s %(D)s %(M)s %(L)s %(B)d %(U)s";
    let _ = render(all, &rec);
    rec.path = b"%";
    rec.raw_uri = b"%%%";
    assert_eq!(render("%(U)s", &rec), "%");
    let mut out = Vec::new();
    error_log_prefix(i64::MIN, 0, u32::MAX, "", &mut out);
    assert_eq!(out, b"[-9999-01-01 00:00:00 +0000] [4294967295] [] ");
    out.clear();
    error_log_prefix(i64::MIN, i32::MIN, u32::MAX, "", &mut out);
    assert!(out.starts_with(b"[-9999-01-01 00:00:00 -"));
    out.clear();
    push_clf_time(i64::MAX, i32::MAX, &mut out);
    assert!(out.starts_with(b"[31/Dec/9999:23:59:59 +"));
}

proptest::proptest! {
    #[test]
    fn parse_and_render_never_panic(fmt in "(%|\\(|\\)|[a-zA-Z{}.\\-0-9 *]|é){0,24}") {
        if let Ok(f) = AccessLogFormat::parse(&fmt) {
            let mut out = Vec::new();
            f.render(&sample(), &mut out);
            proptest::prop_assert!(std::str::from_utf8(&out).is_ok());
        }
    }
}
