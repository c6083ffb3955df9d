package archive

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
)

// Reader reads an archive in one pass. Its errors about the archive's
// content wrap ErrCorrupt.
type Reader struct {
	// Manifest is the archive's manifest, checked by NewReader.
	Manifest Manifest
	raw      io.Reader // every byte read, into sum
	sum      hash.Hash
	gz       *gzip.Reader
	tr       *tar.Reader
}

// NewReader reads the manifest, which must come first, and checks that this
// inboxq reads the archive's format and version.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{sum: sha256.New()}
	rd.raw = io.TeeReader(r, rd.sum)
	var err error
	if rd.gz, err = gzip.NewReader(rd.raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	rd.tr = tar.NewReader(rd.gz)
	hdr, err := rd.tr.Next()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if hdr.Name != ManifestName {
		return nil, fmt.Errorf("%w: it starts with %q, not %s", ErrCorrupt, hdr.Name, ManifestName)
	}
	if err := json.NewDecoder(rd.tr).Decode(&rd.Manifest); err != nil {
		return nil, fmt.Errorf("%w: reading manifest: %w", ErrCorrupt, err)
	}
	if m := rd.Manifest; m.Format != Format || m.Version != Version {
		return nil, fmt.Errorf("%w: format %q version %d (this inboxq reads %s version %d)", ErrCorrupt, m.Format, m.Version, Format, Version)
	}
	return rd, nil
}

// Next moves to the archive's next member and returns its name and its
// content (read it, or not, before the next call); io.EOF after the last.
func (rd *Reader) Next() (string, io.Reader, error) {
	hdr, err := rd.tr.Next()
	if errors.Is(err, io.EOF) {
		return "", nil, io.EOF
	}
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return hdr.Name, rd.tr, nil
}

// Finish reads the archive to its end, so that the gzip trailer's CRC
// checks the whole content, and returns the hex SHA-256 of every byte of
// the file.
func (rd *Reader) Finish() (string, error) {
	if _, err := io.Copy(io.Discard, rd.gz); err != nil {
		return "", fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if _, err := io.Copy(io.Discard, rd.raw); err != nil {
		return "", fmt.Errorf("reading archive: %w", err)
	}
	return hex.EncodeToString(rd.sum.Sum(nil)), nil
}

// Each decodes the JSON Lines of R's section from r (a member returned by
// Next) and calls fn with each record, until the end or fn's error. A line
// that does not decode, or a record without what every reader needs (an
// account's address, a message's id), is ErrCorrupt.
func Each[R Record](r io.Reader, fn func(R) error) error {
	dec := json.NewDecoder(r)
	for {
		var rec R
		if err := dec.Decode(&rec); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrCorrupt, JSONLines(rec.section()), err)
		}
		if err := rec.check(); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrCorrupt, JSONLines(rec.section()), err)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}
