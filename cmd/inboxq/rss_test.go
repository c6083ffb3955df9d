package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// stopForPeakRSS reads a helper process's peak resident set (VmHWM, the
// high-water mark of its own memory since it started) and stops it.
// Rusage's Maxrss would not do: Linux carries the parent's high-water mark
// across the exec, so every child of a test process that had grown to
// 180 MB reported 180 MB.
func stopForPeakRSS(b *testing.B, proc *exec.Cmd) int64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", proc.Process.Pid))
	require.NoError(b, err)
	var kb int64 = -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			_, err = fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			require.NoError(b, err)
		}
	}
	f.Close()
	require.GreaterOrEqual(b, kb, int64(0), "VmHWM of the worker")
	require.NoError(b, proc.Process.Signal(syscall.SIGTERM))
	require.NoError(b, proc.Wait())
	return kb * 1024
}
