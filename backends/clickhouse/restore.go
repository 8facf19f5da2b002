package clickhouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/wotr/wotr-tui/backends/scratch"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/backup"
)

var _ action.BackupVerifier = (*Client)(nil)

// frozenPart is one part directory in a backup's shadow copy.
type frozenPart struct {
	Table, Name, Partition, Path string
}

// backupParts lists the parts under dir/shadow/<n>/data/<db>/<table>/<part>.
func backupParts(dir, db string) ([]frozenPart, error) {
	incs, err := filepath.Glob(filepath.Join(dir, "shadow", "*", "data", escapeName(db), "*", "*"))
	if err != nil {
		return nil, err
	}
	var out []frozenPart
	for _, p := range incs {
		if _, err := os.Stat(filepath.Join(p, "checksums.txt")); err != nil {
			continue
		}
		name := filepath.Base(p)
		out = append(out, frozenPart{Table: unescapeName(filepath.Base(filepath.Dir(p))), Name: name, Partition: partitionOf(name), Path: p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// escapeName is how the server names a table's directory (18.16: percent-escaped).
func escapeName(s string) string {
	var b strings.Builder
	for _, r := range []byte(s) {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteByte(r)
		} else {
			fmt.Fprintf(&b, "%%%02X", r)
		}
	}
	return b.String()
}

func unescapeName(s string) string {
	out, err := unescapePercent(s)
	if err != nil {
		return s
	}
	return out
}

func unescapePercent(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", err
			}
			b.WriteByte(byte(n))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

// partitionOf is the partition id of a part name: <partition>_<min>_<max>_<level>.
func partitionOf(part string) string {
	fields := strings.Split(part, "_")
	if len(fields) < 4 {
		return part
	}
	return strings.Join(fields[:len(fields)-3], "_")
}

// partitionChecksums hashes, per table/partition, the checksums.txt of each
// part (the server's own per-file checksums), sorted: the same bytes on
// disk give the same digest whatever the parts are named.
func partitionChecksums(parts []frozenPart) (map[string]string, error) {
	sums := map[string][]string{}
	for _, p := range parts {
		b, err := os.ReadFile(filepath.Join(p.Path, "checksums.txt"))
		if err != nil {
			return nil, err
		}
		d := sha256.Sum256(b)
		key := p.Table + "/" + p.Partition
		sums[key] = append(sums[key], hex.EncodeToString(d[:]))
	}
	out := map[string]string{}
	for k, v := range sums {
		sort.Strings(v)
		d := sha256.Sum256([]byte(strings.Join(v, "\n")))
		out[k] = hex.EncodeToString(d[:16])
	}
	return out, nil
}

// recordFrozen fills the manifest-derived counts after a freeze: rows per
// table/partition from system.parts for exactly the parts that were copied
// (merged-away parts stay listed, inactive, for a while), and their checksums.
func (c *Client) recordFrozen(ctx context.Context, r Replica, dir string, info *action.BackupInfo) error {
	parts, err := backupParts(dir, c.Database)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, p := range parts {
		want[p.Table+"/"+p.Name] = true
	}
	rows, err := r.Conn.Query(ctx, `SELECT table, name, toInt64(rows) FROM system.parts WHERE database = ?`, c.Database)
	if err != nil {
		return err
	}
	defer rows.Close()
	info.RowCounts = map[string]int64{}
	found := map[string]bool{}
	for rows.Next() {
		var t, name string
		var n int64
		if err := rows.Scan(&t, &name, &n); err != nil {
			return err
		}
		if key := t + "/" + name; want[key] && !found[key] {
			found[key] = true
			info.RowCounts[t+"/"+partitionOf(name)] += n
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(found) != len(want) {
		return fmt.Errorf("%d of the %d frozen parts are no longer in system.parts: row counts not recorded", len(want)-len(found), len(want))
	}
	info.Checksums, err = partitionChecksums(parts)
	return err
}

// showCreate is the table's CREATE statement, kept with a freeze backup so
// that a restore can make the table the parts attach to.
func showCreate(ctx context.Context, conn driver.Conn, db, table string) (string, error) {
	var stmt string
	err := conn.QueryRow(ctx, fmt.Sprintf("SHOW CREATE TABLE %s.%s", quoteIdent(db), quoteIdent(table))).Scan(&stmt)
	return stmt, err
}

var replicatedEngine = regexp.MustCompile(`Replicated(\w*MergeTree)\(\s*'[^']*'\s*,\s*'[^']*'\s*,?\s*`)

// unreplicated turns a Replicated*MergeTree CREATE into its plain engine:
// a scratch server has no coordination service, and the parts are the same.
func unreplicated(stmt string) string {
	return replicatedEngine.ReplaceAllString(stmt, "$1(")
}

func readManifest(dir string) ([]frozenTable, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("freeze backup manifest: %w", err)
	}
	var m []frozenTable
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("freeze backup manifest %s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	return m, nil
}

// scratchCH is a clickhouse-server of its own on free ports, without
// replication, holding one database.
type scratchCH struct {
	srv  *scratch.Server
	conn driver.Conn
	path string // the server's <path>
}

func (s *scratchCH) remove() error {
	if s.conn != nil {
		_ = s.conn.Close()
	}
	return s.srv.Remove(syscall.SIGTERM)
}

func startScratchCH(ctx context.Context, base string) (*scratchCH, error) {
	bin, err := exec.LookPath("clickhouse-server")
	if err != nil {
		return nil, fmt.Errorf("clickhouse-server not found: %w", err)
	}
	dir, err := scratch.NewDir(base, "wotr-ch-restore-", scratch.Owner{})
	if err != nil {
		return nil, err
	}
	var ports [3]int
	for i := range ports {
		if ports[i], err = scratch.FreePort(); err != nil {
			return nil, err
		}
	}
	s := &scratchCH{path: filepath.Join(dir, "data")}
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	cfg := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>%[1]s/server.log</log><errorlog>%[1]s/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%[2]d</tcp_port>
  <http_port>%[3]d</http_port>
  <interserver_http_port>%[4]d</interserver_http_port>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>16777216</mark_cache_size>
  <uncompressed_cache_size>16777216</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
</yandex>
`, dir, ports[0], ports[1], ports[2])
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(scratchUsers), 0o644); err != nil {
		return nil, err
	}
	if s.srv, err = scratch.Start(dir, ports[0], scratch.Owner{}, "clickhouse", bin, "--config-file="+filepath.Join(dir, "config.xml")); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if s.conn, err = ch.Open(&ch.Options{Addr: []string{fmt.Sprintf("127.0.0.1:%d", ports[0])}, Auth: ch.Auth{Database: "default", Username: "default"},
		DialTimeout: 2 * time.Second, ReadTimeout: 10 * time.Minute, MaxOpenConns: 2}); err != nil {
		_ = s.remove()
		return nil, err
	}
	if err := s.srv.WaitReady(ctx, "scratch clickhouse-server SELECT 1", func(ctx context.Context) error {
		var one uint8
		return s.conn.QueryRow(ctx, "SELECT 1").Scan(&one)
	}); err != nil {
		_ = s.remove()
		return nil, err
	}
	return s, nil
}

const scratchUsers = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>1000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`

// attachBackup creates each backed-up table (unreplicated) on s, copies its
// frozen parts into the table's detached dir and attaches them partition by
// partition.
func (s *scratchCH) attachBackup(ctx context.Context, dir, db string, progress func(string)) error {
	manifest, err := readManifest(dir)
	if err != nil {
		return err
	}
	parts, err := backupParts(dir, db)
	if err != nil {
		return err
	}
	if err := s.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(db)); err != nil {
		return err
	}
	for _, t := range manifest {
		if t.Create == "" {
			return fmt.Errorf("backup manifest has no CREATE statement for %s (taken before backups recorded it): take a new backup", t.Table)
		}
		if err := s.conn.Exec(ctx, unreplicated(t.Create)); err != nil {
			return fmt.Errorf("create %s on the scratch server: %w", t.Table, err)
		}
		pids := map[string]bool{}
		for _, p := range parts {
			if p.Table != t.Table {
				continue
			}
			dst := filepath.Join(s.path, "data", escapeName(db), escapeName(t.Table), "detached", p.Name)
			if _, err := copyTree(p.Path, dst); err != nil {
				return fmt.Errorf("copy part %s: %w", p.Name, err)
			}
			pids[p.Partition] = true
		}
		for pid := range pids {
			q := fmt.Sprintf("ALTER TABLE %s.%s ATTACH PARTITION ID '%s'", quoteIdent(db), quoteIdent(t.Table), strings.ReplaceAll(pid, "'", ""))
			if err := s.conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("attach partition %s of %s: %w", pid, t.Table, err)
			}
		}
		if progress != nil {
			progress(fmt.Sprintf("attached %d partitions of %s", len(pids), t.Table))
		}
	}
	return nil
}

// activeParts lists the scratch server's active parts of db, for counting
// and for hashing them as the backup was hashed.
func (s *scratchCH) activeParts(ctx context.Context, db string) ([]frozenPart, map[string]int64, error) {
	rows, err := s.conn.Query(ctx, `SELECT table, name, partition_id, path, toInt64(rows) FROM system.parts WHERE active AND database = ?`, db)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var parts []frozenPart
	counts := map[string]int64{}
	for rows.Next() {
		var p frozenPart
		var n int64
		if err := rows.Scan(&p.Table, &p.Name, &p.Partition, &p.Path, &n); err != nil {
			return nil, nil, err
		}
		counts[p.Table+"/"+p.Partition] += n
		parts = append(parts, p)
	}
	return parts, counts, rows.Err()
}

// VerifyBackup attaches a freeze backup's parts to a scratch clickhouse-server
// and compares rows and part checksums per partition with what the backup
// recorded, then reads every row (count and a hash of the ids) to prove the
// column data decompresses.
func (c *Client) VerifyBackup(ctx context.Context, e backup.Entry, progress func(string)) (action.VerifyReport, error) {
	var rep action.VerifyReport
	if e.Method != "freeze" {
		return rep, fmt.Errorf("backup %s of clickhouse was taken with %q: only freeze backups (copied parts) can be restored here", e.ID, e.Method)
	}
	start := time.Now()
	s, err := startScratchCH(ctx, "")
	if err != nil {
		return rep, err
	}
	defer s.remove() //nolint:errcheck
	if progress != nil {
		progress("scratch clickhouse-server up in " + time.Since(start).Round(time.Millisecond).String())
	}
	if err := s.attachBackup(ctx, e.Location, c.Database, progress); err != nil {
		return rep, err
	}
	parts, counts, err := s.activeParts(ctx, c.Database)
	if err != nil {
		return rep, err
	}
	var total, hash uint64
	if err := s.conn.QueryRow(ctx, fmt.Sprintf("SELECT count(), sum(cityHash64(id)) FROM %s.%s", quoteIdent(c.Database), quoteIdent("events"))).Scan(&total, &hash); err != nil {
		return rep, fmt.Errorf("read the restored events: %w", err)
	}
	rep.RestoreTime = time.Since(start)
	rep.Checks = append(rep.Checks, action.CompareCounts("rows per partition", e.RowCounts, counts))
	sums, err := partitionChecksums(parts)
	if err != nil {
		return rep, err
	}
	rep.Checks = append(rep.Checks, compareSums(e.Checksums, sums))
	var want int64
	for k, n := range e.RowCounts {
		if strings.HasPrefix(k, "events/") {
			want += n
		}
	}
	st := action.CheckPass
	if int64(total) != want {
		st = action.CheckFail
	}
	rep.Checks = append(rep.Checks, action.Check{Name: "read all rows", Status: st,
		Detail: fmt.Sprintf("events: %d rows read (backup recorded %d), id hash %016x", total, want, hash)})
	rep.Detail = fmt.Sprintf("%d partitions, %d rows attached to a scratch server in %s", len(counts), total, rep.RestoreTime.Round(time.Millisecond))
	return rep, nil
}

func compareSums(recorded, restored map[string]string) action.Check {
	var bad []string
	for k, want := range recorded {
		if got := restored[k]; got != want {
			bad = append(bad, fmt.Sprintf("%s checksum %s, backup had %s", k, got, want))
		}
	}
	sort.Strings(bad)
	if len(recorded) == 0 || len(bad) > 0 {
		if len(recorded) == 0 {
			bad = append(bad, "the backup recorded no checksums")
		}
		return action.Check{Name: "checksums", Status: action.CheckFail, Detail: strings.Join(bad, "; ")}
	}
	return action.Check{Name: "checksums", Status: action.CheckPass, Detail: fmt.Sprintf("%d partitions' part checksums match", len(recorded))}
}
