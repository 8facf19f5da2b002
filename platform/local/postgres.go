package local

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Roles and database of the local PostgreSQL pair.
const (
	PostgresOSUser          = "postgres" // PostgreSQL refuses to run as root; used when we are root
	PostgresSuperuser       = "wotr"
	PostgresDatabase        = "wotr"
	PostgresReplicationUser = "replicator"
	PostgresStandbyName     = "secondary" // application_name in pg_stat_replication
	// PostgresRunbookUser is the read-only role runbook queries run as (same
	// password); its grants are postgresRunbookGrants.
	PostgresRunbookUser = "wotr_runbook"
)

// postgresRunbookGrants make the runbook role: it reads statistics, settings
// and the platform's tables, and nothing else; ops/runbook/runbooks/README.md
// gives the same statements for production.
var postgresRunbookGrants = []string{
	"GRANT pg_monitor TO " + PostgresRunbookUser,
	"GRANT CONNECT ON DATABASE " + PostgresDatabase + " TO " + PostgresRunbookUser,
	"GRANT USAGE ON SCHEMA public TO " + PostgresRunbookUser,
	"GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + PostgresRunbookUser,
	"ALTER DEFAULT PRIVILEGES FOR ROLE " + PostgresSuperuser + " IN SCHEMA public GRANT SELECT ON TABLES TO " + PostgresRunbookUser,
	"ALTER ROLE " + PostgresRunbookUser + " SET statement_timeout = '10s'",
}

// PostgresOptions configures the primary and its streaming standby.
type PostgresOptions struct {
	// MaxConnections per server; default 100.
	MaxConnections int
	// Password of the superuser and of the replication user; default "wotr-local".
	Password string
	// Durable keeps fsync and synchronous commit on and the data on disk (the
	// demo). Tests leave it off: the data dirs then live in /dev/shm, and a
	// crash of a throwaway cluster loses nothing anyone wants.
	Durable bool
	// WALArchiveDir, when set, turns on WAL archiving into it (point-in-time
	// recovery); a relative path is under the platform's dir.
	WALArchiveDir string
}

func (o PostgresOptions) withDefaults() (PostgresOptions, error) {
	if o.MaxConnections == 0 {
		o.MaxConnections = 100
	}
	// Below ~5 the superuser and walsender reservations leave nothing usable.
	if o.MaxConnections < 5 || o.MaxConnections > 10000 {
		return o, fmt.Errorf("max connections %d: must be between 5 and 10000", o.MaxConnections)
	}
	if o.Password == "" {
		o.Password = "wotr-local"
	}
	if strings.ContainsAny(o.Password, "'\\\n") {
		return o, errors.New("password: must not contain quotes, backslashes or newlines")
	}
	return o, nil
}

// PostgresPair is a primary and a hot standby streaming from it (the secondary region).
type PostgresPair struct {
	Primary PostgresServer
	Standby PostgresServer
	// Superuser and Password authenticate over TCP (scram-sha-256).
	Superuser string
	Password  string
	// ReplicationUser (same password) is what the standby streams as.
	ReplicationUser string
	// BinDir holds pg_ctl, pg_basebackup, psql of the same major version.
	BinDir string
	// OSUser owns the data dirs and runs the servers: "postgres" when the
	// platform runs as root, empty for the current user otherwise. pg_ctl
	// must run as it (see RunAsOSUser).
	OSUser string
	// WALArchiveDir receives the primary's archived WAL; empty when off.
	WALArchiveDir string

	p *Platform
}

// PostgresServer is one postgres process.
type PostgresServer struct {
	Name    string // "primary" or "standby"
	Host    string
	Port    int
	DataDir string
	// SocketDir holds the unix socket (trust auth for the OS user).
	SocketDir string
	// DSN connects to the wotr database as the superuser.
	DSN string
	// QueryDSN connects to it as PostgresRunbookUser (runbook queries).
	QueryDSN string
	Proc     *Process
}

// Addr is host:port.
func (s PostgresServer) Addr() string { return fmt.Sprintf("%s:%d", s.Host, s.Port) }

