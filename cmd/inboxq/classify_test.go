package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassifyCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	list := write("list.eml", "From dev@lists.example.org Mon Jan  5 10:00:00 2026\nFrom: Carol <carol@example.org>\nSubject: Re: build fails on arm64\n"+
		"List-Id: <dev.lists.example.org>\nList-Post: <mailto:dev@lists.example.org>\n\n"+
		"I reproduced the failure with the patch from yesterday; the linker flags differ between the two builders, "+
		"so the test binary is built without debug information. I will send a fix to the list after lunch.\n")
	bad := write("bad.eml", "this is not an email\n")
	stdin := "From: =?UTF-8?Q?Caf=C3=A9?= <cafe@example.com>\nSubject: hi\n\nshort\n"

	var out, errOut bytes.Buffer
	err := runWith(context.Background(), []string{"inboxq", "classify", "--explain", list, bad, "-"}, func(string) string { return "" }, &out,
		options{stdin: strings.NewReader(stdin), stderr: &errOut})
	require.ErrorContains(t, err, "1 of 3 inputs could not be classified")
	require.Equal(t, "inboxq classify: "+bad+": not an RFC 822 message: malformed header line: this is not an email\n", errOut.String())

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	var got []classifyLine
	for _, l := range lines {
		var cl classifyLine
		require.NoError(t, json.Unmarshal([]byte(l), &cl))
		got = append(got, cl)
	}
	require.Equal(t, list, got[0].File)
	require.Equal(t, "forums", got[0].Category)
	require.Equal(t, "rule", got[0].Source)
	require.Equal(t, "mailing-list", got[0].Rule)
	require.NotEmpty(t, got[0].Features)
	require.Equal(t, "-", got[1].File)
	require.False(t, got[1].Spam, "too few known words to call it spam")
	require.Equal(t, "primary", got[1].Category)

	// Without --explain: exactly the five fields.
	out.Reset()
	require.NoError(t, runWith(context.Background(), []string{"inboxq", "classify", list}, nil, &out, options{}))
	var m map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &m))
	require.Len(t, m, 5)
}
