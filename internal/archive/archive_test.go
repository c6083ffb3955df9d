package archive_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/archive"
	"github.com/inboxq/inboxq/internal/inbox"
)

var (
	created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	synced  = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	history = int64(4242)
)

// write packs an archive of one account, two messages, a label and a task
// into a fresh directory and returns its path, size and checksum.
func write(t *testing.T) (string, int64, string) {
	t.Helper()
	dir := t.TempDir()
	w := archive.NewWriter(dir)
	accounts, err := archive.NewSection[archive.Account](w)
	require.NoError(t, err)
	require.NoError(t, accounts.Write(archive.Account{ID: 7, Email: "a@example.com", Status: "connected", Scopes: []string{"s1", "s2"},
		HistoryID: &history, FullSyncedAt: &synced, CreatedAt: created}))
	require.NoError(t, accounts.Close())
	require.EqualValues(t, 1, accounts.Rows())
	messages, err := archive.NewSection[archive.Message](w)
	require.NoError(t, err)
	for _, m := range []archive.Message{
		{AccountID: 7, ID: "m1", From: `=HYPERLINK("http://evil")`, Subject: `hello, "world"`, Date: created, Labels: []string{"INBOX", "Label_1"}, Size: 12},
		{AccountID: 7, ID: "m2", From: "+1 555", Subject: "@home", Snippet: "-minus", Date: created, HistoryID: 99},
	} {
		require.NoError(t, messages.Write(m))
	}
	require.NoError(t, messages.Close())
	labels, err := archive.NewSection[archive.Label](w)
	require.NoError(t, err)
	require.NoError(t, labels.Write(archive.Label{AccountID: 7, Label: "INBOX", Messages: 1}))
	require.NoError(t, labels.Close())
	tasks, err := archive.NewSection[archive.Task](w)
	require.NoError(t, err)
	require.NoError(t, tasks.Write(archive.Task{ID: 3, Kind: "k", Queue: "default", State: inbox.TaskFailed, Attempt: 2, MaxAttempts: 2,
		Args: json.RawMessage(`{"a":1}`), Errors: []inbox.AttemptError{{Attempt: 1, Error: "first"}, {Attempt: 2, Error: "last"}}, CreatedAt: created}))
	require.NoError(t, tasks.Close())

	path := filepath.Join(dir, "out.tar.gz")
	size, sum, err := w.Pack(path, archive.Manifest{ArchiveID: "id-1", Kind: "export", TaskID: 3, Owner: archive.Owner{ID: 1, Name: "alice"},
		CreatedAt: created, Counts: archive.Counts{Accounts: 1, Messages: 2, Labels: 1, Tasks: 1}})
	require.NoError(t, err)
	return path, size, sum
}

// members reads an archive's members with the standard library alone.
func members(t *testing.T, path string) ([]string, map[string][]byte) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	var names []string
	content := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, content
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		names = append(names, hdr.Name)
		content[hdr.Name] = b
	}
}

func TestWriterPacksTheManifestFirstThenEachSectionAsJSONLinesAndCSV(t *testing.T) {
	t.Parallel()
	path, size, sum := write(t)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.EqualValues(t, len(b), size)
	h := sha256.Sum256(b)
	require.Equal(t, hex.EncodeToString(h[:]), sum)

	names, content := members(t, path)
	files := []string{"accounts.jsonl", "accounts.csv", "messages.jsonl", "messages.csv", "labels.jsonl", "labels.csv", "tasks.jsonl", "tasks.csv"}
	require.Equal(t, append([]string{"manifest.json"}, files...), names)
	var m archive.Manifest
	require.NoError(t, json.Unmarshal(content["manifest.json"], &m))
	require.Equal(t, archive.Format, m.Format, "set by Pack")
	require.Equal(t, archive.Version, m.Version)
	require.Equal(t, files, m.Files)
	require.Equal(t, "alice", m.Owner.Name)

	rows := func(name string) [][]string {
		r, err := csv.NewReader(bytes.NewReader(content[name])).ReadAll()
		require.NoError(t, err)
		return r
	}
	require.Equal(t, [][]string{
		{"id", "email", "status", "scopes", "history_id", "messages_total", "full_synced_at", "last_synced_at", "created_at"},
		{"7", "a@example.com", "connected", "s1 s2", "4242", "", "2026-01-02T00:00:00Z", "", "2026-01-02T03:04:05Z"},
	}, rows("accounts.csv"))
	msgs := rows("messages.csv")
	require.Equal(t, []string{"account_id", "id", "thread_id", "from", "to", "subject", "snippet", "date", "labels", "size", "list_unsubscribe"}, msgs[0])
	// Formulas from strangers are text in the CSV; quoting is CSV's.
	require.Equal(t, []string{"7", "m1", "", `'=HYPERLINK("http://evil")`, "", `hello, "world"`, "", "2026-01-02T03:04:05Z", "INBOX Label_1", "12", ""}, msgs[1])
	require.Equal(t, []string{"'+1 555", "'@home", "'-minus"}, []string{msgs[2][3], msgs[2][5], msgs[2][6]})
	require.Equal(t, [][]string{{"account_id", "label", "messages"}, {"7", "INBOX", "1"}}, rows("labels.csv"))
	require.Equal(t, []string{"3", "k", "default", "failed", "2", "2", "2026-01-02T03:04:05Z", "", "", "last"}, rows("tasks.csv")[1],
		"the last attempt's error")
	// JSON Lines keep values as they are, HTML included.
	require.Contains(t, string(content["messages.jsonl"]), `"from":"=HYPERLINK(\"http://evil\")"`)
}

