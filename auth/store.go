package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// User is an end user who can log in at the authorize endpoint.
type User struct {
	Username, Password, Name, FHIRUser string
}

// Client is a registered OAuth client.
type Client struct {
	ID, Name, Secret string
	Public           bool
	RedirectURIs     []string
	Scope            string
	GrantTypes       []string
	AuthMethod       string // none, client_secret_basic, client_secret_post, private_key_jwt
	JWKS             json.RawMessage
	JWKSURI          string

	secretHash string
}

// Iteration counts for PBKDF2-SHA256. Client secrets are random and long, so they
// need far fewer rounds than human passwords. Tests lower them.
var (
	passwordIterations = 600_000
	secretIterations   = 10_000
)

func hashSecret(secret string, iter int) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	dk, err := pbkdf2.Key(sha256.New, secret, salt, iter, 32)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", iter, enc.EncodeToString(salt), enc.EncodeToString(dk)), nil
}

func checkSecret(hash, secret string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, secret, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// CreateUser creates or replaces a user; the password is stored as a PBKDF2 hash.
func (s *Server) CreateUser(ctx context.Context, u User) error {
	if u.Username == "" || u.Password == "" {
		return errors.New("auth: username and password are required")
	}
	h, err := hashSecret(u.Password, passwordIterations)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO auth_users(username, password_hash, name, fhir_user) VALUES (?,?,?,?)
		ON CONFLICT(username) DO UPDATE SET password_hash=excluded.password_hash, name=excluded.name, fhir_user=excluded.fhir_user`,
		u.Username, h, u.Name, u.FHIRUser)
	return err
}

// ListUsers lists users (without passwords).
func (s *Server) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT username, name, fhir_user FROM auth_users ORDER BY username`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.Username, &u.Name, &u.FHIRUser); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// authenticateUser checks a username and password.
func (s *Server) authenticateUser(ctx context.Context, username, password string) (*User, bool) {
	var u User
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT username, password_hash, name, fhir_user FROM auth_users WHERE username = ?`, username).
		Scan(&u.Username, &hash, &u.Name, &u.FHIRUser)
	if err != nil {
		checkSecret("pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", password)
		return nil, false
	}
	if !checkSecret(hash, password) {
		return nil, false
	}
	return &u, true
}

func (s *Server) getUser(ctx context.Context, username string) (*User, error) {
	var u User
	err := s.db.QueryRowContext(ctx, `SELECT username, name, fhir_user FROM auth_users WHERE username = ?`, username).
		Scan(&u.Username, &u.Name, &u.FHIRUser)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// CreateClient creates or replaces (upserts by ID) a client; its secret is stored hashed.
// An empty Secret on update keeps the stored one.
func (s *Server) CreateClient(ctx context.Context, c Client) error {
	if c.ID == "" {
		return errors.New("auth: client ID is required")
	}
	if c.AuthMethod == "" {
		switch {
		case c.Public:
			c.AuthMethod = "none"
		case len(c.JWKS) > 0 || c.JWKSURI != "":
			c.AuthMethod = "private_key_jwt"
		default:
			c.AuthMethod = "client_secret_basic"
		}
	}
	if c.AuthMethod == "none" {
		c.Public = true
	}
	if len(c.GrantTypes) == 0 {
		if c.AuthMethod == "private_key_jwt" && len(c.RedirectURIs) == 0 {
			c.GrantTypes = []string{"client_credentials"}
		} else {
			c.GrantTypes = []string{"authorization_code", "refresh_token"}
		}
	}
	hash := ""
	if c.Secret != "" {
		h, err := hashSecret(c.Secret, secretIterations)
		if err != nil {
			return err
		}
		hash = h
	}
	ru, _ := json.Marshal(nonNil(c.RedirectURIs))
	gt, _ := json.Marshal(nonNil(c.GrantTypes))
	pub := 0
	if c.Public {
		pub = 1
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO auth_clients(id, name, secret_hash, public, redirect_uris, scope, grant_types, auth_method, jwks, jwks_uri, created_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET name=excluded.name,
			secret_hash=CASE WHEN excluded.secret_hash = '' THEN auth_clients.secret_hash ELSE excluded.secret_hash END,
			public=excluded.public, redirect_uris=excluded.redirect_uris, scope=excluded.scope, grant_types=excluded.grant_types,
			auth_method=excluded.auth_method, jwks=excluded.jwks, jwks_uri=excluded.jwks_uri`,
		c.ID, c.Name, hash, pub, string(ru), c.Scope, string(gt), c.AuthMethod, string(c.JWKS), c.JWKSURI, s.now().Unix())
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const clientCols = `id, name, secret_hash, public, redirect_uris, scope, grant_types, auth_method, jwks, jwks_uri`

func scanClient(sc interface{ Scan(...any) error }) (*Client, error) {
	var c Client
	var pub int
	var ru, gt, jwks string
	if err := sc.Scan(&c.ID, &c.Name, &c.secretHash, &pub, &ru, &c.Scope, &gt, &c.AuthMethod, &jwks, &c.JWKSURI); err != nil {
		return nil, err
	}
	c.Public = pub != 0
	_ = json.Unmarshal([]byte(ru), &c.RedirectURIs)
	_ = json.Unmarshal([]byte(gt), &c.GrantTypes)
	if jwks != "" {
		c.JWKS = json.RawMessage(jwks)
	}
	return &c, nil
}

// ListClients lists registered clients (without secrets).
func (s *Server) ListClients(ctx context.Context) ([]Client, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+clientCols+` FROM auth_clients ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		c.secretHash = ""
		out = append(out, *c)
	}
	return out, rows.Err()
}

// getClient returns a client or sql.ErrNoRows.
func (s *Server) getClient(ctx context.Context, id string) (*Client, error) {
	if id == "" {
		return nil, sql.ErrNoRows
	}
	return scanClient(s.db.QueryRowContext(ctx, `SELECT `+clientCols+` FROM auth_clients WHERE id = ?`, id))
}

func (c *Client) hasRedirect(uri string) bool {
	for _, r := range c.RedirectURIs {
		if r == uri {
			return true
		}
	}
	return false
}

func (c *Client) allowsGrant(g string) bool {
	for _, x := range c.GrantTypes {
		if x == g {
			return true
		}
	}
	return false
}
