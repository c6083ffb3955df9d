//go:build chaos

package chaos

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/classify"
	"github.com/inboxq/inboxq/internal/gmail"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/secret"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// Fixed settings of the run.
const (
	googleClient = "chaos-client"
	googleSecret = "chaos-secret"
	harnessApp   = "inboxq-chaos-harness" // application_name of the harness's own connections
)

// env is one run's world: the private cluster, the fake Gmail process, the
// inboxq processes, and the harness's own view of the database (a store
// and the task service, to create tasks and read their state).
type env struct {
	t    *testing.T
	root string // temp dir: binaries, cluster, logs; removed at the end
	bin  string // where inboxq and fakegmail are
	pg   *cluster
	fake *fakeClient

	secretKey string
	logger    *slog.Logger
	st        *store.Store
	svc       *tasks.Service
	provider  *gmail.Provider
	auth      *auth.Service

	rep *report

	mu    sync.Mutex
	procs []*proc
}

// newEnv builds the binaries (unless CHAOS_BIN names a directory that has
// them), starts a private PostgreSQL and the fake Gmail, migrates, and
// opens the harness's connection. Everything is stopped and removed when
// the test ends; on failure the tail of every log is printed first.
func newEnv(t *testing.T) *env {
	root, err := os.MkdirTemp("", "inboxq-chaos-")
	require.NoError(t, err)
	// PostgreSQL runs as another user when we are root: it must reach in.
	require.NoError(t, os.Chmod(root, 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "logs"), 0o755))
	e := &env{t: t, root: root, rep: &report{}}
	t.Cleanup(func() {
		e.stopAll()
		if e.pg != nil {
			_ = e.pg.stop("immediate")
		}
		if t.Failed() {
			e.printLogs()
		}
		if os.Getenv("CHAOS_KEEP") == "" {
			_ = os.RemoveAll(root)
		} else {
			t.Logf("kept %s", root)
		}
	})

	e.bin = os.Getenv("CHAOS_BIN")
	if e.bin == "" {
		e.bin = filepath.Join(root, "bin")
		for _, c := range []string{"inboxq", "fakegmail"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(e.bin, c), "github.com/inboxq/inboxq/cmd/"+c).CombinedOutput()
			require.NoError(t, err, "building %s: %s", c, out)
		}
	}
	for _, c := range []string{"inboxq", "fakegmail"} {
		_, err := os.Stat(filepath.Join(e.bin, c))
		require.NoError(t, err, "CHAOS_BIN=%s must hold inboxq and fakegmail (make chaos builds them)", e.bin)
	}

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	e.secretKey = base64.StdEncoding.EncodeToString(key)
	lf, err := os.Create(filepath.Join(root, "logs", "harness.log"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = lf.Close() })
	e.logger = slog.New(slog.NewTextHandler(lf, nil))

	e.pg = newCluster(t, filepath.Join(root, "pg"))
	e.fake = e.startFake()

	// Migrations, as an operator would apply them before starting workers.
	m := e.spawn("migrate", filepath.Join(e.bin, "inboxq"), []string{"migrate"}, e.inboxqEnv())
	require.NoError(t, m.wait(2*time.Minute), "inboxq migrate:\n%s", m.tail(20))

	ctx := context.Background()
	pool, err := store.Connect(ctx, e.pg.url(harnessApp), store.ConnectOptions{MaxConns: 12})
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	e.st = store.New(pool)
	keys, err := secret.ParseKeys(e.secretKey)
	require.NoError(t, err)
	box, err := secret.NewBox(keys...)
	require.NoError(t, err)
	e.provider = gmail.NewProvider(gmail.Config{
		ClientID: googleClient, ClientSecret: googleSecret, TokenURL: e.fake.url + "/token", APIBase: e.fake.url,
		UserQuota: 10_000_000, ProjectQuota: 100_000_000,
	}, e.st, box, e.logger)
	// An insert-only River client: the harness starts tasks the way the API
	// does (validated, in one transaction) and works none.
	reg := jobs.NewRegistry()
	jobs.RegisterSync(reg, e.st, e.provider, e.logger, 0)
	jobs.RegisterClassify(reg, e.st, classify.MustBase(), nil, e.logger, 0)
	jobs.RegisterBulk(reg, e.st, e.provider, e.logger)
	jobs.RegisterCluster(reg, e.st, e.logger)
	client, err := jobs.NewClient(e.st, reg, jobs.Config{Logger: e.logger})
	require.NoError(t, err)
	e.svc = tasks.NewService(e.st, client, reg, e.logger).WithLimits(tasks.Limits{})
	e.auth = auth.NewService(e.st)
	return e
}

