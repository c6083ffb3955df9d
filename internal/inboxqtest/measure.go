package inboxqtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// CPU is processor time spent so far, read from the kernel: this process
// (every goroutine: River, the hub, the benchmark's clients) and every
// PostgreSQL process on the machine (backends, background writers, and
// backends that have exited, through the postmaster's children's times).
// Subtract two readings around the work to measure it.
type CPU struct {
	Process, Postgres time.Duration
}

// Total is the process's and PostgreSQL's time together.
func (c CPU) Total() time.Duration { return c.Process + c.Postgres }

// Sub returns the time spent between an earlier reading and c.
func (c CPU) Sub(earlier CPU) CPU {
	return CPU{Process: c.Process - earlier.Process, Postgres: c.Postgres - earlier.Postgres}
}

// ReadCPU reads the CPU time spent so far. PostgreSQL is found by process
// name, so it must run on this machine (the tests' 127.0.0.1 server does).
func ReadCPU() CPU {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	c := CPU{Process: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if comm, err := os.ReadFile(d + "/comm"); err != nil || string(bytes.TrimSpace(comm)) != "postgres" {
			continue
		}
		c.Postgres += postgresCPU(d)
	}
	return c
}

// clockTick is the kernel's USER_HZ, 100 on every Linux Go supports.
const clockTick = 10 * time.Millisecond

// postgresCPU is one PostgreSQL process's time: its own, to the nanosecond
// from schedstat, plus what its exited children used (nonzero only for the
// postmaster), in clock ticks from stat.
func postgresCPU(dir string) time.Duration {
	var own time.Duration
	if b, err := os.ReadFile(dir + "/schedstat"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			own = time.Duration(ns)
		}
	}
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return own
	}
	// Fields after the command's closing parenthesis: state is field 3, so
	// utime, stime, cutime and cstime (14-17) are at 11-14 here.
	rest := string(b[bytes.LastIndexByte(b, ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 15 {
		return own
	}
	ticks := func(i int) time.Duration { n, _ := strconv.ParseInt(f[i], 10, 64); return time.Duration(n) * clockTick }
	if own == 0 {
		own = ticks(11) + ticks(12)
	}
	return own + ticks(13) + ticks(14)
}

// Statements counts the statements a pool sends (a pgx.QueryTracer; see
// TracedSchema): what one process asks of the database, whatever else the
// server is doing.
type Statements struct{ n atomic.Int64 }

// Count returns the statements sent so far.
func (s *Statements) Count() int64 { return s.n.Load() }

// TraceQueryStart implements pgx.QueryTracer.
func (s *Statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	s.n.Add(1)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (s *Statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
