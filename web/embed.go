// Package web exposes the built dashboard (web/dist) to the Go binary. The
// directory holds only .gitkeep until `make web` builds the React app, so Go
// builds without Node.
package web

import "embed"

// Dist is the built dashboard.
//
//go:embed all:dist
var Dist embed.FS