// inboxqEnv is the environment of every inboxq process, plus extra.
func (e *env) inboxqEnv(extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + e.root,
		"DATABASE_URL=" + e.pg.url("inboxq"),
		"INBOXQ_SECRET_KEY=" + e.secretKey,
		"INBOXQ_DATA_DIR=" + filepath.Join(e.root, "data"),
		"INBOXQ_GOOGLE_CLIENT_ID=" + googleClient,
		"INBOXQ_GOOGLE_CLIENT_SECRET=" + googleSecret,
		"INBOXQ_GOOGLE_AUTH_URL=" + e.fake.url + "/auth",
		"INBOXQ_GOOGLE_TOKEN_URL=" + e.fake.url + "/token",
		"INBOXQ_GMAIL_API_URL=" + e.fake.url,
		"INBOXQ_GMAIL_USER_QUOTA=10000000",
		"INBOXQ_GMAIL_PROJECT_QUOTA=100000000",
		"INBOXQ_LOG_FORMAT=json",
		"INBOXQ_USER_CAP=5",
		"INBOXQ_SHUTDOWN_TIMEOUT=10s",
	}, extra...)
}

// startInboxq starts `inboxq serve` or `inboxq worker` and waits until its
// River client runs, so that the caller knows which client id is this
// process's in jobs' attempted_by.
func (e *env) startInboxq(name, sub string, extra ...string) *proc {
	e.t.Helper()
	p := e.spawn(name, filepath.Join(e.bin, "inboxq"), []string{sub}, e.inboxqEnv(extra...))
	line, err := p.waitLog(`"river_started"`, 2*time.Minute)
	require.NoError(e.t, err, "%s did not start:\n%s", name, p.tail(30))
	var l struct {
		ClientID string `json:"client_id"`
	}
	require.NoError(e.t, json.Unmarshal([]byte(line), &l))
	p.clientID = l.ClientID
	return p
}

// procName names the process whose River client id is id.
func (e *env) procName(id string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.procs {
		if p.clientID == id {
			return p.name
		}
	}
	return "unknown (" + id + ")"
}

// proc is a child process in a process group of its own, logging to a file.
type proc struct {
	name     string
	log      string
	cmd      *exec.Cmd
	done     chan struct{}
	err      error // set when done closes
	clientID string

	mu       sync.Mutex
	signaled bool // we stopped it on purpose
}

