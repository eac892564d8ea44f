//! A `postgres://` URL to a connection, the way libpq users expect it.
//!
//! What the URL leaves out comes, in libpq's order, from the connection
//! service it names (`service=` in the URL, else `PGSERVICE`; looked up in
//! `PGSERVICEFILE`, else `~/.pg_service.conf`, then in
//! `PGSYSCONFDIR/pg_service.conf`), then from `PGHOST`, `PGPORT`, `PGUSER`,
//! `PGDATABASE`, `PGPASSWORD`, `PGSSLMODE` and `PGSSLROOTCERT`; a missing
//! password is looked up in the password file (`passfile=`, else
//! `PGPASSFILE`, else `~/.pgpass`), and `sslmode` takes libpq's values.
//!
//! A connection that fails for a reason that may pass (refused, reset,
//! timed out, the server starting up or shutting down, too many
//! connections) is tried again a few times, with a growing pause, before
//! the error is given ([`CONNECT_ATTEMPTS`]).

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

/// Where libpq looks for the system-wide service file when `PGSYSCONFDIR`
/// is not set (Debian's and Ubuntu's libpq; `pg_config --sysconfdir`).
const DEFAULT_SYSCONFDIR: &str = "/etc/postgresql-common";

/// A service file's `(key, value, line)` settings, in the file's order.
type Settings = Vec<(String, String, usize)>;

/// The settings of one connection service, as its file gives them.
struct Service {
    file: PathBuf,
    settings: Settings,
}

impl Service {
    fn get(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .rev()
            .find(|(k, _, _)| k == key)
            .map(|(_, value, _)| value.as_str())
    }
}

/// The service `name` from the user's service file (`PGSERVICEFILE`, else
/// `~/.pg_service.conf`), else the system's (`PGSYSCONFDIR/pg_service.conf`),
/// as libpq looks it up: the first file that defines it wins.
fn find_service(name: &str, env: &Environment<'_>) -> Result<Service, String> {
    let user = (env.var)("PGSERVICEFILE")
        .map(PathBuf::from)
        .or_else(|| env.home.as_ref().map(|home| home.join(".pg_service.conf")));
    let system = (env.var)("PGSYSCONFDIR")
        .map_or_else(|| PathBuf::from(DEFAULT_SYSCONFDIR), PathBuf::from)
        .join("pg_service.conf");
    let mut looked = Vec::new();
    for path in user.into_iter().chain([system]) {
        let text = match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                looked.push(path.display().to_string());
                continue;
            }
            Err(error) => {
                return Err(format!(
                    "cannot read the service file {}: {error}",
                    path.display()
                ));
            }
        };
        if let Some(settings) = parse_service(&text, name, &path)? {
            return Ok(Service {
                file: path,
                settings,
            });
        }
        looked.push(path.display().to_string());
    }
    Err(format!(
        "service {name:?} is not defined (looked in {})",
        looked.join(", ")
    ))
}

/// The `key=value` lines of section `[name]` of a service file, `None`
/// when the file has no such section. Blank lines and `#` comments are
/// skipped, as libpq does.
fn parse_service(text: &str, name: &str, path: &Path) -> Result<Option<Settings>, String> {
    let mut inside = false;
    let mut found = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[') {
            if found.is_some() && inside {
                break;
            }
            inside = section.strip_suffix(']').map(str::trim) == Some(name);
            if inside {
                found = Some(Vec::new());
            }
            continue;
        }
        if !inside {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "{}:{}: expected key=value in service {name:?}, found {line:?}",
                path.display(),
                index + 1
            ));
        };
        if let Some(settings) = found.as_mut() {
            settings.push((key.trim().to_owned(), value.trim().to_owned(), index + 1));
        }
    }
    Ok(found)
}

