package progress_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkProgressToSSE's clients live in a process of their own, as
// browsers do: in the server's process their reads would queue behind its
// writes in one Go scheduler (every stream written, then every stream
// read), and the figure would be the benchmark's. The client process is
// this test binary run again with sseClientsEnv set (see TestMain); it
// shares the machine's cores with the server, so its reading still costs
// what it costs.
const sseClientsEnv = "INBOXQ_BENCH_SSE_CLIENTS"

func TestMain(m *testing.M) {
	if spec := os.Getenv(sseClientsEnv); spec != "" {
		os.Exit(runSSEClients(spec, os.Stdout))
	}
	os.Exit(m.Run())
}

// sseClientsSpec is what the client process is told: how many streams of
// url to open with token, and how many progress reports (done 1..reports)
// to wait for on each.
type sseClientsSpec struct {
	URL     string
	Token   string
	Clients int
	Reports int
}

// sseClients is the client process seen from the benchmark.
type sseClients struct {
	cmd *exec.Cmd
	out *bufio.Reader
}

// startSSEClients starts the client process and returns once every stream
// is subscribed (has read its first event).
func startSSEClients(b *testing.B, spec sseClientsSpec) *sseClients {
	b.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), sseClientsEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &sseClients{cmd: cmd, out: bufio.NewReaderSize(stdout, 1<<20)}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line, err := c.out.ReadString('\n'); err != nil || line != "ready\n" {
		b.Fatalf("SSE client process: %q, %v", line, err)
	}
	return c
}

// readTimes waits for the client process to finish and returns, for each
// stream, when it read each report (Unix nanoseconds).
func (c *sseClients) readTimes(b *testing.B, spec sseClientsSpec) [][]time.Time {
	b.Helper()
	got := make([][]time.Time, 0, spec.Clients)
	for range spec.Clients {
		line, err := c.out.ReadString('\n')
		if err != nil {
			b.Fatalf("SSE client process: %v", err)
		}
		fields := strings.Fields(line)
		if len(fields) != spec.Reports {
			b.Fatalf("SSE client process: %d times for %d reports: %q", len(fields), spec.Reports, line)
		}
		ts := make([]time.Time, spec.Reports)
		for r, f := range fields {
			ns, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			ts[r] = time.Unix(0, ns)
		}
		got = append(got, ts)
	}
	if err := c.cmd.Wait(); err != nil {
		b.Fatalf("SSE client process: %v", err)
	}
	return got
}

// runSSEClients is the client process: it opens the streams, says "ready"
// once each has read an event, stamps each progress report as its stream
// parses it, and prints one line of times per stream when every stream has
// read the last report.
func runSSEClients(raw string, out io.Writer) int {
	var spec sseClientsSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got := make([][]int64, spec.Clients)
	var subscribed, finished sync.WaitGroup
	errs := make(chan error, spec.Clients)
	for i := range spec.Clients {
		got[i] = make([]int64, spec.Reports)
		subscribed.Add(1)
		finished.Add(1)
		go func() {
			if err := readStream(ctx, spec, got[i], subscribed.Done, finished.Done); err != nil {
				errs <- err
				cancel()
				finished.Done()
			}
		}()
	}
	subscribed.Wait()
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, <-errs)
		return 1
	}
	fmt.Fprintln(out, "ready")
	finished.Wait()
	select {
	case err := <-errs:
		fmt.Fprintln(os.Stderr, err)
		return 1
	default:
	}
	w := bufio.NewWriter(out)
	for _, ts := range got {
		for r, t := range ts {
			if r > 0 {
				_ = w.WriteByte(' ')
			}
			_, _ = w.WriteString(strconv.FormatInt(t, 10))
		}
		_ = w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return 1
	}
	return 0
}

// readStream reads one stream until it has read report spec.Reports,
// calling subscribed after its first event (the snapshot's) and read after
// the last report; then it holds the stream open until the process ends, so
// that no stream's closing competes with another's reading.
func readStream(ctx context.Context, spec sseClientsSpec, times []int64, subscribed, read func()) (err error) {
	first := true
	defer func() {
		if first {
			subscribed() // never leave the process waiting
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, spec.URL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+spec.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("stream: %s", resp.Status)
	}
	rd := bufio.NewReaderSize(resp.Body, 64<<10)
	var name string
	for {
		line, err := rd.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("stream ended: %w", err)
		}
		line = bytes.TrimRight(line, "\n")
		switch {
		case bytes.HasPrefix(line, []byte("event: ")):
			name = string(line[len("event: "):])
		case bytes.HasPrefix(line, []byte("data: ")) && name != "":
			at := time.Now().UnixNano()
			if first {
				first = false
				subscribed()
			}
			var p struct{ Done int }
			if name != "progress" || json.Unmarshal(line[len("data: "):], &p) != nil || p.Done < 1 || p.Done > spec.Reports {
				continue
			}
			times[p.Done-1] = at
			if p.Done == spec.Reports {
				for r, t := range times {
					if t == 0 {
						return errors.New("stream missed report " + strconv.Itoa(r+1))
					}
				}
				read()
				<-ctx.Done()
				return nil
			}
		case len(line) == 0:
			name = ""
		}
	}
}
