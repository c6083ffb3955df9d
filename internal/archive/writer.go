package archive

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Writer writes an archive. Each section is spooled to its own files in a
// working directory first (a tar header needs the member's size, which is
// only known once the member is written); Pack then writes the manifest
// and the spooled files, in the order the sections were opened.
type Writer struct {
	dir   string
	files []string
}

// NewWriter writes an archive's sections into dir, an empty working
// directory the caller owns (and removes).
func NewWriter(dir string) *Writer { return &Writer{dir: dir} }

// Section spools one section as JSON Lines and as CSV.
type Section[R Record] struct {
	jf, cf *os.File
	jw, cw *bufio.Writer
	enc    *json.Encoder
	csv    *csv.Writer
	rows   int64
}

// NewSection opens R's section in w: its CSV header is written, its files
// join the archive when the section is closed.
func NewSection[R Record](w *Writer) (*Section[R], error) {
	var r R
	name := r.section()
	jsonl, csvn := JSONLines(name), name+".csv"
	s := &Section[R]{}
	var err error
	if s.jf, err = os.OpenFile(filepath.Join(w.dir, jsonl), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err != nil {
		return nil, fmt.Errorf("spooling %s: %w", name, err)
	}
	if s.cf, err = os.OpenFile(filepath.Join(w.dir, csvn), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err != nil {
		s.jf.Close()
		return nil, fmt.Errorf("spooling %s: %w", name, err)
	}
	s.jw, s.cw = bufio.NewWriterSize(s.jf, 64<<10), bufio.NewWriterSize(s.cf, 64<<10)
	s.enc, s.csv = json.NewEncoder(s.jw), csv.NewWriter(s.cw)
	s.enc.SetEscapeHTML(false)
	w.files = append(w.files, jsonl, csvn)
	if err := s.csv.Write(r.columns()); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// Write adds one record: as a JSON line, and as a CSV row.
func (s *Section[R]) Write(r R) error {
	if err := s.enc.Encode(r); err != nil {
		return err
	}
	cells := r.cells()
	for i, c := range cells {
		cells[i] = cell(c)
	}
	if err := s.csv.Write(cells); err != nil {
		return err
	}
	s.rows++
	return nil
}

// Rows is how many records were written.
func (s *Section[R]) Rows() int64 { return s.rows }

// Close flushes the section's files and closes them.
func (s *Section[R]) Close() error {
	s.csv.Flush()
	return errors.Join(s.csv.Error(), s.jw.Flush(), s.cw.Flush(), s.jf.Close(), s.cf.Close())
}

// cell defuses text that a spreadsheet would run as a formula (a subject
// such as "=HYPERLINK(…)" comes from whoever sent the mail): a leading
// apostrophe makes it text. The JSON Lines keep the value as it is.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Pack writes the manifest (its format, version and files set here) and
// the spooled sections to a new .tar.gz at path, synced to disk, and
// returns its size and hex SHA-256. path must not exist.
func (w *Writer) Pack(path string, m Manifest) (int64, string, error) {
	m.Format, m.Version, m.Files = Format, Version, w.files
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("creating archive: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	gz := gzip.NewWriter(io.MultiWriter(f, h))
	tw := tar.NewWriter(gz)

	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return 0, "", fmt.Errorf("encoding manifest: %w", err)
	}
	hdr := func(name string, size int64) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: m.CreatedAt, Format: tar.FormatPAX}
	}
	if err := tw.WriteHeader(hdr(ManifestName, int64(len(manifest)))); err != nil {
		return 0, "", fmt.Errorf("writing archive: %w", err)
	}
	if _, err := tw.Write(manifest); err != nil {
		return 0, "", fmt.Errorf("writing archive: %w", err)
	}
	for _, name := range m.Files {
		if err := packFile(tw, filepath.Join(w.dir, name), hdr); err != nil {
			return 0, "", fmt.Errorf("writing archive: %w", err)
		}
	}
	if err := errors.Join(tw.Close(), gz.Close()); err != nil {
		return 0, "", fmt.Errorf("writing archive: %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, "", fmt.Errorf("syncing archive: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		return 0, "", fmt.Errorf("writing archive: %w", err)
	}
	return info.Size(), hex.EncodeToString(h.Sum(nil)), nil
}

func packFile(tw *tar.Writer, path string, hdr func(string, int64) *tar.Header) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(hdr(filepath.Base(path), info.Size())); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
