package auth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func BenchmarkResolveTokenCached(b *testing.B) {
	for _, format := range []string{"jwt", "opaque"} {
		b.Run(format, func(b *testing.B) {
			e := newEnv(b, format)
			ctx := context.Background()
			tok, err := e.srv.MintToken(ctx, "public-app", "doc", "pt1", "patient/*.rs launch/patient")
			if err != nil {
				b.Fatal(err)
			}
			bearer := tok["access_token"].(string)
			if _, err := e.srv.ResolveToken(ctx, bearer); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.srv.ResolveToken(ctx, bearer); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func BenchmarkResolveTokenUncached(b *testing.B) {
	e := newEnv(b, "jwt")
	ctx := context.Background()
	tok, _ := e.srv.MintToken(ctx, "public-app", "doc", "pt1", "patient/*.rs")
	bearer := tok["access_token"].(string)
	b.ReportAllocs()
	for b.Loop() {
		e.srv.cache.Clear()
		if _, err := e.srv.ResolveToken(ctx, bearer); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClientCredentials measures the token endpoint for Backend Services over
// HTTP; assertions are signed before the timer starts.
func BenchmarkClientCredentials(b *testing.B) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS384, jose.ES384} {
		b.Run(string(alg), func(b *testing.B) {
			e := newEnv(b, "jwt")
			n := b.N
			bodies := make([]string, n)
			for i := range n {
				bodies[i] = ccForm(e.assertion(b, "backend", alg, nil), "system/*.rs").Encode()
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
			b.ResetTimer()
			for i := range n {
				req, _ := http.NewRequest(http.MethodPost, e.base+"/auth/token", strings.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
	_ = url.Values{}
}
