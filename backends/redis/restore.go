package redis

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wotr/wotr-tui/backends/scratch"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/backup"
)

var _ action.BackupVerifier = (*Client)(nil)

// RDB opcodes read before the first key.
const (
	rdbAux      = 0xFA
	rdbResizeDB = 0xFB
	rdbSelectDB = 0xFE
	rdbEOF      = 0xFF
)

// rdbKeyCounts reads the key count of each database from an RDB file's
// RESIZEDB records, which the server writes before each database's keys. Only
// the header of each database is parsed, so it stops at the first key: later
// databases are not counted ("db0" is the platform's).
func rdbKeyCounts(path string) (map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	magic := make([]byte, 9)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic[:5]) != "REDIS" {
		return nil, fmt.Errorf("%s is not an RDB file (no REDIS header)", path)
	}
	out := map[string]int64{}
	db := int64(-1)
	for {
		op, err := r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		switch op {
		case rdbAux:
			for i := 0; i < 2; i++ {
				if err := skipRDBString(r); err != nil {
					return nil, fmt.Errorf("%s: aux field: %w", path, err)
				}
			}
		case rdbSelectDB:
			n, _, err := rdbLength(r)
			if err != nil {
				return nil, err
			}
			db = int64(n)
		case rdbResizeDB:
			size, _, err := rdbLength(r)
			if err != nil {
				return nil, err
			}
			if _, _, err := rdbLength(r); err != nil { // keys with an expiry
				return nil, err
			}
			out["db"+strconv.FormatInt(db, 10)] = int64(size)
			return out, nil
		case rdbEOF:
			out["db0"] = 0 // an empty dataset has no RESIZEDB
			return out, nil
		default:
			return nil, fmt.Errorf("%s: RDB record 0x%02X before any RESIZEDB: key counts not readable", path, op)
		}
	}
}

// rdbLength reads a length; special is true for an encoded value (an
// integer or compressed string), whose format is in the low bits.
func rdbLength(r *bufio.Reader) (uint64, bool, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, false, err
	}
	switch b >> 6 {
	case 0:
		return uint64(b & 0x3F), false, nil
	case 1:
		c, err := r.ReadByte()
		return uint64(b&0x3F)<<8 | uint64(c), false, err
	case 2:
		switch b {
		case 0x80:
			var v uint32
			err := binary.Read(r, binary.BigEndian, &v)
			return uint64(v), false, err
		case 0x81:
			var v uint64
			err := binary.Read(r, binary.BigEndian, &v)
			return v, false, err
		}
		return 0, false, fmt.Errorf("RDB length byte 0x%02X", b)
	}
	return uint64(b & 0x3F), true, nil
}

func skipRDBString(r *bufio.Reader) error {
	n, special, err := rdbLength(r)
	if err != nil {
		return err
	}
	if special {
		switch n {
		case 0, 1, 2: // 8, 16, 32-bit integer
			_, err := r.Discard(1 << n)
			return err
		case 3: // LZF: compressed length, uncompressed length, data
			clen, _, err := rdbLength(r)
			if err != nil {
				return err
			}
			if _, _, err := rdbLength(r); err != nil {
				return err
			}
			_, err = r.Discard(int(clen))
			return err
		}
		return fmt.Errorf("RDB string encoding %d", n)
	}
	_, err = r.Discard(int(n))
	return err
}

// snapshotFile is the RDB file in a backup's directory.
func snapshotFile(dir string) (string, error) {
	m, _ := filepath.Glob(filepath.Join(dir, "*.rdb"))
	if len(m) == 0 {
		return "", fmt.Errorf("no RDB snapshot in %s", dir)
	}
	return m[0], nil
}

// scratchRedis is a redis-server of its own on a free port, no persistence
// of its own, loaded from one RDB file.
type scratchRedis struct {
	srv *scratch.Server
	c   *goredis.Client
}

func (s *scratchRedis) remove() error {
	if s.c != nil {
		_ = s.c.Close()
	}
	return s.srv.Remove(syscall.SIGTERM)
}

