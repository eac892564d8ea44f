//! A `postgres://` URL to a connection, the way libpq users expect it:
//! `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`, `PGSSLMODE`
//! and `PGSSLROOTCERT` fill in what the URL leaves out, a missing password
//! is looked up in the password file (`PGPASSFILE`, else `~/.pgpass`), and
//! `sslmode` takes libpq's values.

use std::path::{Path, PathBuf};
use std::time::Duration;

use postgres::Client;
use postgres::config::{Host, SslMode};
use postgres::error::SqlState;
use postgres_native_tls::MakeTlsConnector;

use crate::StoreError;

/// libpq's `sslmode`, with what each means here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it (certificate not checked), else plain.
    Prefer,
    /// TLS, the certificate not checked (libpq's `require`).
    Require,
    /// TLS, the certificate checked against the trusted roots.
    VerifyCa,
    /// TLS, the certificate and the host name checked.
    VerifyFull,
}

impl TlsMode {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "disable" | "allow" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }
}

/// Where to connect, resolved.
pub struct Target {
    pub config: postgres::Config,
    pub tls: TlsMode,
    pub root_cert: Option<PathBuf>,
    /// The URL without its password, for messages.
    pub display: String,
}

/// The environment a URL is resolved in (the process's, or a test's).
pub struct Environment<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub home: Option<PathBuf>,
}

impl Environment<'_> {
    pub fn process() -> Environment<'static> {
        Environment {
            var: &|name| std::env::var(name).ok().filter(|value| !value.is_empty()),
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }
}

/// True for the URL schemes PostgreSQL's own clients take.
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// The URL with any password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .map(|pair| {
                    if pair.starts_with("password=") {
                        "password=***"
                    } else {
                        pair
                    }
                })
                .collect();
            format!("{path}?{}", kept.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// The URL with `:port` after each of its hosts.
fn with_port(url: &str, port: u16) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (format!("{userinfo}@"), hosts),
        None => (String::new(), authority),
    };
    if hosts.is_empty() {
        return url.to_owned();
    }
    let hosts: Vec<String> = hosts
        .split(',')
        .map(|host| format!("{host}:{port}"))
        .collect();
    format!("{scheme}://{userinfo}{}{tail}", hosts.join(","))
}

/// True when the URL's authority names a port.
fn url_has_port(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let hosts = authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts);
    hosts.split(',').any(|host| match host.rfind(']') {
        Some(end) => host[end..].contains(':'),
        None => host.contains(':'),
    })
}