func (e *env) spawn(name, path string, args, env []string) *proc {
	e.t.Helper()
	p := &proc{name: name, log: filepath.Join(e.root, "logs", name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	require.NoError(e.t, err)
	p.cmd = exec.Command(path, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = f, f
	// Setpgid: signals reach the process and anything it starts. Pdeathsig:
	// nothing outlives the harness if it dies itself.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(e.t, p.cmd.Start(), "starting %s", name)
	go func() {
		p.err = p.cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	return p
}

// signal sends sig to the process group, recording that we meant it.
func (p *proc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	p.signaled = true
	p.mu.Unlock()
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

// exitedOnItsOwn reports whether the process ended without our signal.
func (p *proc) exitedOnItsOwn() bool {
	select {
	case <-p.done:
	default:
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.signaled
}

// wait waits for the process to end and returns its exit error.
func (p *proc) wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("%s still runs after %s", p.name, timeout)
	}
}

// waitLog waits for a log line containing s and returns it.
func (p *proc) waitLog(s string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(p.log)
		for line := range strings.Lines(string(b)) {
			if strings.Contains(line, s) {
				return line, nil
			}
		}
		select {
		case <-p.done:
			return "", fmt.Errorf("%s exited (%v) before logging %s", p.name, p.err, s)
		default:
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s logged no %s in %s", p.name, s, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tail returns the last n lines of the process's log.
func (p *proc) tail(n int) string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// stopAll kills every process group still running.
func (e *env) stopAll() {
	e.mu.Lock()
	procs := slices.Clone(e.procs)
	e.mu.Unlock()
	for _, p := range procs {
		select {
		case <-p.done:
		default:
			_ = p.signal(syscall.SIGKILL)
			_ = p.wait(10 * time.Second)
		}
	}
}

func (e *env) printLogs() {
	e.mu.Lock()
	procs := slices.Clone(e.procs)
	e.mu.Unlock()
	for _, p := range procs {
		e.t.Logf("---- last lines of %s (%s)\n%s", p.name, p.log, p.tail(40))
	}
	if e.pg != nil {
		b, _ := os.ReadFile(e.pg.logFile)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		e.t.Logf("---- last lines of postgres (%s)\n%s", e.pg.logFile, strings.Join(lines[max(0, len(lines)-30):], "\n"))
	}
}

// cluster is a private PostgreSQL under the run's temp dir, on a free port,
// with trust authentication, run as the postgres user when we are root (as
// db/dev-postgres.sh does).
type cluster struct {
	bin, data, sock, logFile string
	port                     int
}

func newCluster(t *testing.T, dir string) *cluster {
	c := &cluster{bin: pgBin(t), data: filepath.Join(dir, "data"), sock: filepath.Join(dir, "run"), logFile: filepath.Join(dir, "server.log"), port: freePort(t)}
	for _, d := range []string{dir, c.data, c.sock} {
		require.NoError(t, os.MkdirAll(d, 0o700))
	}
	if os.Geteuid() == 0 {
		out, err := exec.Command("chown", "-R", "postgres:", dir).CombinedOutput()
		require.NoError(t, err, "chown: %s", out)
	}
	require.NoError(t, c.run("initdb", "-D", c.data, "-A", "trust", "-U", "inboxq", "-E", "UTF8", "--locale=C", "--no-sync"))
	require.NoError(t, c.start())
	ctx := context.Background()
	pool, err := store.Connect(ctx, strings.Replace(c.url(harnessApp), "/inboxq?", "/postgres?", 1), store.ConnectOptions{MaxConns: 2})
	require.NoError(t, err)
	defer pool.Close()
	_, err = pool.Exec(ctx, "CREATE DATABASE inboxq")
	require.NoError(t, err)
	return c
}

// pgBin finds initdb and pg_ctl: $CHAOS_PG_BIN, else PostgreSQL 15's
// Debian directory, else the newest /usr/lib/postgresql/*/bin.
func pgBin(t *testing.T) string {
	if d := os.Getenv("CHAOS_PG_BIN"); d != "" {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.Reverse(dirs)
	dirs = append([]string{"/usr/lib/postgresql/15/bin"}, dirs...)
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d
		}
	}
	t.Fatal("make chaos needs PostgreSQL's server binaries (initdb, pg_ctl): apt-get install postgresql, or set CHAOS_PG_BIN")
	return ""
}

func (c *cluster) run(name string, args ...string) error {
	path := filepath.Join(c.bin, name)
	cmd := exec.Command(path, args...)
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// start starts the server and waits until it accepts connections. fsync is
// off: the operating system never crashes here, only PostgreSQL does.
func (c *cluster) start() error {
	opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c max_connections=200 -c fsync=off -c full_page_writes=off", c.port, c.sock)
	return c.run("pg_ctl", "-D", c.data, "-l", c.logFile, "-w", "-t", "120", "-o", opts, "start")
}

// stop stops the server: mode is fast (clean) or immediate (a crash).
func (c *cluster) stop(mode string) error {
	return c.run("pg_ctl", "-D", c.data, "-w", "-t", "120", "-m", mode, "stop")
}

func (c *cluster) url(app string) string {
	return fmt.Sprintf("postgres://inboxq@127.0.0.1:%d/inboxq?sslmode=disable&application_name=%s", c.port, app)
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// fakeClient talks to the fake Gmail process's control API.
type fakeClient struct {
	url string
}

func (e *env) startFake() *fakeClient {
	p := e.spawn("fakegmail", filepath.Join(e.bin, "fakegmail"),
		[]string{"-client-id", googleClient, "-client-secret", googleSecret, "-user-quota", "-1", "-project-quota", "-1"}, nil)
	line, err := p.waitLog("listening ", time.Minute)
	require.NoError(e.t, err)
	return &fakeClient{url: strings.TrimSpace(strings.TrimPrefix(line, "listening "))}
}

// mailboxState is the control API's view of a mailbox.
type mailboxState struct {
	Messages      int                 `json:"messages"`
	LabelNames    map[string]string   `json:"label_names"`
	LabelCounts   map[string]int      `json:"label_counts"`
	MessageLabels map[string][]string `json:"message_labels"`
}

// labelID returns the id of the label named name, or "".
func (s mailboxState) labelID(name string) string {
	for id, n := range s.LabelNames {
		if n == name {
			return id
		}
	}
	return ""
}

// opCalls sums up one Gmail operation's successful calls on a mailbox.
type opCalls struct {
	Calls       int `json:"calls"`
	IDs         int `json:"ids"`
	RepeatedIDs int `json:"repeated_ids"`
	Repeats     int `json:"repeats"`
}

func (f *fakeClient) do(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.url+path, body)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// addMailbox generates a mailbox whose newest message is two days old, so
// that a bulk target "older than a day" selects all of it.
func (f *fakeClient) addMailbox(address string, seed int64, messages int) error {
	return f.do(http.MethodPost, "/_fake/mailboxes", map[string]any{"address": address, "seed": seed, "messages": messages,
		"end": time.Now().Add(-48 * time.Hour).UTC()}, nil)
}

func (f *fakeClient) mailbox(address string) (mailboxState, error) {
	var s mailboxState
	return s, f.do(http.MethodGet, "/_fake/mailboxes/"+address, nil, &s)
}

func (f *fakeClient) refreshToken(address string) (string, error) {
	var out map[string]string
	err := f.do(http.MethodPost, "/_fake/tokens", map[string]any{"address": address, "scopes": []string{gmail.ScopeModify}}, &out)
	return out["refresh_token"], err
}

func (f *fakeClient) delay(pattern, user string, before, after time.Duration) error {
	return f.do(http.MethodPost, "/_fake/delays", map[string]any{"pattern": pattern, "user": user,
		"before_ms": before.Milliseconds(), "after_ms": after.Milliseconds()}, nil)
}

func (f *fakeClient) calls(user string) (map[string]opCalls, error) {
	var out struct {
		Ops map[string]opCalls `json:"ops"`
	}
	return out.Ops, f.do(http.MethodGet, "/_fake/calls?user="+user, nil, &out)
}

// waitUntil polls cond every interval until it holds, ctx ends or timeout
// passes; errors from cond (the database is down) only mean "not yet".
func waitUntil(ctx context.Context, timeout, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			return errors.Join(fmt.Errorf("not within %s", timeout), last)
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), last)
		case <-time.After(interval):
		}
	}
}

// scanLines is bufio.Scanner with room for long SSE lines.
func scanLines(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	return sc
}