func TestReaderReadsBackWhatTheWriterWrote(t *testing.T) {
	t.Parallel()
	path, _, sum := write(t)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rd, err := archive.NewReader(f)
	require.NoError(t, err)
	require.Equal(t, "id-1", rd.Manifest.ArchiveID)
	require.Equal(t, archive.Counts{Accounts: 1, Messages: 2, Labels: 1, Tasks: 1}, rd.Manifest.Counts)

	var names []string
	var accounts []archive.Account
	var messages []archive.Message
	var tasks []archive.Task
	for {
		name, r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		names = append(names, name)
		switch name {
		case archive.JSONLines(archive.SectionAccounts):
			require.NoError(t, archive.Each(r, func(a archive.Account) error { accounts = append(accounts, a); return nil }))
		case archive.JSONLines(archive.SectionMessages):
			require.NoError(t, archive.Each(r, func(m archive.Message) error { messages = append(messages, m); return nil }))
		case archive.JSONLines(archive.SectionTasks):
			require.NoError(t, archive.Each(r, func(tk archive.Task) error { tasks = append(tasks, tk); return nil }))
		}
	}
	require.Equal(t, rd.Manifest.Files, names, "the manifest lists the members that follow it")
	got, err := rd.Finish()
	require.NoError(t, err)
	require.Equal(t, sum, got, "the checksum covers every byte of the file")

	require.Len(t, accounts, 1)
	require.Equal(t, history, *accounts[0].HistoryID)
	require.True(t, synced.Equal(*accounts[0].FullSyncedAt))
	require.Len(t, messages, 2)
	require.Equal(t, `=HYPERLINK("http://evil")`, messages[0].From)
	require.Equal(t, []string{"INBOX", "Label_1"}, messages[0].Labels)
	require.EqualValues(t, 99, messages[1].HistoryID)
	require.Len(t, tasks, 1)
	require.JSONEq(t, `{"a":1}`, string(tasks[0].Args))
	require.Equal(t, "last", tasks[0].Errors[1].Error)

	// fn's error ends the walk as it is.
	stop := errors.New("stop")
	err = archive.Each(bytes.NewReader([]byte(`{"id":1,"email":"x@example.com"}`+"\n")), func(archive.Account) error { return stop })
	require.ErrorIs(t, err, stop)
	require.NotErrorIs(t, err, archive.ErrCorrupt)
}

// tarGz packs members (name, content) in order.
func tarGz(t *testing.T, members ...[2]string) []byte {
	t.Helper()
	var out bytes.Buffer
	gz := gzip.NewWriter(&out)
	tw := tar.NewWriter(gz)
	for _, m := range members {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: m[0], Size: int64(len(m[1])), Mode: 0o600}))
		_, err := tw.Write([]byte(m[1]))
		require.NoError(t, err)
	}
	require.NoError(t, errors.Join(tw.Close(), gz.Close()))
	return out.Bytes()
}

func TestReaderRefusesWhatIsNotAnArchiveItReads(t *testing.T) {
	t.Parallel()
	path, _, _ := write(t)
	good, err := os.ReadFile(path)
	require.NoError(t, err)
	for name, c := range map[string]struct {
		b    []byte
		want string
	}{
		"not gzip":          {[]byte("hello, this is not an archive"), ""},
		"empty":             {nil, ""},
		"another tar":       {tarGz(t, [2]string{"hello.txt", "hi"}), `it starts with "hello.txt", not manifest.json`},
		"manifest not JSON": {tarGz(t, [2]string{"manifest.json", "{"}), "reading manifest"},
		"another format":    {tarGz(t, [2]string{"manifest.json", `{"format":"zip-export","version":1}`}), `format "zip-export" version 1`},
		"a newer version":   {tarGz(t, [2]string{"manifest.json", `{"format":"inboxq-export","version":2}`}), "this inboxq reads inboxq-export version 1"},
		"truncated header":  {good[:8], ""},
	} {
		_, err := archive.NewReader(bytes.NewReader(c.b))
		require.ErrorIs(t, err, archive.ErrCorrupt, name)
		require.ErrorContains(t, err, c.want, name)
	}

	// Damage past the manifest is found by reading on, at the latest by
	// Finish (the gzip trailer's CRC).
	flipped := bytes.Clone(good)
	flipped[len(flipped)-6] ^= 0xff
	for name, b := range map[string][]byte{"truncated": good[:len(good)-20], "flipped CRC": flipped} {
		rd, err := archive.NewReader(bytes.NewReader(b))
		if err == nil {
			for err == nil {
				_, _, err = rd.Next()
			}
			if errors.Is(err, io.EOF) {
				_, err = rd.Finish()
			}
		}
		require.ErrorIs(t, err, archive.ErrCorrupt, name)
	}
}

func TestEachRefusesRecordsAReaderCannotUse(t *testing.T) {
	t.Parallel()
	nop := func(archive.Account) error { return nil }
	err := archive.Each(bytes.NewReader([]byte(`{"id":5,"email":""}`+"\n")), nop)
	require.ErrorIs(t, err, archive.ErrCorrupt)
	require.ErrorContains(t, err, "accounts.jsonl: account 5 has no address")
	err = archive.Each(bytes.NewReader([]byte(`{"id":5,`)), nop)
	require.ErrorIs(t, err, archive.ErrCorrupt)
	require.ErrorContains(t, err, "accounts.jsonl")
	err = archive.Each(bytes.NewReader([]byte(`{"account_id":5,"id":""}`)), func(archive.Message) error { return nil })
	require.ErrorIs(t, err, archive.ErrCorrupt)
	require.ErrorContains(t, err, "messages.jsonl: a message of account 5 has no id")
}