/// Resolves `url` in `env`.
pub fn resolve(url: &str, env: &Environment<'_>) -> Result<Target, StoreError> {
    let display = redact(url);
    let bad = |message: String| StoreError::PgUrl {
        url: display.clone(),
        message,
    };
    // The options libpq has and the driver does not: taken out here.
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut passed = Vec::new();
    let mut tls = None;
    let mut root_cert = None;
    let mut passfile = None;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                tls = Some(TlsMode::parse(value).ok_or_else(|| {
                    bad(format!(
                        "sslmode={value} is not one of disable, prefer, require, verify-ca, verify-full"
                    ))
                })?);
            }
            "sslrootcert" => root_cert = Some(PathBuf::from(value)),
            "passfile" => passfile = Some(PathBuf::from(value)),
            _ => passed.push(pair),
        }
    }
    let mut env_port = None;
    if !url_has_port(base)
        && !query.split('&').any(|pair| pair.starts_with("port="))
        && let Some(port) = (env.var)("PGPORT")
    {
        env_port = Some(
            port.parse::<u16>()
                .map_err(|_| bad(format!("PGPORT={port} is not a port number")))?,
        );
    }
    let base = match env_port {
        Some(port) => with_port(base, port),
        None => base.to_owned(),
    };
    let rebuilt = if passed.is_empty() {
        base.clone()
    } else {
        format!("{base}?{}", passed.join("&"))
    };
    let mut config: postgres::Config = rebuilt.parse().map_err(|error: postgres::Error| {
        bad(error
            .to_string()
            .trim_start_matches("invalid configuration: ")
            .to_owned())
    })?;

    if let Some(port) = env_port
        && config.get_ports().is_empty()
    {
        config.port(port);
    }
    if config.get_hosts().is_empty() {
        if let Some(hosts) = (env.var)("PGHOST") {
            for host in hosts.split(',') {
                config.host(host);
            }
        } else {
            let socket = ["/var/run/postgresql", "/tmp"]
                .into_iter()
                .find(|dir| Path::new(dir).is_dir())
                .unwrap_or("/tmp");
            config.host_path(socket);
        }
    }
    if config.get_user().is_none() {
        let user = (env.var)("PGUSER")
            .or_else(|| (env.var)("USER"))
            .or_else(|| (env.var)("LOGNAME"))
            .ok_or_else(|| bad("no user: give one in the URL or PGUSER".to_owned()))?;
        config.user(&user);
    }
    if config.get_dbname().is_none()
        && let Some(dbname) = (env.var)("PGDATABASE")
    {
        config.dbname(&dbname);
    }
    if config.get_password().is_none() {
        if let Some(password) = (env.var)("PGPASSWORD") {
            config.password(password);
        } else if let Some(password) = password_from_file(&config, env, passfile) {
            config.password(password);
        }
    }
    let tls = match tls {
        Some(mode) => mode,
        None => match (env.var)("PGSSLMODE") {
            Some(value) => TlsMode::parse(&value).ok_or_else(|| {
                bad(format!(
                    "PGSSLMODE={value} is not one of disable, prefer, require, verify-ca, verify-full"
                ))
            })?,
            None => TlsMode::Prefer,
        },
    };
    let root_cert = root_cert.or_else(|| (env.var)("PGSSLROOTCERT").map(PathBuf::from));
    config.ssl_mode(match tls {
        TlsMode::Disable => SslMode::Disable,
        TlsMode::Prefer => SslMode::Prefer,
        TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
    });
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    config.application_name("hourglass");
    Ok(Target {
        config,
        tls,
        root_cert,
        display,
    })
}

/// The password for the first host, port, database and user from a
/// libpq password file (`hostname:port:database:username:password`, `*`
/// matching anything, `\` escaping `:` and `\`). Like libpq, a file that
/// others can read is ignored.
fn password_from_file(
    config: &postgres::Config,
    env: &Environment<'_>,
    passfile: Option<PathBuf>,
) -> Option<String> {
    let path = passfile
        .or_else(|| (env.var)("PGPASSFILE").map(PathBuf::from))
        .or_else(|| env.home.as_ref().map(|home| home.join(".pgpass")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return None;
        }
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = match config.get_hosts().first()? {
        Host::Tcp(name) => name.clone(),
        // libpq matches a socket directory as `localhost`.
        #[cfg(unix)]
        Host::Unix(_) => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user()?.to_owned();
    let dbname = config.get_dbname().unwrap_or(&user).to_owned();
    let wanted = [host.as_str(), port.as_str(), dbname.as_str(), user.as_str()];
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| {
            let fields = split_pgpass_line(line);
            (fields.len() == 5).then_some(fields)
        })
        .find(|fields| {
            fields[..4]
                .iter()
                .zip(wanted)
                .all(|(field, want)| field == "*" || field == want)
        })
        .map(|mut fields| fields.swap_remove(4))
}

fn split_pgpass_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field").push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// Connects, naming what went wrong when it does.
pub fn connect(target: &Target) -> Result<Client, StoreError> {
    let mut builder = native_tls::TlsConnector::builder();
    match target.tls {
        TlsMode::Disable | TlsMode::Prefer | TlsMode::Require => {
            builder
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true);
        }
        TlsMode::VerifyCa => {
            builder.danger_accept_invalid_hostnames(true);
        }
        TlsMode::VerifyFull => {}
    }
    if let Some(path) = &target.root_cert {
        let pem = std::fs::read(path).map_err(|error| StoreError::PgUrl {
            url: target.display.clone(),
            message: format!(
                "cannot read the root certificate {}: {error}",
                path.display()
            ),
        })?;
        let certificate =
            native_tls::Certificate::from_pem(&pem).map_err(|error| StoreError::PgUrl {
                url: target.display.clone(),
                message: format!("{} is not a PEM certificate: {error}", path.display()),
            })?;
        builder.add_root_certificate(certificate);
    }
    let connector = builder.build().map_err(|error| StoreError::PgUrl {
        url: target.display.clone(),
        message: format!("cannot set up TLS: {error}"),
    })?;
    target
        .config
        .connect(MakeTlsConnector::new(connector))
        .map_err(|error| classify_connect_error(target, error))
}

