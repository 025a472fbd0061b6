package auth

import (
	"context"
	"fmt"
)

// migrations are applied in order; each runs once and is recorded in auth_migrations.
// Append new ones; never edit an applied one, existing databases have run it.
var migrations = []string{
	`CREATE TABLE auth_keys (
		kid TEXT PRIMARY KEY,
		pem TEXT NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE auth_users (
		username TEXT PRIMARY KEY,
		password_hash TEXT NOT NULL,
		name TEXT NOT NULL DEFAULT '',
		fhir_user TEXT NOT NULL DEFAULT ''
	);
	CREATE TABLE auth_clients (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL DEFAULT '',
		secret_hash TEXT NOT NULL DEFAULT '',
		public INTEGER NOT NULL DEFAULT 0,
		redirect_uris TEXT NOT NULL DEFAULT '[]',
		scope TEXT NOT NULL DEFAULT '',
		grant_types TEXT NOT NULL DEFAULT '[]',
		auth_method TEXT NOT NULL DEFAULT '',
		jwks TEXT NOT NULL DEFAULT '',
		jwks_uri TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL
	);
	CREATE TABLE auth_launches (
		id TEXT PRIMARY KEY,
		client_id TEXT NOT NULL DEFAULT '',
		patient TEXT NOT NULL DEFAULT '',
		encounter TEXT NOT NULL DEFAULT '',
		user TEXT NOT NULL DEFAULT '',
		expires_at INTEGER NOT NULL
	);
	CREATE TABLE auth_codes (
		hash TEXT PRIMARY KEY,
		client_id TEXT NOT NULL,
		redirect_uri TEXT NOT NULL,
		username TEXT NOT NULL,
		fhir_user TEXT NOT NULL DEFAULT '',
		patient TEXT NOT NULL DEFAULT '',
		encounter TEXT NOT NULL DEFAULT '',
		scope TEXT NOT NULL,
		nonce TEXT NOT NULL DEFAULT '',
		challenge TEXT NOT NULL,
		need_banner INTEGER NOT NULL DEFAULT 0,
		expires_at INTEGER NOT NULL,
		used INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE auth_tokens (
		id TEXT PRIMARY KEY,
		hash TEXT UNIQUE,
		grant_id TEXT NOT NULL,
		client_id TEXT NOT NULL,
		username TEXT NOT NULL DEFAULT '',
		fhir_user TEXT NOT NULL DEFAULT '',
		patient TEXT NOT NULL DEFAULT '',
		encounter TEXT NOT NULL DEFAULT '',
		scope TEXT NOT NULL,
		id_token INTEGER NOT NULL DEFAULT 0,
		issued_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		revoked INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX auth_tokens_grant ON auth_tokens(grant_id);
	CREATE TABLE auth_refresh (
		hash TEXT PRIMARY KEY,
		grant_id TEXT NOT NULL,
		client_id TEXT NOT NULL,
		username TEXT NOT NULL DEFAULT '',
		fhir_user TEXT NOT NULL DEFAULT '',
		patient TEXT NOT NULL DEFAULT '',
		encounter TEXT NOT NULL DEFAULT '',
		scope TEXT NOT NULL,
		need_banner INTEGER NOT NULL DEFAULT 0,
		issued_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		status TEXT NOT NULL DEFAULT 'active'
	);
	CREATE INDEX auth_refresh_grant ON auth_refresh(grant_id);
	CREATE TABLE auth_jti (
		iss TEXT NOT NULL,
		jti TEXT NOT NULL,
		expires_at INTEGER NOT NULL,
		PRIMARY KEY (iss, jti)
	);`,
	// 2: launch context beyond patient and encounter (fhirContext, intent, tenant) as JSON,
	// '' for none, carried from launches through codes to tokens; the EHR's
	// need_patient_banner on launches; need_banner on access tokens for introspection.
	`ALTER TABLE auth_launches ADD COLUMN context TEXT NOT NULL DEFAULT '';
	ALTER TABLE auth_launches ADD COLUMN need_banner INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE auth_codes ADD COLUMN context TEXT NOT NULL DEFAULT '';
	ALTER TABLE auth_tokens ADD COLUMN context TEXT NOT NULL DEFAULT '';
	ALTER TABLE auth_tokens ADD COLUMN need_banner INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE auth_refresh ADD COLUMN context TEXT NOT NULL DEFAULT '';`,
}

func (s *Server) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS auth_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	var have int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM auth_migrations`).Scan(&have); err != nil {
		return err
	}
	for i := have; i < len(migrations); i++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO auth_migrations(version, applied_at) VALUES (?, ?)`, i+1, s.now().Unix()); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