func (p *Platform) startPostgres(ctx context.Context) error {
	o, err := p.opts.Postgres.withDefaults()
	if err != nil {
		return err
	}
	initdb, err := findBinary("initdb")
	if err != nil {
		return err
	}
	// Someone may have linked initdb onto PATH; its real dir has pg_basebackup too.
	if real, err := filepath.EvalSymlinks(initdb); err == nil {
		initdb = real
	}
	binDir := filepath.Dir(initdb)
	// As root, the servers run as the postgres account; otherwise as ourselves.
	asUser, uid, gid := "", os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		u, g, err := lookupUser(PostgresOSUser)
		if err != nil {
			return err
		}
		asUser, uid, gid = PostgresOSUser, int(u), int(g)
		// The postgres user has to reach its dirs under our (root-owned) temp dir.
		if err := os.Chmod(p.Dir, 0o711); err != nil {
			return err
		}
		if err := checkTraversable(p.Dir); err != nil {
			return err
		}
	}
	root := filepath.Join(p.Dir, "postgres")
	if !o.Durable {
		// initdb and pg_basebackup write ~40MB each: seconds on a busy disk,
		// a tenth of that in RAM. The dir is reached through root, a symlink.
		if ram, err := postgresRAMDir(); err == nil {
			p.onStop("postgres-ram-dir", func() error { return os.RemoveAll(ram) })
			if err := os.Symlink(ram, root); err != nil {
				return err
			}
			if err := os.Chown(ram, uid, gid); err != nil {
				return err
			}
		} else {
			p.log.Info("postgres data on disk", "reason", err)
		}
	}
	for _, d := range []string{root, filepath.Join(root, "primary-run"), filepath.Join(root, "standby-run")} {
		if d == root {
			if fi, err := os.Lstat(root); err == nil && fi.Mode()&os.ModeSymlink != 0 {
				continue
			}
		}
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return err
		}
	}
	pwfile := filepath.Join(root, "pwfile")
	if err := os.WriteFile(pwfile, []byte(o.Password+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Chown(pwfile, uid, gid); err != nil {
		return err
	}
	pair := &PostgresPair{Superuser: PostgresSuperuser, Password: o.Password, ReplicationUser: PostgresReplicationUser,
		BinDir: binDir, OSUser: asUser, p: p}
	mk := func(name string) PostgresServer {
		return PostgresServer{Name: name, Host: "127.0.0.1", DataDir: filepath.Join(root, name), SocketDir: filepath.Join(root, name+"-run")}
	}
	pair.Primary, pair.Standby = mk("primary"), mk("standby")
	// Each server's port is picked just before it starts, and again if taken meanwhile.
	startServer := func(s *PostgresServer, what string, ready func(context.Context) error) error {
		proc, _, err := p.startOnFreshPorts(ctx, Postgres, what, 1, func(_ int, ports []int) (*Process, error) {
			s.Port = ports[0]
			s.DSN = postgresDSN(s.Host, s.Port, PostgresSuperuser, o.Password, PostgresDatabase)
			s.QueryDSN = postgresDSN(s.Host, s.Port, PostgresRunbookUser, o.Password, PostgresDatabase)
			return p.startPostgresServer(pair, *s)
		}, ready)
		s.Proc = proc
		return err
	}

	initArgs := []string{"-D", pair.Primary.DataDir, "-U", PostgresSuperuser, "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C"}
	if !o.Durable {
		initArgs = append(initArgs, "--no-sync")
	}
	if err := p.runToCompletion(ctx, ProcSpec{Name: "postgres-initdb", Path: initdb, Args: initArgs, AsUser: asUser}); err != nil {
		return err
	}
	// The standby inherits this file through pg_basebackup.
	conf := fmt.Sprintf(`
# written by wotr-tui platform/local
listen_addresses = '127.0.0.1'
wal_level = replica
hot_standby = on
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = '256MB'
max_connections = %d
# lets promote rebuild a former primary with pg_rewind instead of a full copy
wal_log_hints = on
`, o.MaxConnections)
	if !o.Durable {
		conf += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
	}
	if o.WALArchiveDir != "" {
		archive := o.WALArchiveDir
		if !filepath.IsAbs(archive) {
			archive = filepath.Join(p.Dir, archive)
		}
		// Parents made here must let the postgres account through.
		if err := os.MkdirAll(archive, 0o711); err != nil {
			return err
		}
		if err := checkTraversable(archive); err != nil {
			return err
		}
		if err := os.Chown(archive, uid, gid); err != nil {
			return err
		}
		if strings.ContainsAny(archive, "'\"\\ ") {
			return fmt.Errorf("WAL archive dir %q: must not contain quotes, backslashes or spaces (it goes into archive_command)", archive)
		}
		// Never overwrite a segment already archived: a second cluster
		// archiving into the same place must fail loudly, not clobber it.
		conf += fmt.Sprintf("archive_mode = on\narchive_command = 'test ! -f %[1]s/%%f && cp %%p %[1]s/%%f'\narchive_timeout = 60\n", archive)
		pair.WALArchiveDir = archive
	}
	if err := appendFile(filepath.Join(pair.Primary.DataDir, "postgresql.conf"), conf); err != nil {
		return err
	}
	if err := startServer(&pair.Primary, "postgres primary", func(ctx context.Context) error {
		return pgPing(ctx, postgresDSN("127.0.0.1", pair.Primary.Port, PostgresSuperuser, o.Password, "postgres"))
	}); err != nil {
		return err
	}
	if err := pgExec(ctx, postgresDSN("127.0.0.1", pair.Primary.Port, PostgresSuperuser, o.Password, "postgres"),
		fmt.Sprintf("CREATE ROLE %s WITH REPLICATION LOGIN PASSWORD '%s'", PostgresReplicationUser, o.Password),
		"CREATE DATABASE "+PostgresDatabase,
		// Neither a superuser nor able to become one; the standby gets it by pg_basebackup.
		fmt.Sprintf("CREATE ROLE %s WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '%s'", PostgresRunbookUser, o.Password),
	); err != nil {
		return fmt.Errorf("postgres primary setup: %w", err)
	}
	// Default privileges and schema grants live in the wotr database itself.
	if err := pgExec(ctx, postgresDSN("127.0.0.1", pair.Primary.Port, PostgresSuperuser, o.Password, PostgresDatabase),
		postgresRunbookGrants...); err != nil {
		return fmt.Errorf("postgres runbook role: %w", err)
	}

	backupArgs := []string{"-D", pair.Standby.DataDir, "-R", "-X", "stream", "-c", "fast",
		"-d", fmt.Sprintf("host=127.0.0.1 port=%d user=%s application_name=%s", pair.Primary.Port, PostgresReplicationUser, PostgresStandbyName)}
	if !o.Durable {
		backupArgs = append(backupArgs, "--no-sync")
	}
	if err := p.runToCompletion(ctx, ProcSpec{Name: "postgres-basebackup", Path: filepath.Join(binDir, "pg_basebackup"),
		Args: backupArgs, AsUser: asUser, Env: []string{"PGPASSWORD=" + o.Password}}); err != nil {
		return err
	}
	if err := startServer(&pair.Standby, "postgres standby streaming", func(ctx context.Context) error {
		var inRecovery bool
		if err := pgQueryRow(ctx, pair.Standby.DSN, "SELECT pg_is_in_recovery()", &inRecovery); err != nil {
			return err
		}
		if !inRecovery {
			return errors.New("standby is not in recovery")
		}
		var state string
		if err := pgQueryRow(ctx, pair.Primary.DSN, "SELECT state FROM pg_stat_replication WHERE application_name = $1",
			&state, PostgresStandbyName); err != nil {
			return fmt.Errorf("pg_stat_replication on primary: %w", err)
		}
		if state != "streaming" {
			return fmt.Errorf("replication state %q", state)
		}
		return nil
	}); err != nil {
		return err
	}
	p.Postgres = pair
	return nil
}

func (p *Platform) startPostgresServer(pair *PostgresPair, s PostgresServer) (*Process, error) {
	proc, err := p.startProcess(ProcSpec{
		Name: "postgres-" + s.Name, Path: filepath.Join(pair.BinDir, "postgres"), AsUser: pair.OSUser,
		Args: []string{"-D", s.DataDir, "-p", strconv.Itoa(s.Port), "-k", s.SocketDir, "-c", "cluster_name=" + s.Name},
	})
	if err != nil {
		return nil, err
	}
	// SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave.
	p.onStop("postgres-"+s.Name, func() error {
		err := proc.Signal(syscall.SIGINT, 20*time.Second)
		// promote's rebuild restarts a server with pg_ctl, outside our process
		// group: stop whichever postmaster holds the data dir now.
		return errors.Join(err, stopPostmaster(s.DataDir, 20*time.Second))
	})
	return proc, nil
}

// stopPostmaster fast-stops the postmaster named in dataDir's postmaster.pid,
// if one runs, and SIGKILLs it after grace.
func stopPostmaster(dataDir string, grace time.Duration) error {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 0 || !processAlive(pid) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGINT)
	deadline := time.Now().Add(grace)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return fmt.Errorf("postmaster %d of %s did not stop within %s of SIGINT; killed", pid, dataDir, grace)
		}
		time.Sleep(20 * time.Millisecond) // not our child: no exit notification to wait on
	}
	return nil
}

