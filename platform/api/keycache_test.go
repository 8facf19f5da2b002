package api

import (
	"strings"
	"testing"
	"time"
)

func TestKeyCacheExpiresAfterTTL(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newKeyCache(10*time.Second, 100)
	c.now = func() time.Time { return now }
	if _, ok := c.get("h1"); ok {
		t.Fatal("empty cache answered")
	}
	c.put("h1", "shop")
	if src, ok := c.get("h1"); !ok || src != "shop" {
		t.Fatalf("fresh entry: got %q %v, want shop true", src, ok)
	}
	now = now.Add(10 * time.Second)
	if src, ok := c.get("h1"); ok {
		t.Fatalf("entry answered at its TTL: %q", src)
	}
}

func TestKeyCacheStaysBounded(t *testing.T) {
	c := newKeyCache(time.Minute, 3)
	for _, h := range []string{"a", "b", "c", "d"} {
		c.put(h, "src-"+h)
	}
	if len(c.entries) > 3 {
		t.Fatalf("cache holds %d entries, bound is 3", len(c.entries))
	}
	if src, ok := c.get("d"); !ok || src != "src-d" {
		t.Fatalf("newest entry lost: %q %v", src, ok)
	}
}

func TestKeyCacheDisabledByZeroTTL(t *testing.T) {
	c := newKeyCache(0, 10)
	c.put("h", "shop") // a nil cache ignores puts
	if _, ok := c.get("h"); ok {
		t.Fatal("disabled cache answered")
	}
}

func TestConfigLocalAuthTTLBoundedByCacheTTL(t *testing.T) {
	_, err := ConfigFromEnv(MapLookup(map[string]string{"AUTH_CACHE_TTL": "5s", "AUTH_LOCAL_CACHE_TTL": "1m"}))
	if err == nil || !strings.Contains(err.Error(), "AUTH_LOCAL_CACHE_TTL") || !strings.Contains(err.Error(), "must not exceed AUTH_CACHE_TTL (5s)") {
		t.Fatalf("want AUTH_LOCAL_CACHE_TTL bounded by AUTH_CACHE_TTL, got %v", err)
	}
}
