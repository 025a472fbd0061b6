package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func keyType(k jose.JSONWebKey) string {
	switch k.Key.(type) {
	case *rsa.PublicKey, *rsa.PrivateKey:
		return "RSA"
	case *ecdsa.PublicKey, *ecdsa.PrivateKey:
		return "EC"
	}
	return ""
}

// jwksCache fetches client JWKS URLs and caches them as their Cache-Control allows.
type jwksCache struct {
	mu      sync.Mutex
	entries map[string]jwksEntry
	client  *http.Client
	now     func() time.Time
}

type jwksEntry struct {
	set     *jose.JSONWebKeySet
	expires time.Time
	fetched time.Time
}

// defaultJWKSCache applies when the response has no Cache-Control max-age.
const defaultJWKSCache = 5 * time.Minute

// get returns the key set at u; fresh reports whether it was just fetched. force
// refetches unless the cached copy is under 10 seconds old.
func (c *jwksCache) get(ctx context.Context, u string, force bool) (*jose.JSONWebKeySet, bool, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[u]
	c.mu.Unlock()
	if ok && now.Before(e.expires) && (!force || now.Sub(e.fetched) < 10*time.Second) {
		return e.set, false, nil
	}
	set, maxAge, err := c.fetch(ctx, u)
	if err != nil {
		return nil, false, err
	}
	if maxAge > 0 {
		c.mu.Lock()
		if c.entries == nil {
			c.entries = map[string]jwksEntry{}
		}
		c.entries[u] = jwksEntry{set: set, expires: now.Add(maxAge), fetched: now}
		c.mu.Unlock()
	}
	return set, true, nil
}

func (c *jwksCache) fetch(ctx context.Context, u string) (*jose.JSONWebKeySet, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, errors.New("bad jwks_uri")
	}
	req.Header.Set("Accept", "application/json")
	hc := c.client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("fetching jwks_uri: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("fetching jwks_uri: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, 0, err
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, 0, errors.New("jwks_uri did not return a JWKS")
	}
	return &set, cacheFor(resp.Header.Get("Cache-Control")), nil
}

// cacheFor reads how long a response may be cached from its Cache-Control header.
func cacheFor(cc string) time.Duration {
	if cc == "" {
		return defaultJWKSCache
	}
	for _, d := range strings.Split(cc, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-store" || d == "no-cache":
			return 0
		case strings.HasPrefix(d, "max-age="):
			n, err := strconv.Atoi(strings.Trim(d[len("max-age="):], `"`))
			if err != nil || n < 0 {
				return 0
			}
			return time.Duration(n) * time.Second
		}
	}
	return defaultJWKSCache
}