// processAlive: the pid exists and is not a zombie waiting for a reaper.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// RunAsOSUser runs a binary from BinDir (pg_ctl, psql, pg_basebackup) as the
// postgres OS user and returns its combined output.
func (pp *PostgresPair) RunAsOSUser(ctx context.Context, binary string, args ...string) (string, error) {
	logPath := filepath.Join(pp.p.Dir, fmt.Sprintf("postgres-%s-%d.log", binary, time.Now().UnixNano()))
	err := pp.p.runToCompletion(ctx, ProcSpec{Name: "postgres-" + binary, Path: filepath.Join(pp.BinDir, binary),
		Args: args, AsUser: pp.OSUser, LogPath: logPath, Env: []string{"PGPASSWORD=" + pp.Password}})
	out, _ := os.ReadFile(logPath)
	return string(out), err
}

// runToCompletion starts a tracked process and waits for it to exit successfully.
func (p *Platform) runToCompletion(ctx context.Context, spec ProcSpec) error {
	proc, err := p.startProcess(spec)
	if err != nil {
		return err
	}
	select {
	case <-proc.Exited():
	case <-ctx.Done():
		_ = proc.Stop(2 * time.Second)
		return fmt.Errorf("%s: %w\n--- %s ---\n%s", spec.Name, ctx.Err(), proc.LogPath, proc.LogTail(20))
	}
	if proc.err != nil {
		return fmt.Errorf("%s: %w\n--- %s ---\n%s", spec.Name, proc.err, proc.LogPath, proc.LogTail(20))
	}
	return nil
}

