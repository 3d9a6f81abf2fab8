package patkit

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestSecretFormat(t *testing.T) {
	for _, prefix := range []string{DefaultPrefix, "acme_", ""} {
		s, err := newSecret(prefix, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s, prefix) || len(s) != len(prefix)+secretBodyLen+secretCRCLen {
			t.Fatalf("secret %q: bad prefix or length", s)
		}
		if !wellFormed(prefix, s) {
			t.Fatalf("wellFormed(%q) = false for a fresh secret", s)
		}
		// Every single-character change and every truncation is caught by
		// the length, alphabet or checksum check.
		for i := len(prefix); i < len(s); i++ {
			b := []byte(s)
			b[i] ^= 0x01
			if wellFormed(prefix, string(b)) {
				t.Errorf("mistyped secret %q accepted", b)
			}
		}
		for n := 0; n < len(s); n++ {
			if wellFormed(prefix, s[:n]) {
				t.Errorf("truncated secret %q accepted", s[:n])
			}
		}
		if wellFormed(prefix+"x", s) {
			t.Error("secret accepted under another prefix")
		}
	}
}

func TestSecretsAreRandom(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s, err := newSecret(DefaultPrefix, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if seen[s] {
			t.Fatalf("duplicate secret %q", s)
		}
		seen[s] = true
	}
	if _, err := newSecret(DefaultPrefix, bytes.NewReader(make([]byte, 3))); err == nil {
		t.Error("short randomness accepted")
	}
}

// digest is the Service's digest under key.
func digest(key []byte, secret string) []byte { return (&Service{key: key}).digest(secret) }

func TestDigestIsKeyed(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	if bytes.Equal(digest(k1, "glpat-x"), digest(k2, "glpat-x")) {
		t.Error("digests under different keys are equal")
	}
	if !bytes.Equal(digest(k1, "glpat-x"), digest(k1, "glpat-x")) {
		t.Error("digest is not deterministic")
	}
	if bytes.Equal(digest(k1, "glpat-x"), digest(k1, "glpat-y")) {
		t.Error("different secrets share a digest")
	}
}

func TestExpiry(t *testing.T) {
	exp := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tok := &Token{ExpiresAt: exp}
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{
		{exp.Add(-time.Nanosecond), false}, // 23:59:59.999999999 the day before
		{exp, true},                        // midnight UTC of expires_at
		{exp.Add(time.Hour), true},
		{time.Date(2026, 5, 31, 23, 0, 0, 0, time.FixedZone("x", -5*3600)), true}, // 04:00 UTC June 1
	} {
		if got := tok.Expired(tc.now); got != tc.want {
			t.Errorf("Expired(%v) = %v, want %v", tc.now, got, tc.want)
		}
		if got := tok.Active(tc.now); got == tc.want {
			t.Errorf("Active(%v) = %v", tc.now, got)
		}
	}
	if (&Token{}).Expired(exp) {
		t.Error("token without expiry expired")
	}
	if (&Token{Revoked: true}).Active(exp) {
		t.Error("revoked token active")
	}
}

func BenchmarkDigest(b *testing.B) {
	key := bytes.Repeat([]byte{7}, 32)
	s, _ := newSecret(DefaultPrefix, rand.Reader)
	b.Run("HMAC-SHA-256", func(b *testing.B) {
		for b.Loop() {
			digest(key, s)
		}
	})
	b.Run("HMAC-SHA-256-reused", func(b *testing.B) {
		svc := &Service{key: key}
		for b.Loop() {
			svc.digest(s)
		}
	})
	b.Run("SHA-256+pepper", func(b *testing.B) {
		for b.Loop() {
			pepperDigest(key, s)
		}
	})
}

// pepperDigest is the alternative BenchmarkDigest weighs HMAC against:
// GitLab's SHA-256(token + salt).
func pepperDigest(key []byte, secret string) []byte {
	h := sha256.New()
	h.Write([]byte(secret))
	h.Write(key)
	return h.Sum(nil)
}

func TestServiceDigestMatches(t *testing.T) {
	key := bytes.Repeat([]byte{9}, 32)
	s := &Service{key: key}
	for _, secret := range []string{"glpat-a", "glpat-b", "", "glpat-a"} {
		if !bytes.Equal(s.digest(secret), digest(key, secret)) {
			t.Errorf("pooled digest of %q differs", secret)
		}
	}
}

// FuzzWellFormed checks wellFormed against the rule written plainly: the
// prefix, 27 base64url characters, and the lower-case base-36 CRC-32 of
// everything before, padded to 7 characters.
func FuzzWellFormed(f *testing.F) {
	s, err := newSecret(DefaultPrefix, rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s)
	f.Add(strings.ToUpper(s))
	f.Add(s[:len(s)-1] + "!")
	f.Add(DefaultPrefix + strings.Repeat("A", secretBodyLen) + "zzzzzzz")
	f.Fuzz(func(t *testing.T, secret string) {
		want := false
		if body, ok := strings.CutPrefix(secret, DefaultPrefix); ok && len(body) == secretBodyLen+secretCRCLen {
			_, err := base64.RawURLEncoding.DecodeString(body[:secretBodyLen] + "A") // 28 characters decode whole
			sum := body[secretBodyLen:]
			want = err == nil && strings.Trim(sum, "0123456789abcdefghijklmnopqrstuvwxyz") == "" &&
				checksum(secret[:len(secret)-secretCRCLen]) == sum
		}
		if got := wellFormed(DefaultPrefix, secret); got != want {
			t.Errorf("wellFormed(%q) = %v, want %v", secret, got, want)
		}
	})
}