/// The keys a service may set (libpq's that the driver has).
const SERVICE_KEYS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "user",
    "dbname",
    "password",
    "passfile",
    "sslmode",
    "sslrootcert",
    "connect_timeout",
    "options",
    "application_name",
    "target_session_attrs",
];

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
    let mut service_name = None;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => tls = Some(parse_tls("sslmode", value).map_err(&bad)?),
            "sslrootcert" => root_cert = Some(PathBuf::from(value)),
            "passfile" => passfile = Some(PathBuf::from(value)),
            "service" => service_name = Some(value.to_owned()),
            _ => passed.push(pair),
        }
    }
    let service = match service_name.or_else(|| (env.var)("PGSERVICE")) {
        Some(name) => Some(find_service(&name, env).map_err(&bad)?),
        None => None,
    };
    if let Some(service) = &service {
        for (key, _, line) in &service.settings {
            if !SERVICE_KEYS.contains(&key.as_str()) {
                return Err(bad(format!(
                    "{}:{line}: {key} is not a connection setting hourglass takes (it takes {})",
                    service.file.display(),
                    SERVICE_KEYS.join(", ")
                )));
            }
        }
    }
    // A setting of the service, named by its file and line when bad.
    let from_service = |key: &str| service.as_ref().and_then(|service| service.get(key));
    let service_bad = |key: &str, message: String| {
        let service = service.as_ref().expect("a service setting");
        let line = service
            .settings
            .iter()
            .rev()
            .find(|(k, _, _)| k == key)
            .map_or(0, |(_, _, line)| *line);
        bad(format!("{}:{line}: {message}", service.file.display()))
    };
    let mut fallback_port = None;
    if !url_has_port(base) && !query.split('&').any(|pair| pair.starts_with("port=")) {
        if let Some(port) = from_service("port") {
            fallback_port =
                Some(port.parse::<u16>().map_err(|_| {
                    service_bad("port", format!("port={port} is not a port number"))
                })?);
        } else if let Some(port) = (env.var)("PGPORT") {
            fallback_port = Some(
                port.parse::<u16>()
                    .map_err(|_| bad(format!("PGPORT={port} is not a port number")))?,
            );
        }
    }
    let base = match fallback_port {
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

    if let Some(port) = fallback_port
        && config.get_ports().is_empty()
    {
        config.port(port);
    }
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        if let Some(hosts) = from_service("host") {
            for host in hosts.split(',') {
                config.host(host);
            }
        } else if from_service("hostaddr").is_some() {
            // The addresses below are the hosts.
        } else if let Some(hosts) = (env.var)("PGHOST") {
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
        if let Some(addresses) = from_service("hostaddr") {
            for address in addresses.split(',') {
                let address = address.parse().map_err(|_| {
                    service_bad(
                        "hostaddr",
                        format!("hostaddr={address} is not an IP address"),
                    )
                })?;
                config.hostaddr(address);
            }
        }
    }
    if config.get_user().is_none() {
        let user = from_service("user")
            .map(str::to_owned)
            .or_else(|| (env.var)("PGUSER"))
            .or_else(|| (env.var)("USER"))
            .or_else(|| (env.var)("LOGNAME"))
            .ok_or_else(|| bad("no user: give one in the URL or PGUSER".to_owned()))?;
        config.user(&user);
    }
    if config.get_dbname().is_none()
        && let Some(dbname) = from_service("dbname")
            .map(str::to_owned)
            .or_else(|| (env.var)("PGDATABASE"))
    {
        config.dbname(&dbname);
    }
    if config.get_options().is_none()
        && let Some(options) = from_service("options")
    {
        config.options(options);
    }
    if config.get_connect_timeout().is_none()
        && let Some(seconds) = from_service("connect_timeout")
            .map(str::to_owned)
            .or_else(|| (env.var)("PGCONNECT_TIMEOUT"))
    {
        let seconds: u64 = seconds.parse().map_err(|_| {
            bad(format!(
                "connect_timeout={seconds} is not a number of seconds"
            ))
        })?;
        // libpq: zero waits forever, and less than two seconds is two.
        if seconds > 0 {
            config.connect_timeout(Duration::from_secs(seconds.max(2)));
        }
    }
    if let Some(attrs) = from_service("target_session_attrs") {
        config.target_session_attrs(match attrs {
            "any" => postgres::config::TargetSessionAttrs::Any,
            "read-write" => postgres::config::TargetSessionAttrs::ReadWrite,
            "read-only" => postgres::config::TargetSessionAttrs::ReadOnly,
            other => {
                return Err(service_bad(
                    "target_session_attrs",
                    format!(
                        "target_session_attrs={other} is not one of any, read-write, read-only"
                    ),
                ));
            }
        });
    }
    let passfile = passfile.or_else(|| from_service("passfile").map(PathBuf::from));
    if config.get_password().is_none() {
        if let Some(password) = from_service("password") {
            config.password(password);
        } else if let Some(password) = (env.var)("PGPASSWORD") {
            config.password(password);
        } else if let Some(password) = password_from_file(&config, env, passfile) {
            config.password(password);
        }
    }
    let tls = match tls {
        Some(mode) => mode,
        None => match from_service("sslmode") {
            Some(value) => {
                parse_tls("sslmode", value).map_err(|message| service_bad("sslmode", message))?
            }
            None => match (env.var)("PGSSLMODE") {
                Some(value) => parse_tls("PGSSLMODE", &value).map_err(&bad)?,
                None => TlsMode::Prefer,
            },
        },
    };
    let root_cert = root_cert
        .or_else(|| from_service("sslrootcert").map(PathBuf::from))
        .or_else(|| (env.var)("PGSSLROOTCERT").map(PathBuf::from));
    config.ssl_mode(match tls {
        TlsMode::Disable => SslMode::Disable,
        TlsMode::Prefer => SslMode::Prefer,
        TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
    });
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    config.application_name(from_service("application_name").unwrap_or("hourglass"));
    Ok(Target {
        config,
        tls,
        root_cert,
        display,
    })
}