func postgresDSN(host string, port int, user, password, db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: fmt.Sprintf("%s:%d", host, port),
		Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

func pgPing(ctx context.Context, dsn string) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	return c.Close(ctx)
}

func pgExec(ctx context.Context, dsn string, stmts ...string) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", strings.SplitN(s, " PASSWORD", 2)[0], err)
		}
	}
	return nil
}

func pgQueryRow(ctx context.Context, dsn, query string, dest any, args ...any) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	return c.QueryRow(ctx, query, args...).Scan(dest)
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkTraversable fails early, with the path to fix, when a directory above
// dir is closed to other users, which the postgres account would hit as an
// obscure initdb permission error.
func checkTraversable(dir string) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("directory %s is not searchable by other users (mode %v): the %s account cannot reach its data; use a platform dir under /tmp (Options.Dir)",
				d, fi.Mode().Perm(), PostgresOSUser)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// postgresRAMDir makes a dir on /dev/shm named after this process, first
// removing those of processes that died without cleaning up (a killed test).
func postgresRAMDir() (string, error) {
	const shm = "/dev/shm"
	if fi, err := os.Stat(shm); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("%s: no tmpfs", shm)
	}
	stale, _ := filepath.Glob(filepath.Join(shm, "wotr-pg-*-*"))
	for _, d := range stale {
		pid, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(filepath.Base(d), "wotr-pg-"), "-", 2)[0])
		if err == nil && pid != os.Getpid() && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
	return os.MkdirTemp(shm, fmt.Sprintf("wotr-pg-%d-", os.Getpid()))
}
