package redis

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRDBKeyCounts(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	aux := []byte{rdbAux, 9}
	aux = append(aux, "redis-ver"...)
	aux = append(aux, 6)
	aux = append(aux, "7.0.15"...)
	aux = append(aux, rdbAux, 10)
	aux = append(aux, "redis-bits"...)
	aux = append(aux, 0xC0, 64) // an 8-bit integer
	header := append([]byte("REDIS0010"), aux...)

	withKeys := append(append([]byte{}, header...), rdbSelectDB, 0, rdbResizeDB, 0x40|0x01, 0x2C, 3) // 300 keys, 3 expiring
	got, err := rdbKeyCounts(write("keys.rdb", withKeys))
	if err != nil || got["db0"] != 300 || len(got) != 1 {
		t.Errorf("keys: %v %v, want db0=300", got, err)
	}
	empty := append(append([]byte{}, header...), rdbEOF)
	if got, err := rdbKeyCounts(write("empty.rdb", empty)); err != nil || got["db0"] != 0 || len(got) != 1 {
		t.Errorf("empty: %v %v, want db0=0 recorded", got, err)
	}
	if _, err := rdbKeyCounts(write("bad.rdb", []byte("NOTREDIS0"))); err == nil {
		t.Error("a file without the REDIS header was read")
	}
	if _, err := rdbKeyCounts(write("cut.rdb", header[:len(header)-3])); err == nil {
		t.Error("a truncated header was read")
	}
}