fn classify_connect_error(target: &Target, error: postgres::Error) -> StoreError {
    let user = target.config.get_user().unwrap_or_default().to_owned();
    let url = target.display.clone();
    if let Some(code) = error.code() {
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            return StoreError::PgAuth {
                url,
                user,
                detail: error
                    .as_db_error()
                    .map(|db| db.message().to_owned())
                    .unwrap_or_default(),
            };
        }
        if *code == SqlState::INVALID_CATALOG_NAME {
            return StoreError::PgNoDatabase {
                url,
                detail: error
                    .as_db_error()
                    .map(|db| db.message().to_owned())
                    .unwrap_or_default(),
            };
        }
    }
    let text = error.to_string();
    if text.contains("password missing") {
        return StoreError::PgAuth {
            url,
            user,
            detail: "the server asks for a password and none was given (in the URL, PGPASSWORD or ~/.pgpass)".to_owned(),
        };
    }
    let io = std::error::Error::source(&error)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .is_some();
    if io || text.contains("timeout") || text.contains("error connecting") {
        return StoreError::PgUnreachable { url, source: error };
    }
    StoreError::PgConnect { url, source: error }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://ci:s3cret@db:5432/hg?sslmode=require"),
            "postgres://ci:***@db:5432/hg?sslmode=require"
        );
        assert_eq!(redact("postgres://ci@db/hg"), "postgres://ci@db/hg");
        assert_eq!(
            redact("postgresql://db/hg?password=x&sslmode=disable"),
            "postgresql://db/hg?password=***&sslmode=disable"
        );
    }

    #[test]
    fn the_environment_fills_in_what_the_url_leaves_out() {
        let var = env_of(&[
            ("PGPASSWORD", "from-env"),
            ("PGSSLMODE", "disable"),
            ("PGPORT", "6543"),
            ("PGUSER", "ci"),
        ]);
        let env = Environment {
            var: &var,
            home: None,
        };
        let target = resolve("postgres://db.example/hg", &env).unwrap();
        assert_eq!(target.config.get_password(), Some(&b"from-env"[..]));
        assert_eq!(target.config.get_ports(), [6543]);
        assert_eq!(target.config.get_user(), Some("ci"));
        assert_eq!(target.tls, TlsMode::Disable);
        // The URL wins over the environment.
        let target = resolve("postgres://u:pw@db:1/hg?sslmode=verify-full", &env).unwrap();
        assert_eq!(target.config.get_password(), Some(&b"pw"[..]));
        assert_eq!(target.config.get_ports(), [1]);
        assert_eq!(target.tls, TlsMode::VerifyFull);
    }

    #[test]
    fn a_bad_sslmode_is_named() {
        let var = env_of(&[("PGUSER", "ci")]);
        let env = Environment {
            var: &var,
            home: None,
        };
        match resolve("postgres://db/hg?sslmode=always", &env) {
            Err(StoreError::PgUrl { message, .. }) => assert!(message.contains("sslmode=always")),
            other => panic!("expected a URL error, got {:?}", other.err()),
        }
    }

    #[test]
    fn the_password_file_is_read_like_libpq_does() {
        let dir = tempfile::tempdir().unwrap();
        let pgpass = dir.path().join(".pgpass");
        std::fs::write(
            &pgpass,
            "# comment\nother:5432:*:ci:wrong\ndb.example:5432:hg:ci:pa\\:ss\n*:*:*:*:fallback\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let var = env_of(&[]);
        let env = Environment {
            var: &var,
            home: Some(dir.path().to_path_buf()),
        };
        let target = resolve("postgres://ci@db.example/hg", &env).unwrap();
        assert_eq!(target.config.get_password(), Some(&b"pa:ss"[..]));
        let target = resolve("postgres://ci@elsewhere/hg", &env).unwrap();
        assert_eq!(target.config.get_password(), Some(&b"fallback"[..]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
            let target = resolve("postgres://ci@db.example/hg", &env).unwrap();
            assert_eq!(
                target.config.get_password(),
                None,
                "a readable file is ignored"
            );
        }
    }
}