/// libpq's `sslmode` values; `name` is where the value came from.
fn parse_tls(name: &str, value: &str) -> Result<TlsMode, String> {
    TlsMode::parse(value).ok_or_else(|| {
        format!(
            "{name}={value} is not one of disable, allow, prefer, require, verify-ca, verify-full"
        )
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

/// How many times [`with_retry`] tries to connect when the connection
/// fails for a reason that may pass.
pub const CONNECT_ATTEMPTS: u32 = 4;

/// The pause before the second attempt, doubled before each later one
/// (0.25 s, 0.5 s, 1 s: under 2 s of waiting in all, besides the attempts'
/// own time, which `connect_timeout` bounds).
const FIRST_PAUSE: Duration = Duration::from_millis(250);

/// Runs `open` — connecting and whatever must happen before the store is
/// usable, none of it leaving anything half-done when it fails — until it
/// succeeds, fails for a reason that will not pass, or has been tried
/// [`CONNECT_ATTEMPTS`] times. A failure that may pass ends as
/// [`StoreError::PgUnreachable`] with the number of attempts and the last
/// cause. Nothing is retried once a store is open: a file's transaction
/// cut midway is rolled back and reported, never replayed.
pub fn with_retry<T>(
    target: &Target,
    mut open: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        match open() {
            Ok(value) => return Ok(value),
            Err(error) if attempt < CONNECT_ATTEMPTS && is_transient(&error) => {
                std::thread::sleep(pause);
                pause *= 2;
                attempt += 1;
            }
            Err(error) => return Err(gave_up(target, error, attempt)),
        }
    }
}

/// True when `error` may pass if the connection is tried again: the
/// server unreachable, the connection cut, the server starting up or
/// shutting down, or out of connection slots.
fn is_transient(error: &StoreError) -> bool {
    match error {
        StoreError::PgUnreachable { .. } => true,
        StoreError::PgConnect { source, .. } | StoreError::Postgres(source) => {
            super::connection_lost(source)
                || source.code().is_some_and(|code| {
                    *code == SqlState::CANNOT_CONNECT_NOW || *code == SqlState::TOO_MANY_CONNECTIONS
                })
        }
        _ => false,
    }
}

fn gave_up(target: &Target, error: StoreError, attempts: u32) -> StoreError {
    if !is_transient(&error) {
        return error;
    }
    match error {
        StoreError::PgUnreachable { source, .. }
        | StoreError::PgConnect { source, .. }
        | StoreError::Postgres(source) => StoreError::PgUnreachable {
            url: target.display.clone(),
            attempts,
            source,
        },
        other => other,
    }
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
        return StoreError::PgUnreachable {
            url,
            attempts: 1,
            source: error,
        };
    }
    StoreError::PgConnect { url, source: error }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
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

    /// A service file `name` in `dir` holding `text`.
    fn service_file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_service_fills_in_what_the_url_leaves_out_before_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        service_file(
            dir.path(),
            ".pg_service.conf",
            "# CI database\n[other]\nhost=wrong\n\n[ci]\nhost=db.internal\nport=6432\n\
             user=runner\ndbname=hourglass\nsslmode=require\npassword=from-service\n\
             connect_timeout=3\n[after]\nhost=wrong\n",
        );
        let var = env_of(&[
            ("PGSERVICE", "ci"),
            ("PGHOST", "env-host"),
            ("PGPORT", "1111"),
            ("PGUSER", "env-user"),
            ("PGPASSWORD", "from-env"),
            ("PGSSLMODE", "disable"),
        ]);
        let env = Environment {
            var: &var,
            home: Some(dir.path().to_path_buf()),
        };
        let target = resolve("postgres://", &env).unwrap();
        assert_eq!(
            target.config.get_hosts(),
            [Host::Tcp("db.internal".to_owned())]
        );
        assert_eq!(target.config.get_ports(), [6432]);
        assert_eq!(target.config.get_user(), Some("runner"));
        assert_eq!(target.config.get_dbname(), Some("hourglass"));
        assert_eq!(target.config.get_password(), Some(&b"from-service"[..]));
        assert_eq!(target.tls, TlsMode::Require);
        assert_eq!(
            target.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
        // What the URL says wins over the service.
        let target = resolve("postgres://me@db2:7/mine?sslmode=disable", &env).unwrap();
        assert_eq!(target.config.get_hosts(), [Host::Tcp("db2".to_owned())]);
        assert_eq!(target.config.get_ports(), [7]);
        assert_eq!(target.config.get_user(), Some("me"));
        assert_eq!(target.config.get_dbname(), Some("mine"));
        assert_eq!(target.tls, TlsMode::Disable);
        // `service=` in the URL wins over PGSERVICE.
        let target = resolve("postgres://?service=other", &env).unwrap();
        assert_eq!(target.config.get_hosts(), [Host::Tcp("wrong".to_owned())]);
        assert_eq!(target.config.get_ports(), [1111], "PGPORT fills in");
        assert_eq!(target.config.get_user(), Some("env-user"));
        assert_eq!(target.tls, TlsMode::Disable);
    }

    #[test]
    fn the_service_file_is_looked_up_where_libpq_looks() {
        let dir = tempfile::tempdir().unwrap();
        let user_file = service_file(dir.path(), "mine.conf", "[ci]\nhost=from-user-file\n");
        let sysconf = dir.path().join("etc");
        std::fs::create_dir(&sysconf).unwrap();
        service_file(
            &sysconf,
            "pg_service.conf",
            "[ci]\nhost=from-system-file\n[shared]\nhost=only-in-system-file\n",
        );
        let user_path = user_file.display().to_string();
        let sysconf_path = sysconf.display().to_string();
        let var = env_of(&[
            ("PGSERVICEFILE", &user_path),
            ("PGSYSCONFDIR", &sysconf_path),
            ("PGUSER", "ci"),
        ]);
        let env = Environment {
            var: &var,
            home: None,
        };
        let host = |url: &str| resolve(url, &env).unwrap().config.get_hosts().to_vec();
        // The user's file first, the system's file for what it lacks.
        assert_eq!(
            host("postgres://?service=ci"),
            [Host::Tcp("from-user-file".to_owned())]
        );
        assert_eq!(
            host("postgresql:///hg?service=shared"),
            [Host::Tcp("only-in-system-file".to_owned())]
        );
        match resolve("postgres://?service=nowhere", &env) {
            Err(error @ StoreError::PgUrl { .. }) => {
                let text = error.to_string();
                assert!(
                    text.contains("service \"nowhere\" is not defined"),
                    "{text}"
                );
                assert!(text.contains(&user_path), "{text}");
            }
            other => panic!("expected a URL error, got {:?}", other.err()),
        }
    }

    #[test]
    fn a_bad_service_file_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = service_file(
            dir.path(),
            "services.conf",
            "[ci]\nhost=db\nsslcert=/etc/client.pem\n[typo]\nhost db\n[port]\nport=fifty\n",
        );
        let file = path.display().to_string();
        let var = env_of(&[("PGSERVICEFILE", &file), ("PGUSER", "ci")]);
        let env = Environment {
            var: &var,
            home: None,
        };
        for (service, says) in [
            ("ci", ":3: sslcert is not a connection setting"),
            ("typo", ":5: expected key=value"),
            ("port", ":7: port=fifty is not a port number"),
        ] {
            match resolve(&format!("postgres://?service={service}"), &env) {
                Err(StoreError::PgUrl { message, .. }) => {
                    assert!(message.contains(&format!("{file}{says}")), "{message}");
                }
                other => panic!("{service}: expected a URL error, got {:?}", other.err()),
            }
        }
    }

    #[test]
    fn the_environment_alone_names_the_server() {
        let var = env_of(&[
            ("PGHOST", "envhost"),
            ("PGPORT", "5433"),
            ("PGUSER", "envuser"),
            ("PGDATABASE", "envdb"),
        ]);
        let env = Environment {
            var: &var,
            home: None,
        };
        for url in [
            "postgres://",
            "postgresql:///",
            "postgres://?sslmode=disable",
        ] {
            let target = resolve(url, &env).unwrap();
            assert_eq!(target.config.get_hosts(), [Host::Tcp("envhost".to_owned())]);
            assert_eq!(target.config.get_ports(), [5433], "{url}");
            assert_eq!(target.config.get_user(), Some("envuser"));
            assert_eq!(target.config.get_dbname(), Some("envdb"));
        }
        // A socket directory in PGHOST is a socket, as in libpq.
        let var = env_of(&[("PGHOST", "/run/pg"), ("PGUSER", "u")]);
        let env = Environment {
            var: &var,
            home: None,
        };
        let target = resolve("postgres:///hg", &env).unwrap();
        assert_eq!(
            target.config.get_hosts(),
            [Host::Unix(PathBuf::from("/run/pg"))]
        );
    }
}
