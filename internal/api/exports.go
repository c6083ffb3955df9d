package api

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/inboxq/inboxq/internal/store"
)

// Exports is what the export operations need: a user's archives (written
// by the export_user_data and backup_user_data tasks) and their files.
type Exports interface {
	// List returns the owner's live archives, newest first.
	List(ctx context.Context, owner int64) ([]store.Export, error)
	// Get returns one of the owner's archives, expired or not.
	Get(ctx context.Context, owner, id int64) (store.Export, error)
	// Open opens an archive's file.
	Open(e store.Export) (io.ReadSeekCloser, error)
}

// Export is an archive of the caller's data as the API shows it.
type Export struct {
	ID        int64        `json:"id" doc:"Archive id"`
	TaskID    int64        `json:"task_id" doc:"The task that wrote it"`
	Kind      string       `json:"kind" enum:"export,backup" doc:"export: asked for, kept 7 days; backup: taken by backup_user_data, the newest 5 kept"`
	Size      int64        `json:"size" doc:"Bytes"`
	SHA256    string       `json:"sha256" doc:"Hex SHA-256 of the file, to check a download"`
	Counts    ExportCounts `json:"counts"`
	CreatedAt time.Time    `json:"created_at" doc:"When the archive was written"`
	ExpiresAt *time.Time   `json:"expires_at,omitempty" doc:"When the archive is deleted; backups have none (the newest 5 are kept)"`
	Download  string       `json:"download" doc:"Where to GET the file"`
}

// ExportCounts is what an archive holds: the store's record, which the
// export task's result carries too, so the document has one ExportCounts.
type ExportCounts = store.ExportCounts

// ExportListOutput lists the caller's archives.
type ExportListOutput struct {
	Body struct {
		Exports    []Export `json:"exports" doc:"Your archives, newest first; expired ones are left out"`
		NextCursor string   `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

// ExportIDInput names an archive.
type ExportIDInput struct {
	ID int64 `path:"id" minimum:"1" doc:"Archive id"`
}

// ExportDownloadOutput is the archive's file.
type ExportDownloadOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	ETag               string `header:"ETag" doc:"The file's SHA-256"`
	ReprDigest         string `header:"Repr-Digest" doc:"RFC 9530: sha-256 of the whole file"`
	Body               func(huma.Context)
}

func exportView(e store.Export) Export {
	return Export{ID: e.ID, TaskID: e.TaskID, Kind: e.Kind, Size: e.Size, SHA256: e.SHA256, Counts: ExportCounts(e.Counts),
		CreatedAt: e.CreatedAt, ExpiresAt: e.ExpiresAt, Download: Prefix + "/exports/" + strconv.FormatInt(e.ID, 10) + "/download"}
}

func registerExports(api huma.API, d Deps) {
	if d.Exports == nil {
		return
	}
	tags := []string{"Exports"}
	huma.Register(api, huma.Operation{
		OperationID: "list-exports", Method: http.MethodGet, Path: Prefix + "/exports",
		Summary:     "List your exports and backups",
		Description: "Archives written by export_user_data and backup_user_data tasks, newest first. Expired ones are left out.",
		Tags:        tags, Security: bearer,
	}, func(ctx context.Context, in *PageInput) (*ExportListOutput, error) {
		es, err := d.Exports.List(ctx, principal(ctx).UserID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &ExportListOutput{}
		// Read whole (live archives only, capped by Exports.List), then paged.
		es, out.Body.NextCursor, err = pageOf(es, func(e store.Export) int64 { return e.ID }, true, in.Cursor, in.Limit)
		if err != nil {
			return nil, err
		}
		out.Body.Exports = make([]Export, len(es))
		for i, e := range es {
			out.Body.Exports[i] = exportView(e)
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "download-export", Method: http.MethodGet, Path: Prefix + "/exports/{id}/download",
		Summary: "Download an export or backup",
		Description: "The archive: a .tar.gz holding manifest.json and accounts, messages, labels and tasks as JSON Lines and CSV. " +
			"Range requests are supported. An expired archive is 410 Gone.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusNotFound, http.StatusGone},
		Responses: map[string]*huma.Response{"200": {
			Description: "The archive",
			Content:     map[string]*huma.MediaType{"application/gzip": {Schema: &huma.Schema{Type: huma.TypeString, Format: "binary"}}},
		}},
	}, func(ctx context.Context, in *ExportIDInput) (*ExportDownloadOutput, error) {
		e, err := d.Exports.Get(ctx, principal(ctx).UserID, in.ID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		if e.Expired(time.Now()) {
			return nil, huma.Error410Gone(fmt.Sprintf("export %d expired at %s; start a new export_user_data task", e.ID, e.ExpiresAt.UTC().Format(time.RFC3339)))
		}
		f, err := d.Exports.Open(e)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		sum, _ := hex.DecodeString(e.SHA256)
		name := fmt.Sprintf("inboxq-%s-%s-%d.tar.gz", e.Kind, e.CreatedAt.UTC().Format("2006-01-02"), e.ID)
		return &ExportDownloadOutput{
			ContentType:        "application/gzip",
			ContentDisposition: mime.FormatMediaType("attachment", map[string]string{"filename": name}),
			ETag:               `"` + e.SHA256 + `"`,
			ReprDigest:         "sha-256=:" + base64.StdEncoding.EncodeToString(sum) + ":",
			Body: func(hctx huma.Context) {
				defer f.Close()
				r, w := humachi.Unwrap(hctx)
				// ServeContent answers Range and conditional requests; the
				// name is empty so it keeps the Content-Type set above.
				http.ServeContent(deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w)}, r, "", e.CreatedAt, f)
			},
		}, nil
	})
}

// deadlineWriter extends the write deadline before each write: an archive
// may take longer than the server's WriteTimeout to send, but a client that
// stops reading is still cut off.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (w deadlineWriter) Write(b []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	return w.ResponseWriter.Write(b)
}

// noExports stands in for the archives when only the document is wanted.
type noExports struct{ Exports }
