// Package db embeds inboxq's SQL migrations so the binary carries its own
// schema. Migrations are forward-only and applied in file-name order by
// internal/store, in one transaction together with River's own.
package db

import "embed"

// Migrations holds db/migrations/*.sql, named NNNN_description.sql.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Bootstrap creates the table that records applied migrations. It runs before
// anything else, so it must stay idempotent.
//
//go:embed bootstrap.sql
var Bootstrap string
