// Package web exposes the built dashboard (web/dist) to the Go binary. The
// directory holds only .gitkeep until `make web` builds the React app, so Go
// builds without Node.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built dashboard (the contents of web/dist).
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is embedded above; this cannot fail
	}
	return sub
}