func startScratchRedis(ctx context.Context, rdb, base string) (*scratchRedis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found: %w", err)
	}
	dir, err := scratch.NewDir(base, "wotr-redis-restore-", scratch.Owner{})
	if err != nil {
		return nil, err
	}
	if err := copyInto(rdb, filepath.Join(dir, "dump.rdb")); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	port, err := scratch.FreePort()
	if err != nil {
		return nil, err
	}
	s := &scratchRedis{}
	if s.srv, err = scratch.Start(dir, port, scratch.Owner{}, "redis", bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--dir", dir, "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", "--protected-mode", "no"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s.c = goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1, DialTimeout: time.Second})
	if err := s.srv.WaitReady(ctx, "scratch redis-server loaded the snapshot", func(ctx context.Context) error {
		info, err := s.c.Info(ctx, "persistence").Result()
		if err != nil {
			return err
		}
		if infoField(info, "loading") != "0" {
			return errors.New("loading")
		}
		return nil
	}); err != nil {
		_ = s.remove()
		return nil, err
	}
	return s, nil
}

func copyInto(src, dst string) error {
	_, err := copyFile(src, dst)
	return err
}

// VerifyBackup loads the backup's RDB into a scratch redis-server and checks
// its DBSIZE against the key count in the snapshot, then reads a sample of
// keys back (TYPE and DUMP of each).
func (c *Client) VerifyBackup(ctx context.Context, e backup.Entry, progress func(string)) (action.VerifyReport, error) {
	var rep action.VerifyReport
	rdb, err := snapshotFile(e.Location)
	if err != nil {
		return rep, err
	}
	start := time.Now()
	s, err := startScratchRedis(ctx, rdb, "")
	if err != nil {
		return rep, err
	}
	defer s.remove() //nolint:errcheck
	rep.RestoreTime = time.Since(start)
	if progress != nil {
		progress("snapshot loaded in " + rep.RestoreTime.Round(time.Millisecond).String())
	}
	size, err := checkScratch(ctx, s, e, &rep)
	if err != nil {
		return rep, err
	}
	rep.Detail = fmt.Sprintf("%d keys loaded into a scratch redis-server in %s", size, rep.RestoreTime.Round(time.Millisecond))
	return rep, nil
}

// checkScratch compares a loaded scratch server with what the backup recorded
// (DBSIZE) and reads a sample of its keys back; it returns the DBSIZE.
func checkScratch(ctx context.Context, s *scratchRedis, e backup.Entry, rep *action.VerifyReport) (int64, error) {
	size, err := s.c.DBSize(ctx).Result()
	if err != nil {
		return size, err
	}
	want, ok := e.RowCounts["db0"]
	switch {
	case !ok:
		rep.Checks = append(rep.Checks, action.Check{Name: "dbsize", Status: action.CheckFail, Detail: fmt.Sprintf("the backup recorded no key count to compare DBSIZE %d with: take a new backup", size)})
	case size != want:
		rep.Checks = append(rep.Checks, action.Check{Name: "dbsize", Status: action.CheckFail, Detail: fmt.Sprintf("DBSIZE %d, the snapshot recorded %d keys", size, want)})
	default:
		rep.Checks = append(rep.Checks, action.Check{Name: "dbsize", Status: action.CheckPass, Detail: fmt.Sprintf("DBSIZE %d, as recorded", size)})
	}
	keys, _, err := s.c.Scan(ctx, 0, "*", 200).Result()
	if err != nil {
		return size, err
	}
	if len(keys) > 20 {
		keys = keys[:20]
	}
	var bad []string
	for _, k := range keys {
		t, err := s.c.Type(ctx, k).Result()
		if err == nil && t == "none" {
			err = errors.New("gone")
		}
		if err == nil {
			_, err = s.c.Dump(ctx, k).Result()
		}
		if err != nil {
			bad = append(bad, k+": "+err.Error())
		}
	}
	switch {
	case len(bad) > 0:
		rep.Checks = append(rep.Checks, action.Check{Name: "sample keys", Status: action.CheckFail, Detail: strings.Join(bad, "; ")})
	case size > 0 && len(keys) == 0:
		rep.Checks = append(rep.Checks, action.Check{Name: "sample keys", Status: action.CheckFail, Detail: fmt.Sprintf("SCAN returned no key of %d", size)})
	default:
		rep.Checks = append(rep.Checks, action.Check{Name: "sample keys", Status: action.CheckPass, Detail: fmt.Sprintf("%d keys read back (TYPE, DUMP)", len(keys))})
	}
	return size, nil
}
